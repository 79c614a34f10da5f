package site

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// A change view compares every file of two release archives by content
// digest, so it never says "no change" of a file it did not compare; a
// text file that changed is diffed line by line within the same bounds
// as values.yaml.

const (
	// maxDiffFile: a larger file is compared by digest only.
	maxDiffFile = 1 << 20
	// maxKeptText bounds the text one archive keeps for diffs; past it,
	// files are compared by digest only.
	maxKeptText = 4 << 20
	// maxListedFiles bounds the files one change view names.
	maxListedFiles = 200
)

// fileSum is one regular file of a release archive as a change view
// compares it.
type fileSum struct {
	sum  [sha256.Size]byte
	size int64
	text []byte // the file when it is text kept for diffs, else nil
	// binary: not text (the file, not a bound, keeps it from a diff)
	binary bool
}

// fileChange is one file a version added, removed or changed, with its
// diff as unifiedText when it was cheap to show.
type fileChange struct {
	Path    string
	State   string // "changed", "added" or "removed"
	Added   int
	Removed int
	Diff    string
	Note    string // why no line counts or diff
}

var fileBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// take reads one regular file of an archive: its digest and, for a text
// file within the bounds, its text go to out.files, and what the page
// shows of it to out.read.
func (out *latestFiles) take(r io.Reader, rel string, size int64, full bool) error {
	if out.files == nil {
		out.files = map[string]fileSum{}
	}
	if size > maxDiffFile {
		h := sha256.New()
		err := out.read(io.TeeReader(r, h), rel, full)
		if err == nil {
			_, err = io.Copy(h, r)
		}
		if err != nil {
			return err
		}
		fs := fileSum{size: size}
		h.Sum(fs.sum[:0])
		out.files[rel] = fs
		return nil
	}
	buf := fileBufs.Get().(*bytes.Buffer)
	defer fileBufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, maxDiffFile+1)); err != nil {
		return err
	}
	if buf.Len() > maxDiffFile { // longer than its header said: stream the rest
		return out.take(io.MultiReader(bytes.NewReader(buf.Bytes()), r), rel, maxDiffFile+1, full)
	}
	b := buf.Bytes()
	fs := fileSum{sum: sha256.Sum256(b), size: int64(len(b))}
	switch {
	case !isText(b):
		fs.binary = true
	case out.kept+len(b) <= maxKeptText:
		fs.text = bytes.Clone(b)
		out.kept += len(b)
	}
	out.files[rel] = fs
	return out.read(bytes.NewReader(b), rel, full)
}

// isText: valid UTF-8 without NUL, as a diff can show it.
func isText(b []byte) bool { return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) }

// compareFiles lists the files b added, removed or changed since a, in
// path order with values.yaml first, diffing text files until the
// version's diff holds maxDiffLines lines. more counts files not listed.
func compareFiles(a, b map[string]fileSum) (out []fileChange, more int) {
	var paths []string
	for p, fb := range b {
		if fa, ok := a[p]; !ok || fa.sum != fb.sum {
			paths = append(paths, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.SortFunc(paths, func(x, y string) int {
		if (x == "values.yaml") != (y == "values.yaml") {
			if x == "values.yaml" {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	})
	if len(paths) > maxListedFiles {
		more, paths = len(paths)-maxListedFiles, paths[:maxListedFiles]
	}
	budget := maxDiffLines
	for _, p := range paths {
		fa, inA := a[p]
		fb, inB := b[p]
		c := fileChange{Path: p, State: "changed"}
		switch {
		case !inA:
			c.State = "added"
			c.Added, c.Note = lineCount(fb)
		case !inB:
			c.State = "removed"
			c.Removed, c.Note = lineCount(fa)
		case fa.text == nil || fb.text == nil:
			_, c.Note = lineCount(fb)
			if _, na := lineCount(fa); c.Note == "" {
				c.Note = na
			}
			if c.Note == "" {
				c.Note = "not compared line by line: too much text in the archives"
			}
		default:
			la, lb := splitLines(fa.text), splitLines(fb.text)
			if len(la)+len(lb) > maxDiffSources {
				c.Note = "too long to compare line by line here"
				break
			}
			ops, ok := lineDiff(la, lb, maxDiffEdits)
			if !ok {
				c.Note = fmt.Sprintf("changed too much to show line by line (%d lines, then %d)", len(la), len(lb))
				break
			}
			var n int
			c.Diff, c.Added, c.Removed, n = unifiedText(ops, diffContext, budget)
			if budget -= n; budget <= 0 {
				budget = 0
			}
			if c.Added+c.Removed == 0 {
				// Equal lines, different bytes (line ends, a last newline).
				c.Note = "changed in line ends or whitespace only"
			}
		}
		out = append(out, c)
	}
	return out, more
}

// lineCount is the lines of a file kept as text, or why it has none.
func lineCount(f fileSum) (int, string) {
	switch {
	case f.text != nil:
		return len(splitLines(f.text)), ""
	case f.size > maxDiffFile:
		return 0, fmt.Sprintf("larger than %d MiB", maxDiffFile>>20)
	case f.binary:
		return 0, "binary"
	}
	return 0, "" // text past the archive's budget: not counted
}

// summary is a file change in a few words, for the change view's list.
func (c fileChange) summary() string {
	s := c.Path
	switch {
	case c.State == "added" && c.Added > 0:
		s += " (" + lines(c.Added) + ")"
	case c.State == "removed" && c.Removed > 0:
		s += " (" + lines(c.Removed) + ")"
	case c.State == "changed" && c.Added+c.Removed > 0:
		s += fmt.Sprintf(": +%d −%d lines", c.Added, c.Removed)
	}
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

func lines(n int) string {
	if n == 1 {
		return "1 line"
	}
	return fmt.Sprintf("%d lines", n)
}
