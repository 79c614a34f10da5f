package errmark

import (
	"errors"
	"fmt"
	"testing"
)

func TestNew(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	err := fmt.Errorf("context: %w", New(errA, "registry %q is not configured", "x"))
	if !errors.Is(err, errA) || errors.Is(err, errB) {
		t.Errorf("errors.Is: %v", err)
	}
	if got := err.Error(); got != `context: registry "x" is not configured` {
		t.Errorf("text %q", got)
	}
}

func TestWrap(t *testing.T) {
	errA, errB, inner := errors.New("a"), errors.New("b"), errors.New("inner")
	err := fmt.Errorf("context: %w", Wrap(errA, fmt.Errorf("chart x: %w", inner)))
	if !errors.Is(err, errA) || !errors.Is(err, inner) || errors.Is(err, errB) {
		t.Errorf("errors.Is: %v", err)
	}
	if got := err.Error(); got != "context: chart x: inner" {
		t.Errorf("text %q", got)
	}
}

func TestFind(t *testing.T) {
	errA, errB, inner := errors.New("a"), errors.New("b"), errors.New("inner")
	a := Wrap(errA, fmt.Errorf("read x: %w", inner))
	outer := Wrap(errB, a)
	for _, tc := range []struct {
		name   string
		err    error
		sought error
		want   error // nil: none found
	}{
		{"itself", a, errA, a},
		{"under context", fmt.Errorf("upload: %w", a), errA, a},
		{"under another mark", Wrap(errB, fmt.Errorf("sdk: %w", a)), errA, a},
		{"the outer mark", outer, errB, outer},
		{"another mark only", Wrap(errB, inner), errA, nil},
		{"plain error", fmt.Errorf("x: %w", inner), errA, nil},
		{"nil", nil, errA, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Find(tc.err, tc.sought)
			if got != tc.want {
				t.Errorf("Find = %v, want %v", got, tc.want)
			}
			if got != nil && got.Error() != "read x: inner" {
				t.Errorf("text %q: a found error reads as what it wraps", got.Error())
			}
		})
	}
}
