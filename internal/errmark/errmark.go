// Package errmark makes errors that read as their message alone and
// still match a sentinel with errors.Is: for messages meant for a user
// (a command prints them as they are) that callers must also tell apart.
package errmark

import (
	"errors"
	"fmt"
)

// New returns an error whose text is the formatted message and which
// errors.Is reports as sentinel.
func New(sentinel error, format string, args ...any) error {
	return &marked{sentinel, fmt.Sprintf(format, args...)}
}

type marked struct {
	sentinel error
	msg      string
}

func (e *marked) Error() string        { return e.msg }
func (e *marked) Is(target error) bool { return target == e.sentinel }

// Wrap returns err, unchanged in text and in what it wraps, that
// errors.Is also reports as sentinel: for sorting errors already worded
// for the user into the caller's kinds.
func Wrap(sentinel, err error) error {
	return &wrapped{sentinel, err}
}

type wrapped struct {
	sentinel error
	err      error
}

func (e *wrapped) Error() string        { return e.err.Error() }
func (e *wrapped) Unwrap() error        { return e.err }
func (e *wrapped) Is(target error) bool { return target == e.sentinel }

// Find returns the error Wrap made with sentinel that err is or wraps,
// or nil: for a caller that reports errors of one kind apart from the
// rest, as they are worded (its text is the wrapped error's).
func Find(err, sentinel error) error {
	var w *wrapped
	for errors.As(err, &w) {
		if w.sentinel == sentinel {
			return w
		}
		err = w.err
	}
	return nil
}
