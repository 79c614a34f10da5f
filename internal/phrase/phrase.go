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
