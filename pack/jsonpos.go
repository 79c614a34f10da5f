package pack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 64

// jsonIndex maps JSON pointer paths ("/constraints/dependencies/0/type") to
// byte offsets, because encoding/json reports no positions for valid but
// wrong values and we want every problem to carry a line and column.
type jsonIndex struct {
	data  []byte
	value map[string]int // offset of each value
	key   map[string]int // offset of each object member's key
	dups  []jsonDup
}

type jsonDup struct {
	path   string
	offset int
}

// indexJSON checks that data is one well-formed JSON value and records
// where every value starts. It reports duplicate object keys, which
// encoding/json silently resolves to the last one.
func indexJSON(data []byte) (*jsonIndex, error) {
	ix := &jsonIndex{data: data, value: map[string]int{}, key: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := ix.walk(dec, "", 0); err != nil {
		return ix, err
	}
	if _, err := dec.Token(); err != io.EOF {
		off := ix.skip(int(dec.InputOffset()))
		return ix, &posError{off: off, msg: "unexpected data after the top-level value"}
	}
	return ix, nil
}

func (ix *jsonIndex) skip(off int) int {
	for off < len(ix.data) {
		switch ix.data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func (ix *jsonIndex) walk(dec *json.Decoder, path string, depth int) error {
	if depth > maxJSONDepth {
		return &posError{off: int(dec.InputOffset()), msg: fmt.Sprintf("nesting deeper than %d levels", maxJSONDepth)}
	}
	ix.value[path] = ix.skip(int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			koff := ix.skip(int(dec.InputOffset()))
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			child := path + "/" + escapePointer(k)
			if seen[k] {
				ix.dups = append(ix.dups, jsonDup{path: child, offset: koff})
			}
			seen[k] = true
			ix.key[child] = koff
			if err := ix.walk(dec, child, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := ix.walk(dec, path+"/"+strconv.Itoa(i), depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // closing delimiter
	return err
}

// pointerEscaper is built once: building a Replacer per call showed up
// in build profiles (one call per JSON key of every pack.json).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string {
	return pointerEscaper.Replace(s)
}

// lineCol converts a byte offset into a 1-based line and column (in runes).
func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col := len([]rune(string(before[start:]))) + 1
	return line, col
}

// pos returns the line and column of the value at path, or of its
// closest existing parent, so a problem always points somewhere useful.
func (ix *jsonIndex) pos(path string) (int, int) {
	for {
		if off, ok := ix.value[path]; ok {
			return lineCol(ix.data, off)
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return 1, 1
		}
		path = path[:i]
	}
}

// ValuePos returns the line and column of the value at the JSON pointer
// path in data ("/version"), so a problem found outside pack.Load can
// point at it too; 0, 0 when data has no value there.
func ValuePos(data []byte, path string) (line, col int) {
	ix, _ := indexJSON(data)
	off, ok := ix.value[path]
	if !ok {
		return 0, 0
	}
	return lineCol(data, off)
}

// keyPos is like pos but points at the member's key.
func (ix *jsonIndex) keyPos(path string) (int, int) {
	if off, ok := ix.key[path]; ok {
		return lineCol(ix.data, off)
	}
	return ix.pos(path)
}

// posError is a JSON structure error at a byte offset.
type posError struct {
	off int
	msg string
}

func (e *posError) Error() string { return e.msg }

// syntaxPos extracts a position from an encoding/json error, if it has one.
func syntaxPos(data []byte, err error) (int, int, string) {
	var pe *posError
	if errors.As(err, &pe) {
		l, c := lineCol(data, pe.off)
		return l, c, pe.msg
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		l, c := lineCol(data, int(se.Offset))
		return l, c, se.Error() + missingComma(data, int(se.Offset), l, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		l, c := lineCol(data, len(data))
		return l, c, "unexpected end of JSON input"
	}
	return 0, 0, err.Error()
}

// missingComma is a hint for a syntax error at line l, offset off (just
// past the unexpected character), that a comma is missing: the parser
// stops at the next key or element, often a line below the value that
// lacks it; the hint names that value's line.
func missingComma(data []byte, off, l int, msg string) string {
	if !strings.Contains(msg, "after object key:value pair") && !strings.Contains(msg, "after array element") {
		return ""
	}
	i := min(off, len(data)) - 2 // before the unexpected character
	for i >= 0 && strings.IndexByte(" \t\r\n", data[i]) >= 0 {
		i--
	}
	if i < 0 {
		return ""
	}
	if pl, _ := lineCol(data, i); pl < l {
		return fmt.Sprintf(" (missing comma after line %d?)", pl)
	}
	return " (missing comma?)"
}

// jsonKind names the JSON type of a raw value for messages.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
