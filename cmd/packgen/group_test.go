package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every command group (found in the tree, so a new one is covered): alone
// it prints its help, exit 0; a mistyped command is a usage error, exit
// 2, naming it, as in every command (log, registry and key printed their
// help and exited 0).
func TestGroupUnknownCommand(t *testing.T) {
	g := &globalOptions{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	groups := 0
	for _, c := range newRoot(g).Commands() {
		if !c.HasSubCommands() {
			continue
		}
		groups++
		t.Run(c.Name(), func(t *testing.T) {
			if code, out, _ := run(t, c.Name()); code != 0 || !strings.Contains(out, "Available Commands:") {
				t.Errorf("packgen %s: exit %d, output %q", c.Name(), code, out)
			}
			code, out, errs := run(t, c.Name(), "aduit")
			if code != 2 || out != "" || !strings.Contains(errs, `unknown command "aduit" for "packgen `+c.Name()+`"`) {
				t.Errorf("packgen %s aduit: exit %d, stdout %q, stderr %q", c.Name(), code, out, errs)
			}
		})
	}
	if groups < 5 {
		t.Errorf("%d command groups, want at least 5 (airgap, key, log, profile, registry)", groups)
	}
}
