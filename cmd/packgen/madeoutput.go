package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// jsonOutput is -o of a command that prints text, or one JSON object
// with a "warnings" list of what it warned about on stderr (docs/JSON.md),
// collected with -o json: one type for every command's options that
// print such a result (clientFlags, profileFlags, madeOutput, airgap).
type jsonOutput struct {
	output   string
	warnings warnLines
}

// add adds -o text|json.
func (o *jsonOutput) add(c *cobra.Command) { outputFlag(c, &o.output, "text", "json") }

// json reports whether -o asks for JSON.
func (o *jsonOutput) json() bool { return o.output == "json" }

// warnTo is where the command's warnings go: stderr and, with -o json,
// the warnings list.
func (o *jsonOutput) warnTo(g *globalOptions) io.Writer {
	if o.json() {
		return io.MultiWriter(g.stderr, &o.warnings)
	}
	return g.stderr
}

// madeOutput is -o of the commands that make or change something (key
// generate, new, registry add and remove) and of registry list: their
// text summaries, or one JSON object of a few named fields (what was
// made), with a warnings list of what they warned about on stderr
// (docs/JSON.md), as every -o json has.
type madeOutput struct{ jsonOutput }

// warnf warns on stderr, and in the JSON.
func (m *madeOutput) warnf(g *globalOptions, format string, args ...any) {
	g.warnf(format, args...)
	fmt.Fprintf(&m.warnings, "warning: "+format, args...)
}

// summaryf prints a summary line, in text output only: with -o json
// stdout holds the JSON alone.
func (m *madeOutput) summaryf(g *globalOptions, format string, args ...any) {
	if !m.json() {
		g.summaryf(format, args...)
	}
}

// done prints the JSON object of fields and the warnings (-o json only).
func (m *madeOutput) done(g *globalOptions, fields map[string]any) error {
	if !m.json() {
		return nil
	}
	fields["warnings"] = m.warnings.problems()
	return writeJSON(g, fields)
}
