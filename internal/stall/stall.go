// Package stall abandons a download whose server goes silent: the one
// stall deadline every reader of outside servers uses (the site
// transports and the OCI registry client), so a stall is one sentinel
// whichever source it came from.
package stall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// ErrStalled marks a server that sent nothing for the stall timeout
// (slow retrieval attack, or a dead connection).
var ErrStalled = errors.New("download stalled")

// Default is how long a download may go without receiving a byte
// before it is abandoned (--stall-timeout's default); an overall timeout
// bounds a slow drip.
const Default = 30 * time.Second

// Watch cancels its context when no byte arrives for d once armed.
type Watch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	d      time.Duration
	cur    atomic.Int64 // the countdown's duration now, for the error
}

// New derives the context a watched request runs under; nothing fires
// until Arm.
func New(parent context.Context, d time.Duration) *Watch {
	ctx, cancel := context.WithCancelCause(parent)
	return &Watch{ctx: ctx, cancel: cancel, d: d}
}

// Context is the context to run the request under.
func (w *Watch) Context() context.Context { return w.ctx }

// Arm starts (or restarts) the countdown.
func (w *Watch) Arm() { w.ArmFor(w.d) }

// ArmFor restarts the countdown for d this once (an upload sent whole,
// whose answer waits on the server's work); the next Arm counts w's own
// duration again.
func (w *Watch) ArmFor(d time.Duration) {
	w.cur.Store(int64(d))
	if w.timer == nil {
		w.timer = time.AfterFunc(d, func() {
			w.cancel(fmt.Errorf("%w: nothing received for %s", ErrStalled, time.Duration(w.cur.Load())))
		})
		return
	}
	w.timer.Reset(d)
}

// Stop ends the watch and releases its context.
func (w *Watch) Stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.cancel(nil)
}

// Cause is the stall error when the watch fired, else nil.
func (w *Watch) Cause() error {
	if cause := context.Cause(w.ctx); errors.Is(cause, ErrStalled) {
		return cause
	}
	return nil
}

// Body hands the watch to a response body: re-armed whenever data
// arrives, stopped on Close. A read error is passed to mapErr (nil: a
// stall is reported as its ErrStalled cause rather than a bare "context
// canceled").
func (w *Watch) Body(rc io.ReadCloser, mapErr func(error) error) io.ReadCloser {
	w.Arm()
	return &body{rc: rc, w: w, mapErr: mapErr}
}

type body struct {
	rc     io.ReadCloser
	w      *Watch
	mapErr func(error) error
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.Arm()
	}
	if err != nil && err != io.EOF {
		if b.mapErr != nil {
			err = b.mapErr(err)
		} else if cause := b.w.Cause(); cause != nil {
			err = cause
		}
	}
	return n, err
}

func (b *body) Close() error {
	if b.w.timer != nil {
		b.w.timer.Stop()
	}
	err := b.rc.Close()
	b.w.cancel(nil)
	return err
}
