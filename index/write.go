package index

import (
	"sort"
	"time"
)

// The writing half of the format: how releases become shards, shards
// become bucket summaries, summaries a bucket tree, and what a new
// root's serial and times are. The build stores the files (putting them
// in a stage or updating a site in place, signing the root); what they
// hold is decided here, beside the readers that check it.

// GroupShards groups releases into one shard per pack (nameOf names a
// release's pack), each sorted, the shards sorted by name.
func GroupShards(releases []Release, nameOf func(Release) string) []*Shard {
	byName := map[string]*Shard{}
	var names []string
	for _, r := range releases {
		name := nameOf(r)
		s := byName[name]
		if s == nil {
			s = &Shard{SchemaVersion: SchemaVersion, Name: name}
			byName[name] = s
			names = append(names, name)
		}
		s.Releases = append(s.Releases, r)
	}
	sort.Strings(names)
	out := make([]*Shard, len(names))
	for i, n := range names {
		out[i] = byName[n]
		out[i].Sort()
	}
	return out
}

// SummaryOf is the bucket entry of shard s stored at ref: what a catalogue
// or a search shows without reading the shard.
func SummaryOf(s *Shard, ref FileRef) Summary {
	sum := Summary{Name: s.Name, Shard: ref, Versions: len(s.Releases)}
	if latest := s.Latest(); latest != nil {
		sum.Layer, sum.DisplayName, sum.AddonType, sum.CloudTypes, sum.Latest = latest.Layer, latest.DisplayName, latest.AddonType, latest.CloudTypes, latest.Version
		sum.LatestState, _ = latest.RetiredState()
	}
	return sum
}

// PutFunc stores a file of the site and returns its ref.
type PutFunc func(path string, data []byte) (FileRef, error)

// WriteTree lays the summaries out as a bucket tree of the given shape
// (see ShapeFor) and stores every node through put: leaves first, then
// each level of interior nodes bottom-up. A node is content-addressed,
// so equal subtrees (every empty leaf, say) share one file, and a change
// to one pack rewrites only the nodes on its path. It returns the refs
// the root lists.
func WriteTree(sums []Summary, bits, depth int, put PutFunc) ([]FileRef, error) {
	if err := CheckShape(bits, depth); err != nil {
		return nil, err
	}
	// Leaves are indexed by all depth*bits bits of the name's path.
	leaves := make([]Bucket, 1<<(bits*depth))
	for i := range leaves {
		leaves[i] = Bucket{SchemaVersion: SchemaVersion, Packs: []Summary{}}
	}
	for _, s := range sums {
		b := &leaves[BucketOf(s.Name, bits*depth)]
		b.Packs = append(b.Packs, s)
	}
	refs := make([]FileRef, len(leaves))
	for i := range leaves {
		sortSummaries(leaves[i].Packs)
		ref, err := putNode(put, leaves[i])
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	for level := depth - 1; level >= 1; level-- {
		up := make([]FileRef, len(refs)>>bits)
		for i := range up {
			ref, err := putNode(put, Bucket{SchemaVersion: SchemaVersion, Buckets: refs[i<<bits : (i+1)<<bits]})
			if err != nil {
				return nil, err
			}
			up[i] = ref
		}
		refs = up
	}
	return refs, nil
}

func putNode(put PutFunc, b Bucket) (FileRef, error) {
	data, err := Encode(b)
	if err != nil {
		return FileRef{}, err
	}
	return put(BucketPath(Digest(data)), data)
}

// Stamp sets the root's time, expiry and serial for a build made at gen
// (truncated to the second) over the previous root prev (nil for none).
// The serial is gen's Unix time, and only grows: it is prev's plus one
// when time went backwards. A root with the same content and times as
// prev keeps prev's serial, so rebuilding the same gives the same bytes.
func (r *Root) Stamp(gen time.Time, expiresIn time.Duration, prev *Root) {
	gen = gen.UTC().Truncate(time.Second)
	r.GeneratedAt, r.Expires = gen, gen.Add(expiresIn)
	r.Serial = max(gen.Unix(), 1)
	if prev == nil {
		return
	}
	if r.SameContent(prev) && prev.GeneratedAt.Equal(r.GeneratedAt) && prev.Expires.Equal(r.Expires) {
		r.Serial, r.GeneratedAt, r.Expires = prev.Serial, prev.GeneratedAt, prev.Expires
	} else if r.Serial <= prev.Serial {
		r.Serial = prev.Serial + 1
	}
}

// SameContent reports whether two roots describe the same registry,
// ignoring the fields that only say when. The log counts: a key rotation
// built from the commit the live registry was built from changes only
// the log's key, and kept the live serial for other bytes, which every
// client that had seen the old index refuses as a rollback.
func (r *Root) SameContent(b *Root) bool {
	if r.Registry != b.Registry || r.Signed != b.Signed || r.Source != b.Source || r.Packs != b.Packs || r.Releases != b.Releases || r.BucketBits != b.BucketBits || r.Depth != b.Depth || len(r.Buckets) != len(b.Buckets) {
		return false
	}
	if (r.Log == nil) != (b.Log == nil) || r.Log != nil && *r.Log != *b.Log {
		return false
	}
	for i := range r.Buckets {
		if r.Buckets[i] != b.Buckets[i] {
			return false
		}
	}
	return true
}
