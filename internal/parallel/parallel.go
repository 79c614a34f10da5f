// Package parallel runs independent pieces of work on a bounded number of
// goroutines.
package parallel

import (
	"context"
	"sync"
)

// Each runs fn(0..n-1) with at most jobs at once. It returns when every
// started call has ended; the first error (or cancellation of ctx) stops
// the calls not yet started and is returned.
func Each(ctx context.Context, n, jobs int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(max(jobs, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}
