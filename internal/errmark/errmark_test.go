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
