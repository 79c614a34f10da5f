package site

import (
	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gcpercent"
	"github.com/packgen/packgen/internal/location"
)

// BuildHook is the build's Site hook: it writes the HTML catalogue into
// a staged build, reusing pages of the previous build's catalogue (a
// local directory: previous, else out) whose inputs did not change.
func BuildHook(previous, out string) func(dir string, s *build.Snapshot) error {
	return CachedBuildHook(previous, out, "")
}

// CachedBuildHook is BuildHook that also remembers the images found in
// each newest archive in cache (the build's VerifiedDir; "" for none),
// so a page rendered again renders no chart again.
func CachedBuildHook(previous, out, cache string) func(dir string, s *build.Snapshot) error {
	if previous == "" {
		previous = out
	}
	if l, err := location.Parse(previous); err != nil || !l.Local() {
		previous = "" // a published registry: nothing local to reuse
	} else {
		previous = l.Dir
	}
	return func(dir string, s *build.Snapshot) error {
		defer catalogueGC()()
		return WriteOptions(dir, s.Root, s.Shards, Options{Previous: previous, Cache: cache, Images: s.Images, Manifest: s.PreviousCatalogue, Written: &s.Catalogue})
	}
}

// CheckHook is the build's SiteCheck: CheckWritten against the facts in
// cache (the build's VerifiedDir).
func CheckHook(cache string) func(out string) error {
	return func(out string) error { return CheckWritten(cache, out) }
}

// catalogueGOGC is the build's GC percentage while it writes the
// catalogue. The catalogue allocates about 1 MB a page and keeps little
// (a build's live heap is about 40 MB then, at 1,000 packs), so at Go's
// default it collected every few dozen MB, each time marking the whole
// live heap: about a sixth of its CPU in packgen. At 300 the heap may
// grow to four times what is live; a soft memory limit at what the
// build has mapped by then (its key's scrypt alone takes 64 MiB, and
// the history walk's caches more) keeps that under the peak the build
// reached before, whatever is live when the catalogue starts (a cold
// build's image reports once made it 600 MB): docs/PERFORMANCE.md.
const catalogueGOGC = 300

// catalogueGC sets catalogueGOGC under the build's peak so far
// (gcpercent.SetUnderPeak) and returns what restores the settings
// before, unless the environment sets GOGC or GOMEMLIMIT: the user's
// choice wins. The build does nothing else while its catalogue is
// written.
func catalogueGC() (restore func()) { return gcpercent.SetUnderPeak(catalogueGOGC) }
