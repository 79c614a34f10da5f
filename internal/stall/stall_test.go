package stall

import (
	"context"
	"errors"
	"io"
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
