package testutil

import (
	"testing"

	"github.com/packgen/packgen/internal/synth"
)

// SynthRepo generates the synthetic repository of spec at dir (see
// internal/synth); an error fails the test.
func SynthRepo(t testing.TB, dir string, spec synth.Spec) *synth.Result {
	t.Helper()
	res, err := synth.Generate(dir, spec)
	Must(t, err)
	return res
}
