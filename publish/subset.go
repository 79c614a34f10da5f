package publish

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	sitewalk "github.com/packgen/packgen/walk"
)

// A subset of a site is some of its releases and the part of its index a
// client reads to fetch them: index.json and its signatures, the bucket
// nodes on the way to each pack, the packs' shards, the releases'
// signature files, and the whole transparency log (an inclusion proof
// may need any tile). The air-gap bundle carries one (airgap export),
// and publishes it with OCIOptions.Only (airgap import): the root and
// every file below it are the site's own, so its signature still
// verifies and a client fetches those releases as from the site itself.

// ErrNotInSite marks a release a subset asks for that the site's
// verified index does not list.
var ErrNotInSite = errors.New("release not in the registry's index")

// Subset is what ReadSubset read and verified.
type Subset struct {
	Root *index.Root
	// Files are the subset's site files (path → content), archives
	// excepted.
	Files    map[string][]byte
	Releases []SubsetRelease // sorted by name, then version
}

// SubsetRelease is a release of a subset.
type SubsetRelease struct {
	Name    string
	Release *index.Release // as the verified shard lists it
	// Manifest is the ORAS-shaped manifest publish pushes for it.
	Manifest *ocimap.Packed
	// Sigs are its signature files (site path → content).
	Sigs map[string][]byte
}

// ReadSubset reads the subset of the site tr reads that holds the
// releases only names (pack → versions), verified as publish verifies a
// whole site: index.json's signature under v (nil: digests only), every
// node and shard by its parent's digest, the log by its tree and
// checkpoint. Archives are not read: callers stream them, checked
// against Release.Archive.
func ReadSubset(ctx context.Context, tr transport.Transport, v *sign.Verifier, only map[string][]string) (*Subset, error) {
	s := &site{rootFiles: map[string][]byte{}, tiles: map[string][]byte{}, walker: sitewalk.New(tr, v)}
	if err := s.readRoot(ctx, tr.String()); err != nil {
		return nil, err
	}
	rels, err := s.readMetaOnly(ctx, ocimap.Location{}, only)
	if err != nil {
		return nil, err
	}
	if err := s.readLog(ctx, s.walker.Get); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotSite, tr, err)
	}
	if err := s.tagReleases(); err != nil {
		return nil, err
	}
	sub := &Subset{Root: s.root, Files: map[string][]byte{}}
	for p, d := range s.rootFiles {
		sub.Files[p] = d
	}
	for p, d := range s.tiles {
		sub.Files[p] = d
	}
	for _, m := range s.meta {
		sub.Files[m.ref.Path] = m.data
	}
	for _, r := range s.releases {
		for p, d := range r.sigs {
			sub.Files[p] = d
		}
		sub.Releases = append(sub.Releases, SubsetRelease{Name: r.name, Release: rels[r], Manifest: r.manifest, Sigs: r.sigs})
	}
	sort.Slice(sub.Releases, func(i, j int) bool {
		a, b := sub.Releases[i], sub.Releases[j]
		return a.Name < b.Name || a.Name == b.Name && a.Release.Version < b.Release.Version
	})
	return sub, nil
}

// readIndex reads every bucket and shard (only nil), or the subset's.
func (s *site) readIndex(ctx context.Context, dest ocimap.Location, only map[string][]string) error {
	if only == nil {
		return s.readMeta(ctx, dest)
	}
	_, err := s.readMetaOnly(ctx, dest, only)
	return err
}

// readMetaOnly is readMeta for the releases only names: the nodes on the
// path to each pack, its shard, and those releases' signature files.
func (s *site) readMetaOnly(ctx context.Context, dest ocimap.Location, only map[string][]string) (map[*siteRelease]*index.Release, error) {
	w := s.walker
	seen := map[string]bool{}
	keep := func(ref index.FileRef, data []byte) {
		if !seen[ref.Path] {
			seen[ref.Path] = true
			s.meta = append(s.meta, metaFile{ref, data})
		}
	}
	var names []string
	for n := range only {
		names = append(names, n)
	}
	sort.Strings(names)
	rels := map[*siteRelease]*index.Release{}
	for _, name := range names {
		leaf, err := index.LeafOf(s.root, name, func(ref index.FileRef) ([]byte, error) {
			data, err := w.Pinned(ctx, ref)
			if err == nil {
				keep(ref, data)
			}
			return data, err
		})
		if err != nil {
			return nil, err
		}
		sum := leaf.Find(name)
		if sum == nil {
			return nil, fmt.Errorf("%w: pack %s", ErrNotInSite, name)
		}
		shard, data, err := s.readShard(ctx, name, sum.Shard)
		if err != nil {
			return nil, err
		}
		keep(sum.Shard, data)
		for _, version := range only[name] {
			var r *index.Release
			for i := range shard.Releases {
				if shard.Releases[i].Version == version {
					r = &shard.Releases[i]
				}
			}
			if r == nil {
				return nil, fmt.Errorf("%w: %s@%s", ErrNotInSite, name, version)
			}
			rel, err := s.release(ctx, dest, name, r, nil) // air-gap checks each .sig over the archive it copies
			if err != nil {
				return nil, err
			}
			rels[rel] = r
			s.releases = append(s.releases, rel)
		}
	}
	return rels, nil
}
