package stall

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBody: data arriving re-arms the watch; silence longer than d
// cancels the context and the read reports ErrStalled; Close releases it.
func TestBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gaps    []time.Duration // pauses before each write
		stalled bool
	}{
		{"steady drip longer than d in all", []time.Duration{60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond}, false},
		{"silent past d", []time.Duration{10 * time.Millisecond, 400 * time.Millisecond}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New(context.Background(), 150*time.Millisecond)
			pr, pw := io.Pipe()
			go func() {
				for _, g := range tc.gaps {
					select {
					case <-time.After(g):
					case <-w.Context().Done():
						pw.CloseWithError(context.Cause(w.Context()))
						return
					}
					if _, err := pw.Write([]byte("x")); err != nil {
						return
					}
				}
				pw.Close()
			}()
			b := w.Body(pr, nil)
			_, err := io.ReadAll(b)
			if got := errors.Is(err, ErrStalled); got != tc.stalled {
				t.Fatalf("read error %v: stalled %v, want %v", err, got, tc.stalled)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Context().Err() == nil {
				t.Error("Close left the context live")
			}
		})
	}
}

// TestArmFor: a countdown armed for another duration fires after it and
// names it; the next Arm counts the watch's own again.
func TestArmFor(t *testing.T) {
	w := New(context.Background(), time.Hour)
	w.Arm()
	w.ArmFor(50 * time.Millisecond)
	<-w.Context().Done()
	if err := w.Cause(); !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "nothing received for 50ms") {
		t.Fatalf("cause %v, want a stall naming 50ms", err)
	}
	w = New(context.Background(), 100*time.Millisecond)
	w.ArmFor(time.Hour)
	w.Arm()
	<-w.Context().Done()
	if err := w.Cause(); err == nil || !strings.Contains(err.Error(), "nothing received for 100ms") {
		t.Fatalf("cause %v, want a stall naming 100ms", err)
	}
}
