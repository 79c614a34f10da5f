package publish

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil/filetest"
)

// TestLogEscapesNames: publish's log (the plan a text dry run prints on
// stdout, the lines of a real run) shows the destination's names, which
// whoever writes the bucket or web root chooses, with terminal escapes
// and line breaks escaped, never raw (attackR F7).
func TestLogEscapesNames(t *testing.T) {
	_, site := calicoSite(t)
	dst := filepath.Join(t.TempDir(), "www")
	ctx := context.Background()
	if _, err := Publish(ctx, site, DirTarget{Dir: dst}, Options{}); err != nil {
		t.Fatal(err)
	}
	filetest.Write(t, dst, map[string]string{
		"assets/x\x1b]0;PWNED\a\x1b[2J.css": "theirs\n",
		"log/tile/x\x1b[2J":                 "theirs\n",
		"notes/y\x1b[31mRED":                "theirs\n",
		"notes/a\nwarning: all is well":     "theirs\n",
	})
	for _, o := range []Options{{Prune: true, DryRun: true}, {Prune: true}} {
		var log bytes.Buffer
		o.Log = &log
		if _, err := Publish(ctx, site, DirTarget{Dir: dst}, o); err != nil {
			t.Fatal(err)
		}
		out := log.String()
		if strings.ContainsAny(out, "\x1b\a") || strings.Contains(out, "\nwarning: all is well") {
			t.Errorf("dry run %v: the log carries a destination's name raw:\n%q", o.DryRun, out)
		}
		if !strings.Contains(out, `\x1b`) {
			t.Errorf("dry run %v: the log does not show the escaped names:\n%q", o.DryRun, out)
		}
	}
}
