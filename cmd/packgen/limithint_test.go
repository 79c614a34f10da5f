package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/transport"
)

// TestLimitHint: a stall or timeout is told which flag raises it only by
// a command that has the flag (registry add reaches the registry with
// fixed limits), and not when the flag sets no limit (publish's
// --timeout by default: the limit that ran out was another's).
func TestLimitHint(t *testing.T) {
	g := &globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	stalled := fmt.Errorf("read: %w: nothing received for 30s", transport.ErrStalled)
	timedOut := fmt.Errorf("read: %w", transport.ErrTimeout)
	for _, tc := range []struct {
		path []string
		err  error
		want string
	}{
		{[]string{"list"}, stalled, "on a slow link, raise --stall-timeout (now 30s)"},
		{[]string{"fetch"}, timedOut, "on a slow link, raise --timeout (now 5m0s)"},
		{[]string{"airgap", "export"}, stalled, "raise --stall-timeout"},
		{[]string{"publish"}, stalled, "on a slow link, raise --stall-timeout (now 30s)"},
		{[]string{"publish"}, timedOut, ""},
		{[]string{"registry", "add"}, stalled, ""},
		{[]string{"validate"}, stalled, "on a slow link, raise --stall-timeout (now 30s)"},
		{[]string{"list"}, fmt.Errorf("connection refused"), ""},
	} {
		c, _, err := newRoot(g).Find(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := limitHint(c, tc.err); !strings.Contains(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%s, %v: hint %q, want %q", strings.Join(tc.path, " "), tc.err, got, tc.want)
		}
	}
}
