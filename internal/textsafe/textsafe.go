// Package textsafe makes outside text (a registry's pack fields, a
// server's HTTP status line, names from a hostile archive) safe to print on
// a terminal. Printed raw, an ESC sequence can retitle the window, clear
// the screen or recolour lines, a CR can overwrite the line before it (a
// fake "fetched calico OK" over an error), and a bidi override can make a
// name read backwards. Every printer of outside input goes through Escape.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// unsafe reports whether r must not reach a terminal as is: C0 controls,
// DEL, C1 controls (0x80-0x9f: CSI 0x9b starts an escape sequence on some
// terminals), and the Unicode formatting characters that reorder or hide
// text (bidi embeddings, overrides, isolates and marks, zero-width
// characters, the line and paragraph separators, the BOM).
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x180e, // Arabic letter mark, Mongolian vowel separator
		r >= 0x200b && r <= 0x200f, // zero-width space/joiners, LRM, RLM
		r >= 0x2028 && r <= 0x202e, // line/paragraph separators, LRE RLE PDF LRO RLO
		r >= 0x2060 && r <= 0x2069, // word joiner, invisible operators, LRI RLI FSI PDI
		r == 0xfeff:                // BOM / zero-width no-break space
		return true
	}
	return false
}

// Escape returns s with every unsafe character written as a Go escape
// (\x1b, \r, \u202e) and every invalid UTF-8 byte as \xNN, so the reader
// sees what the text holds instead of what it does to the terminal. Safe
// text comes back unchanged (and unallocated).
func Escape(s string) string { return escape(s, false) }

// EscapeLines is Escape keeping newlines, for messages that are several
// lines on purpose (a joined list of errors); every other control
// character, CR included, is escaped.
func EscapeLines(s string) string { return escape(s, true) }

func escape(s string, keepNL bool) string {
	i := firstUnsafe(s, keepNL)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNL:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first character Escape changes,
// or -1.
func firstUnsafe(s string, keepNL bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (unsafe(r) && !(keepNL && r == '\n')) {
			return i
		}
		i += n
	}
	return -1
}

// Strings escapes each of ss (for printing several fields).
func Strings(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Escape(s)
	}
	return out
}
