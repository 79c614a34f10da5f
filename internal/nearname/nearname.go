// Package nearname finds what a user probably meant: the names within a
// typo of one they typed (a pack name, an addonType). A leaf, so that the
// client's "did you mean" and pack validation's share it.
package nearname

import "sort"

// Near is the names closest to name within a small edit distance
// (a typo: two edits, one for short names), at most three.
func Near(name string, names []string) []string {
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	type cand struct {
		n string
		d int
	}
	var cs []cand
	seen := map[string]bool{}
	for _, n := range names {
		if n == name {
			return nil // it is there: no typo
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		if d := editDistance(name, n); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].d < cs[j].d || cs[i].d == cs[j].d && cs[i].n < cs[j].n })
	// Only the closest: calcio is calico, not falco too.
	var out []string
	for i := 0; i < len(cs) && i < 3 && cs[i].d == cs[0].d; i++ {
		out = append(out, cs[i].n)
	}
	return out
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment: a swap of two neighbours is one edit, as in calcio/calico).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
