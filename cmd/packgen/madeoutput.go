package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// madeOutput is -o of the commands that make something (key generate,
// new, registry add and remove): their text summaries, or one JSON
// object saying what was made, with a warnings list of what they warned
// about on stderr (docs/JSON.md), as every -o json has.
type madeOutput struct {
	format string
	warns  warnLines
}

func (m *madeOutput) add(c *cobra.Command) { outputFlag(c, &m.format, "text", "json") }

func (m *madeOutput) check() error { return checkOutput(m.format, "text", "json") }

// warnf warns on stderr, and in the JSON.
func (m *madeOutput) warnf(g *globalOptions, format string, args ...any) {
	g.warnf(format, args...)
	fmt.Fprintf(&m.warns, "warning: "+format, args...)
}

// summaryf prints a summary line, in text output only: with -o json
// stdout holds the JSON alone.
func (m *madeOutput) summaryf(g *globalOptions, format string, args ...any) {
	if m.format != "json" {
		g.summaryf(format, args...)
	}
}

// done prints the JSON object of fields and the warnings (-o json only).
func (m *madeOutput) done(g *globalOptions, fields map[string]any) error {
	if m.format != "json" {
		return nil
	}
	fields["warnings"] = m.warns.problems()
	return writeJSON(g, fields)
}
