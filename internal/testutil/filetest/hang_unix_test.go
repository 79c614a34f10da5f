//go:build unix

package filetest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWithinFIFO: FIFO makes a named pipe; Within hands back the error
// of a call that returns, and fails the test of one that blocks (an
// open of the FIFO for reading, with no writer), without waiting for it;
// the end of the FIFO's test lets that open go.
func TestWithinFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	FIFO(t, p)
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("FIFO made %v, %v", fi, err)
	}
	want := errors.New("refused")
	if err := Within(t, time.Second, "hung", func() error { return want }); err != want {
		t.Errorf("Within = %v, want the call's error", err)
	}
	released := make(chan error, 1)
	t.Run("blocked", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "fifo")
		FIFO(t, p)
		ft := &fatalTB{TB: t}
		start := time.Now()
		func() {
			defer func() { recover() }()
			Within(ft, 50*time.Millisecond, "the open blocked", func() error {
				f, err := os.Open(p) // blocks: no writer
				if err == nil {
					f.Close()
				}
				released <- err
				return err
			})
		}()
		if ft.failed != "the open blocked" || time.Since(start) > 5*time.Second {
			t.Errorf("a blocked call: failed with %q after %v", ft.failed, time.Since(start))
		}
	})
	select {
	case err := <-released:
		if err != nil {
			t.Errorf("the blocked open, let go: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the blocked open outlived the test of its FIFO")
	}
}

// fatalTB records Fatal instead of ending the test.
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.failed = args[0].(string)
	panic(f)
}
