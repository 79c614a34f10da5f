// Package airgap writes and reads air-gap bundles: one OCI image layout,
// as a tar, holding the packs a profile's lock pins (the ORAS-shaped
// release manifests publish pushes), the part of their registry's packgen
// index a client reads to fetch them (signed by the registry's key), and
// every container image those packs deploy with its cosign signatures.
// Export streams it from the registries; import verifies all of it, then
// pushes it into an air-gapped registry in the vendor's layout. The
// layout is oras-go's (content/oci); the table of contents is package
// list's; see docs/FORMAT.md, "Air-gap bundles".
package airgap

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/textsafe"
)

// Errors, usable with errors.Is.
var (
	// ErrBundle: the bundle is not a complete, intact air-gap bundle
	// (truncated, a byte changed, a blob missing, not a layout).
	ErrBundle = list.ErrBundle
	// ErrInput: the lock or the options cannot make a bundle.
	ErrInput = errors.New("air-gap input")
	// ErrNoKey: import without the packs' registry key.
	ErrNoKey = errors.New("no key to verify the bundle's packs")
	// ErrImageTag: an image tag of the air-gapped registry already names
	// other content.
	ErrImageTag = errors.New("image tag already names other content")
)

// Mapping is one line of the platform's image swap: images of registry
// From are pulled from To.
type Mapping struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// mappings is the image swap for the images, to the registry prefix to
// (REGISTRY/BASE/spectro-images).
func mappings(images []list.Image, to string) []Mapping {
	seen := map[string]bool{}
	var out []Mapping
	for _, im := range images {
		if !seen[im.Registry] {
			seen[im.Registry] = true
			out = append(out, Mapping{From: im.Registry, To: to + "/" + list.HostPath(im.Registry)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out
}

// RunOptions are how an export or an import runs.
type RunOptions struct {
	// Jobs bounds the work done at once: the blobs Export downloads
	// (default 8; twice as many images have their manifests read at
	// once, the work being mostly waiting on round trips), what Import
	// pushes (default 4).
	Jobs int
	Log  io.Writer // progress, a line per pack and image; nil = discard
	Warn io.Writer // warnings, "warning: …" lines; nil = Log
	// Now is the clock the packs' index expiry is checked by (nil:
	// time.Now).
	Now func() time.Time
}

// defaults fills what r leaves unset: no log is io.Discard, no warning
// writer is the log, no Jobs is jobs, the clock is time.Now.
func (r *RunOptions) defaults(jobs int) {
	if r.Log == nil {
		r.Log = io.Discard
	}
	if r.Warn == nil {
		r.Warn = r.Log
	}
	if r.Jobs <= 0 {
		r.Jobs = jobs
	}
	if r.Now == nil {
		r.Now = time.Now
	}
}

// warner records a warning in list and writes it to w as a
// "warning: …" line.
func warner(list *[]string, w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		*list = append(*list, msg)
		fmt.Fprintln(w, "warning: "+textsafe.Escape(msg)) // errors of registries, names from a bundle
	}
}
