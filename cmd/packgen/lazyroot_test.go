package main

import (
	"io"
	"strings"
	"testing"
)

// TestRootForOneCommand: a command line naming a command builds that one
// alone; anything else (help, completion, a typo, a flag) builds them all.
func TestRootForOneCommand(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	all := len(newRoot(g).Commands())
	if all < 10 {
		t.Fatalf("newRoot has %d commands", all)
	}
	for name, want := range map[string]int{"fetch": 1, "verify": 1, "profile": 1, "": all, "fetc": all, "help": all, "__complete": all, "-q": all} {
		cmds := newRootFor(g, name).Commands()
		if len(cmds) != want {
			t.Errorf("newRootFor(%q): %d commands, want %d", name, len(cmds), want)
		}
		if want == 1 && cmds[0].Name() != name {
			t.Errorf("newRootFor(%q) built %s", name, cmds[0].Name())
		}
	}
	// The command still runs with its own and the global flags.
	if code, out, errs := run(t, "fetch", "--help"); code != 0 || !strings.Contains(out, "--insecure-skip-verify") || !strings.Contains(out, "--quiet") {
		t.Errorf("fetch --help: %d\n%s%s", code, out, errs)
	}
}
