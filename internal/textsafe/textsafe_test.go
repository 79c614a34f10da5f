package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want, lines string }{
		{"calico", "calico", "calico"},
		{"Café ☃ 日本", "Café ☃ 日本", "Café ☃ 日本"},
		{"\x1b]0;pwned\x07title", `\x1b]0;pwned\x07title`, `\x1b]0;pwned\x07title`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"bad\rfetched calico OK", `bad\rfetched calico OK`, `bad\rfetched calico OK`},
		{"a\nb", `a\nb`, "a\nb"},
		{"tab\there", `tab\there`, `tab\there`},
		{"del\x7f", `del\x7f`, `del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`, `c1 \u009b31m`},
		{"gpj.\u202eexe", `gpj.\u202eexe`, `gpj.\u202eexe`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`, `iso\u2066x\u2069`},
		{"zw\u200bsp", `zw\u200bsp`, `zw\u200bsp`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`, `bad utf8 \xff\xfe`},
		{"nul\x00", `nul\x00`, `nul\x00`},
		{"", "", ""},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := EscapeLines(tc.in); got != tc.lines {
			t.Errorf("EscapeLines(%q) = %q, want %q", tc.in, got, tc.lines)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"calico", "\x1b[31m", "a\rb", "\u202e", "\xff", "é\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Escape(s), EscapeLines(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
			}
			for _, r := range out {
				if unsafe(r) && r != '\n' {
					t.Fatalf("unsafe %U left in %q (from %q)", r, out, s)
				}
			}
		}
		if strings.ContainsRune(Escape(s), '\n') {
			t.Fatalf("newline left by Escape(%q)", s)
		}
		if firstUnsafe(s, false) < 0 && Escape(s) != s {
			t.Fatalf("safe %q changed", s)
		}
	})
}
