package main

import (
	"fmt"
	"io"
	"sync"
)

// counterLine is a counter redrawn in place on a terminal's last line
// (build's releases, publish's files). Its calls may come from several
// goroutines (the build's workers): it serialises them itself.
type counterLine struct {
	mu    sync.Mutex
	w     io.Writer
	shown bool // drawn at least once
}

// eraseLine returns the cursor to the line's start and erases the line.
const eraseLine = "\r\033[K"

// show draws the counter as format says, over what the line held.
func (c *counterLine) show(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, eraseLine+format, args...)
	c.shown = true
}

// println prints line on a line of its own (a warning): the counter is
// erased first and drawn again by the next show.
func (c *counterLine) println(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	fmt.Fprintln(c.w, line)
}

// end erases the counter, so the summary stands alone (nil: there was
// no counter).
func (c *counterLine) end() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
}

// clear erases the counter, once one was drawn (c.mu held).
func (c *counterLine) clear() {
	if c.shown {
		fmt.Fprint(c.w, eraseLine)
	}
}
