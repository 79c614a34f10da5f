package site

import (
	"github.com/packgen/packgen/build"
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
		return WriteOptions(dir, s.Root, s.Shards, Options{Previous: previous, Cache: cache})
	}
}
