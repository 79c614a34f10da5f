// Package testutil holds what the tests of several packages share: the
// packgen binary and a runner for it, a test signing key, a pack writer
// for gitfixture repositories and a pack's release archive
// (pack.go), a shard forger for attack tests, reads and copies
// of a built site and its files (site.go), the round trip of a -o json
// value (json.go), a synthetic repository (synth.go), the git CLI
// (git.go) and a loose object damaged on disk (loose.go), a compiled
// JSON schema (schema.go) and a loopback address nothing listens on
// (net.go).
// It is imported by tests only, never by production code.
package testutil

import "testing"

// Must fails the test on a non-nil error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
