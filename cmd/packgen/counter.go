package main

import (
	"fmt"
	"io"
)

// counterLine is a counter redrawn in place on a terminal's last line
// (build's releases, publish's files); its owner serialises the calls.
type counterLine struct {
	w     io.Writer
	shown bool // drawn at least once
}

// eraseLine returns the cursor to the line's start and erases the line.
const eraseLine = "\r\033[K"

// show draws the counter as format says, over what the line held.
func (c *counterLine) show(format string, args ...any) {
	fmt.Fprintf(c.w, eraseLine+format, args...)
	c.shown = true
}

// clear erases the counter, once one was drawn, so the next line
// (a warning, the summary) starts clean.
func (c *counterLine) clear() {
	if c.shown {
		fmt.Fprint(c.w, eraseLine)
	}
}
