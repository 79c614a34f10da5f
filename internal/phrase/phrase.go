// Package phrase words lists for messages: the first few names of a list
// that may be long, and how many more there are. A leaf.
package phrase

import (
	"fmt"
	"strings"
)

// Few joins the first most items with ", " and says how many are left
// out: "a, b, c and 2 more". A message stays readable however many files
// or releases a check names; the JSON output carries the whole list.
func Few(items []string, most int) string {
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	if most <= 0 {
		return fmt.Sprintf("%d more", len(items))
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:most], ", "), len(items)-most)
}

// Plural is noun (singular) as n of it are said: "image" for 1, "images"
// otherwise; a consonant and "y" takes "ies" ("entry", "entries"). Every
// count in a message goes through it (or Count): "1 problems" read as a
// bug.
func Plural(n int, noun string) string {
	if n == 1 || noun == "" {
		return noun
	}
	if len(noun) > 1 && strings.HasSuffix(noun, "y") && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])) {
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// Count is n and its noun: "1 image", "3 log entries".
func Count(n int, noun string) string { return fmt.Sprintf("%d %s", n, Plural(n, noun)) }
