package site

import "github.com/packgen/packgen/index"

// changeRecord is what comparing two versions' archives found. It is
// computed from the archives every time the page is rendered, never
// taken from a previous page: pages are rendered only for packs that
// changed, and a page must be a function of the shard and its archives.
type changeRecord struct {
	// Shallow: the archives were not compared (only the latest version's
	// and the newest release's are).
	Shallow    bool
	Files      []fileChange
	More       int
	ImagesAdd  []string
	ImagesGone []string
}

// baseOf is the release rs[i] (sorted oldest version first) is compared
// with: the highest lower version published no later than it. A patch
// on an older line published after a newer version is compared with
// its own line's previous release, and the newer version keeps its
// base. -1 for none; a release without a date (a build without
// history) takes the next lower version.
func baseOf(rs []index.Release, i int) int {
	for j := i - 1; j >= 0; j-- {
		if rs[i].Created.IsZero() || rs[j].Created.IsZero() || !rs[j].Created.After(rs[i].Created) {
			return j
		}
	}
	return -1
}
