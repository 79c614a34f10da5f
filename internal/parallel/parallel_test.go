package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestEach(t *testing.T) {
	// Every index once, never more than jobs at a time.
	var running, most atomic.Int32
	seen := make([]atomic.Int32, 100)
	err := Each(context.Background(), 100, 3, func(i int) error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		seen[i].Add(1)
		running.Add(-1)
		return nil
	})
	if err != nil || most.Load() > 3 {
		t.Fatalf("err %v, %d at once", err, most.Load())
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("fn(%d) ran %d times", i, seen[i].Load())
		}
	}

	// The first error is returned and stops what has not started.
	boom := errors.New("boom")
	var calls atomic.Int32
	err = Each(context.Background(), 1000, 1, func(i int) error {
		calls.Add(1)
		if i == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() > 7 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}

	// A cancelled context is an error, even when no call failed.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Each(ctx, 10, 2, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// Nothing to do: no error, no call.
	if err := Each(context.Background(), 0, 4, func(int) error { t.Fatal("called"); return nil }); err != nil {
		t.Fatal(err)
	}
}
