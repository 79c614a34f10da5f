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
)

// The bundle's table of contents and names (package list).
type (
	List        = list.List
	RegistryRef = list.RegistryRef
	Pack        = list.Pack
	Image       = list.Image
	Signature   = list.Signature
)

const (
	ListTag          = list.ListTag
	IndexTag         = list.IndexTag
	ListMediaType    = list.ListMediaType
	ListArtifactType = list.ListArtifactType
	ImagesRepo       = list.ImagesRepo
	SignaturesRepo   = list.SignaturesRepo
	ListVersion      = list.ListVersion
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

// Names and parsing (package list).
var (
	CosignTag    = list.CosignTag
	ReferrersTag = list.ReferrersTag
	HostPath     = list.HostPath
	ParseList    = list.Parse
	splitImage   = list.SplitImage
)

// Mapping is one line of the platform's image swap: images of registry
// From are pulled from To.
type Mapping struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// mappings is the image swap for the images, to the registry prefix to
// (REGISTRY/BASE/spectro-images).
func mappings(images []Image, to string) []Mapping {
	seen := map[string]bool{}
	var out []Mapping
	for _, im := range images {
		if !seen[im.Registry] {
			seen[im.Registry] = true
			out = append(out, Mapping{From: im.Registry, To: to + "/" + HostPath(im.Registry)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out
}

// setDefaults fills the options export and import share: no log is
// io.Discard, no warning writer is the log, the clock is time.Now.
func setDefaults(log, warn *io.Writer, now *func() time.Time, jobs *int, defaultJobs int) {
	if *log == nil {
		*log = io.Discard
	}
	if *warn == nil {
		*warn = *log
	}
	if *jobs <= 0 {
		*jobs = defaultJobs
	}
	if *now == nil {
		*now = time.Now
	}
}

// warner records a warning in list and writes it to w as a
// "warning: …" line.
func warner(list *[]string, w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		*list = append(*list, msg)
		fmt.Fprintln(w, "warning: "+msg)
	}
}
