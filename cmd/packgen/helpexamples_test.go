package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpExamplesParse checks every `packgen ...` line of every command's
// --help examples the way the command line would take it: bash splits the
// words (quotes, env prefixes, comments, redirections), then the command is
// found, its flags parsed, its arguments and flag groups validated. An
// example that names a removed flag, a command that does not exist or the
// wrong number of arguments fails here instead of in a user's terminal.
func TestHelpExamplesParse(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	g := &globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	root := newRoot(g)
	var lines []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, l := range strings.Split(c.Example, "\n") {
			if strings.Contains(l, "packgen ") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if len(lines) < 40 {
		t.Fatalf("only %d example lines found", len(lines))
	}
	t.Logf("%d example lines", len(lines))
	checkCommandLines(t, g, lines)
}

// TestDocsCommandsParse does the same for every packgen line of the
// shell blocks of README.md and docs/: the quick tour and the docs' one-off
// commands are not run end to end (they need a bucket, a registry on the
// internet), but each must be a command line packgen accepts.
func TestDocsCommandsParse(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := false
		for _, l := range strings.Split(string(data), "\n") {
			switch {
			case strings.HasPrefix(l, "```sh") || strings.HasPrefix(l, "```bash"):
				in = true
			case strings.HasPrefix(l, "```"):
				in = false
			case in && strings.Contains(l, "packgen ") && !strings.Contains(l, " [-"): // a synopsis
				lines = append(lines, strings.TrimSpace(l))
			}
		}
	}
	if len(lines) < 40 {
		t.Fatalf("only %d lines found", len(lines))
	}
	t.Logf("%d command lines in README.md and docs/", len(lines))
	g := &globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	checkCommandLines(t, g, lines)
}

func checkCommandLines(t *testing.T, g *globalOptions, lines []string) {
	t.Helper()
	for _, line := range lines {
		words := shellWords(t, line)
		if words == nil {
			continue // packgen is not the command run (cosign ... of a packgen file)
		}
		root := newRoot(g)
		root.InitDefaultCompletionCmd() // as Execute does
		c, rest, err := root.Find(words)
		if err != nil || c == nil || c.Name() == "packgen" {
			t.Errorf("example %q: no such command (%v)", line, err)
			continue
		}
		if err := c.ParseFlags(rest); err != nil {
			t.Errorf("example %q: %v", line, err)
			continue
		}
		if err := c.ValidateArgs(c.Flags().Args()); err != nil {
			t.Errorf("example %q: %v", line, err)
		}
		if err := c.ValidateRequiredFlags(); err != nil {
			t.Errorf("example %q: %v", line, err)
		}
		if err := c.ValidateFlagGroups(); err != nil {
			t.Errorf("example %q: %v", line, err)
		}
	}
}

// shellWords returns the arguments bash would pass to packgen on line, or
// nil when the line runs something else.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	script := `exec 9>&1 >/dev/null
packgen() { printf '%s\0' "$@" >&9; exit 0; }
` + line + `
exit 3`
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = t.TempDir() // redirections in examples write there
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 || len(out) == 0 {
		return nil
	}
	if err != nil {
		t.Fatalf("bash on %q: %v", line, err)
	}
	return strings.Split(string(bytes.TrimSuffix(out, []byte{0})), "\x00")
}
