package meta

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// yamlLine finds the line yaml.v3 puts in its errors ("yaml: line 4: …").
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

// YAMLError turns the error yaml.v3 gave parsing data (pack files and
// profiles alike) into a Problem's 1-based line (0: unknown), column (0:
// unknown) and message, "invalid YAML: …". yaml.v3 reports parser (not
// scanner) errors with a 0-based line, the line where the broken
// construct began; and a tab in the indentation, the commonest YAML
// mistake, only as "found character that cannot start any token".
func YAMLError(data []byte, err error) (line, col int, msg string) {
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	msg = yamlLine().ReplaceAllString(msg, "")
	msg = strings.TrimLeft(msg, ": ")
	if isYAMLParserError(msg) {
		line++
	} else if line == 0 && isYAMLScannerError(msg) {
		// yaml.v3 writes no "line N" when the 0-based line is 0.
		line = 1
	}
	if line == 0 && strings.HasPrefix(msg, "control characters are not allowed") {
		// yaml.v3's reader says no line: find the character.
		if l, c, r := controlChar(data); l > 0 {
			return l, c, fmt.Sprintf("invalid YAML: control character %U is not allowed (remove it, or write it as an escape in a double-quoted string)", r)
		}
	}
	if col := tabIndent(data, line); col > 0 && (strings.HasPrefix(msg, "found character that cannot start any token") || strings.HasPrefix(msg, "found a tab character")) {
		return line, col, "invalid YAML: a tab character indents this line: YAML indents with spaces only"
	}
	return line, 0, "invalid YAML: " + msg
}

// controlChar finds the first character YAML does not allow in a
// stream (C0 controls but tab, LF and CR; DEL; C1 controls but NEL):
// its 1-based line and column (in characters), or 0.
func controlChar(data []byte) (line, col int, r rune) {
	line, col = 1, 0
	for _, r := range string(data) {
		col++
		switch {
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f, r >= 0x80 && r <= 0x9f && r != 0x85:
			return line, col, r
		}
	}
	return 0, 0, 0
}

// tabIndent returns the 1-based column of a tab in the indentation of
// line (1-based) of data, or 0.
func tabIndent(data []byte, line int) int {
	if line < 1 {
		return 0
	}
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return 0
		}
		data = data[j+1:]
	}
	if line == 1 {
		data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a BOM is no column
	}
	for i, c := range data {
		switch c {
		case '\t':
			return i + 1
		case ' ':
			continue
		}
		return 0
	}
	return 0
}

// isYAMLParserError recognises libyaml parser errors, whose line yaml.v3
// reports 0-based, unlike scanner errors.
func isYAMLParserError(msg string) bool {
	for _, p := range []string{"did not find expected", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// isYAMLScannerError recognises libyaml scanner errors (the tokens of
// the text, as opposed to reader errors, which have no line, and
// yaml.v3's own, which are not about the text's syntax).
func isYAMLScannerError(msg string) bool {
	for _, p := range []string{"found ", "could not find expected", "did not find", "mapping values are not allowed", "mapping keys are not allowed", "block sequence entries are not allowed", "exceeded max depth"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
