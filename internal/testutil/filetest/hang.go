package filetest

import (
	"testing"
	"time"
)

// Within runs fn and returns its error, or fails t with hung when fn has
// not returned within d: for a call that must refuse a FIFO planted in
// its way, where a plain call would block the test binary until its
// timeout. fn goes on in its goroutine after such a failure.
func Within(t testing.TB, d time.Duration, hung string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatal(hung)
		return nil
	}
}
