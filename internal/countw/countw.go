// Package countw counts the bytes written through an io.Writer: the
// archive writer and the test registry's layer generator both need the
// size of what they streamed without buffering it.
package countw

import "io"

// Writer passes writes to W and adds what W took to N.
type Writer struct {
	W io.Writer
	N int64
}

func (c *Writer) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
