package textsafe

import (
	"strings"
	"testing"
)

// Variants the table in textsafe_test.go does not hold: a raw 8-bit CSI
// (0x9b, not valid UTF-8, read as CSI by 8-bit terminals), an OSC 8
// hyperlink whose visible text lies about its target, a CR hidden in a
// multi-line message, and a title sequence ended by BEL instead of ST.
func TestEscapeAttackVariants(t *testing.T) {
	for _, in := range []string{
		"calico\x9b2J",
		"\x1b]8;;http://evil.example/\x1b\\calico\x1b]8;;\x1b\\",
		"error: refused\nfetched calico\r fetched calico OK",
		"\x1b]0;packgen: all good\x07",
		"ok\u2028fetched calico OK",
	} {
		for _, out := range []string{Escape(in), EscapeLines(in)} {
			if strings.ContainsAny(out, "\x1b\r\x07\u2028") || strings.Contains(out, "\x9b") {
				t.Errorf("Escape(%q) = %q: a control byte reaches the terminal", in, out)
			}
		}
	}
}
