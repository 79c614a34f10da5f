package index

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/packgen/packgen/pack/meta"
)

// An air-gapped registry (packgen airgap import) holds some releases of
// a registry under that registry's own signed index.json: the root and
// every file on the way to the bundled packs are the source's, so its
// signature still verifies, and nobody on the air-gapped side holds the
// key to sign a smaller index. The rest of the signed tree (other
// packs' buckets and shards, other versions' archives) is absent by
// design. AirgapFile says which releases import put there, so readers
// can show what is actually available and tell "not in the bundle" from
// "missing".
//
// Nothing signs it: import runs without the registry's key. So it can
// only narrow what readers offer (never a byte they use: every file they
// read is still checked against the signed index), and verify --site
// does not accept an absence on its word alone (docs/SECURITY.md).

// AirgapFile is the site path of the air-gapped subset's marker.
const AirgapFile = "airgap.json"

// MaxAirgapSize bounds the marker.
const MaxAirgapSize = 16 << 20

// Airgap is the marker of an air-gapped subset: the bundles imported,
// each with the releases it carried.
type Airgap struct {
	SchemaVersion int             `json:"schemaVersion"`
	Bundles       []AirgapBundle  `json:"bundles"`
	present       map[string]bool // name@version
	packs         map[string]bool
}

// AirgapBundle is one imported bundle: its list digest (the one
// `packgen airgap export` printed) and its releases, sorted; Manifest
// and Listing are the bytes of its list manifest (whose digest List is)
// and of the list, so that what the marker claims can be checked
// against the digest the operator compares (verify --site,
// airgap/list.Bound). Markers written before them lack both.
type AirgapBundle struct {
	List     string          `json:"list"`
	Manifest []byte          `json:"manifest,omitempty"`
	Listing  []byte          `json:"listing,omitempty"`
	Releases []AirgapRelease `json:"releases"`
}

// AirgapRelease names a release a bundle carried.
type AirgapRelease struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ParseAirgap reads a marker strictly: canonical fields, valid names,
// versions and digests, no bundle twice.
func ParseAirgap(data []byte) (*Airgap, error) {
	var a Airgap
	if err := decodeFile(AirgapFile, data, MaxAirgapSize, &a, &a.SchemaVersion); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, b := range a.Bundles {
		if hex, ok := strings.CutPrefix(b.List, "sha256:"); !ok || !isHex64(hex) {
			return nil, fmt.Errorf("%w: %s: bundle list %q is not a sha256 digest", ErrFormat, AirgapFile, b.List)
		}
		if seen[b.List] {
			return nil, fmt.Errorf("%w: %s: bundle %s is listed twice", ErrFormat, AirgapFile, b.List)
		}
		seen[b.List] = true
		if (b.Manifest == nil) != (b.Listing == nil) {
			return nil, fmt.Errorf("%w: %s: bundle %s has a list manifest or a list, not both", ErrFormat, AirgapFile, b.List)
		}
		for _, r := range b.Releases {
			if !meta.ValidName(r.Name) || !ValidVersionPath(r.Version) {
				return nil, fmt.Errorf("%w: %s: release %q@%q is not a pack name and version", ErrFormat, AirgapFile, r.Name, r.Version)
			}
		}
	}
	a.index()
	return &a, nil
}

// NewAirgap makes a marker of bundles (sorted by list digest, each
// bundle's releases sorted), as import writes it.
func NewAirgap(bundles ...AirgapBundle) *Airgap {
	a := &Airgap{SchemaVersion: SchemaVersion}
	byList := map[string]AirgapBundle{}
	for _, b := range bundles {
		byList[b.List] = b
	}
	for _, b := range byList {
		rels := append([]AirgapRelease(nil), b.Releases...)
		sort.Slice(rels, func(i, j int) bool {
			return rels[i].Name < rels[j].Name || rels[i].Name == rels[j].Name && rels[i].Version < rels[j].Version
		})
		b.Releases = rels
		a.Bundles = append(a.Bundles, b)
	}
	sort.Slice(a.Bundles, func(i, j int) bool { return a.Bundles[i].List < a.Bundles[j].List })
	if a.Bundles == nil {
		a.Bundles = []AirgapBundle{}
	}
	a.index()
	return a
}

func (a *Airgap) index() {
	a.present, a.packs = map[string]bool{}, map[string]bool{}
	for _, b := range a.Bundles {
		for _, r := range b.Releases {
			a.present[r.Name+"@"+r.Version] = true
			a.packs[r.Name] = true
		}
	}
}

// Has reports whether the subset holds name@version (as the shard
// writes the version).
func (a *Airgap) Has(name, version string) bool { return a.present[name+"@"+version] }

// HasPack reports whether the subset holds some release of name.
func (a *Airgap) HasPack(name string) bool { return a.packs[name] }

// Lists are the bundles' list digests, sorted.
func (a *Airgap) Lists() []string {
	out := make([]string, len(a.Bundles))
	for i, b := range a.Bundles {
		out[i] = b.List
	}
	return out
}

// Present narrows a verified shard to the releases the subset holds,
// returning them (a new shard) and the versions it leaves out.
func (a *Airgap) Present(s *Shard) (*Shard, []string) {
	out := *s
	out.Releases = nil
	var absent []string
	for _, r := range s.Releases {
		if a.Has(s.Name, r.Version) {
			out.Releases = append(out.Releases, r)
		} else {
			absent = append(absent, r.Version)
		}
	}
	return &out, absent
}

// StatFunc says whether a file the signed index pins is there: nil when
// it is, an error wrapping ErrNotFound when it is not, another when it
// cannot tell (transport.Stat). It checks no byte.
type StatFunc func(ctx context.Context, ref FileRef) error

// Holds says whether release r of pack name is there. The marker is
// unsigned: it may explain an absence, never cause one (whoever may
// push one tag could otherwise hide the newest release of a whole
// registry). So a release it leaves out is asked for (its archive, one
// stat) and is there all the same when found: wrong says so (warn with
// MarkerWrong). A stat that cannot tell is an error: falling back on
// the marker's word is what it must not cause.
func (a *Airgap) Holds(ctx context.Context, stat StatFunc, name string, r *Release) (held, wrong bool, err error) {
	if a.Has(name, r.Version) {
		return true, false, nil
	}
	switch err := stat(ctx, r.Archive); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, ErrNotFound):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%s says %s@%s is not here, and asking for it failed: %w", AirgapFile, name, r.Version, err)
	}
}

// MarkerWrong is the warning for a release the marker of registry reg
// leaves out that is there (Holds' wrong); doing says what the reader
// does with it ("using it"; "showing it" in list and info).
func MarkerWrong(reg, name, version, doing string) string {
	return fmt.Sprintf("registry %s: %s says %s@%s is not here, but it is: %s. The marker is unsigned and names what an air-gapped import carried; on a registry that is not an air-gapped subset it is someone else's doing (remove the %s tag or file)", reg, AirgapFile, name, version, doing, AirgapFile)
}

// PresentHeld narrows a verified shard to the releases that are there by
// Holds (the marker's, and those it leaves out that are there all the
// same: wrong), returning them (a new shard) and the versions absent.
// One stat per release the marker leaves out.
func (a *Airgap) PresentHeld(ctx context.Context, stat StatFunc, s *Shard) (present *Shard, absent, wrong []string, err error) {
	out := *s
	out.Releases = nil
	for i := range s.Releases {
		held, w, err := a.Holds(ctx, stat, s.Name, &s.Releases[i])
		switch {
		case err != nil:
			return nil, nil, nil, err
		case !held:
			absent = append(absent, s.Releases[i].Version)
			continue
		case w:
			wrong = append(wrong, s.Name+"@"+s.Releases[i].Version)
		}
		out.Releases = append(out.Releases, s.Releases[i])
	}
	return &out, absent, wrong, nil
}

// Summarize is a summary of the releases of shard (narrowed by Present)
// in place of the signed one's latest version, its state and count, as
// the build's SummaryOf has them.
func Summarize(s Summary, shard *Shard) Summary {
	n := SummaryOf(shard, s.Shard)
	s.Versions, s.Latest, s.LatestState = n.Versions, n.Latest, n.LatestState
	return s
}

// Encode is the marker's canonical bytes.
func (a *Airgap) Encode() ([]byte, error) { return Encode(a) }

// String names the bundles, for messages.
func (a *Airgap) String() string {
	return "bundle list " + strings.Join(a.Lists(), ", ")
}

// ErrNotInBundle marks a pack or release the signed index of an
// air-gapped registry lists (or may list) but none of its bundles
// carried; it is ErrNotFound too.
var ErrNotInBundle = fmt.Errorf("%w in this air-gapped registry", ErrNotFound)

// NotInBundle is the error for what (a pack, NAME@VERSION) an air-gapped
// registry does not hold; listed says its signed index lists it (else
// the bucket that would tell is not there either).
func NotInBundle(what string, listed bool, air *Airgap) error {
	why := "its signed index lists it, but no bundle imported there carried it"
	if !listed {
		why = "no bundle imported there carried it, and whether its source registry has it cannot be told here"
	}
	return &notInBundle{fmt.Sprintf("%s is not in this air-gapped registry: %s (%s); export it outside with `packgen airgap export` (a lock naming it) and import that bundle", what, why, air)}
}

type notInBundle struct{ msg string }

func (e *notInBundle) Error() string { return e.msg }
func (e *notInBundle) Is(target error) bool {
	return target == ErrNotInBundle || target == ErrNotFound
}

// ReadAirgap reads a site's marker; nil, nil for a site without one (a
// whole registry). Every error names AirgapFile (a fetch's is wrapped
// with it: an oci:// registry's names its tag). The one read of it:
// ReadCatalogOf, ReadPackOf, the client's, verify --site's and airgap
// import's of the marker an earlier import wrote.
func ReadAirgap(ctx context.Context, fetch FetchFunc) (*Airgap, error) {
	data, err := fetch(ctx, AirgapFile, MaxAirgapSize)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AirgapFile, err)
	}
	return ParseAirgap(data)
}

// Catalog is a registry's catalogue as ReadCatalogOf read it.
type Catalog struct {
	Root     *Root
	RootData []byte
	Packs    []Summary // sorted by name
	// Airgap is an air-gapped subset's marker (nil: a whole registry);
	// Packs then holds the packs present, each summarised by its
	// releases present, and Absent* count what the signed index lists
	// beyond them.
	Airgap                      *Airgap
	AbsentPacks, AbsentReleases int
	// AirgapErr is why a marker there did not read (the catalogue is
	// then the whole registry's, as read).
	AirgapErr error
	// Wrong are the releases (name@version) the marker leaves out that
	// are there all the same, and so listed (Holds): warn with
	// MarkerWrong.
	Wrong []string
}

// ReadCatalogOf is ReadCatalog that copes with an air-gapped subset: when
// a bucket is not found (or at once, with eager: an oci:// registry,
// where import writes the marker), the marker is read, and with one the
// catalogue is the subset's (SubsetCatalog).
func ReadCatalogOf(ctx context.Context, fetch FetchFunc, stat StatFunc, eager bool) (*Catalog, error) {
	data, err := fetch(ctx, RootFile, MaxRootSize)
	if err != nil {
		return nil, err
	}
	root, err := ParseRoot(data)
	if err != nil {
		return nil, err
	}
	get := func(ref FileRef) ([]byte, error) { return FetchPinned(ctx, fetch, ref) }
	var all []Summary
	err = WalkBuckets(root, get, func(_ FileRef, b *Bucket, err error) error {
		if err != nil {
			return err
		}
		all = append(all, b.Packs...)
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) || err == nil && !eager {
		if err != nil {
			return nil, err
		}
		sortSummaries(all)
		return &Catalog{Root: root, RootData: data, Packs: all}, nil
	}
	air, aerr := ReadAirgap(ctx, fetch)
	switch {
	case air == nil && err != nil:
		return nil, err // a marker that does not read excuses nothing
	case air == nil:
		sortSummaries(all)
		return &Catalog{Root: root, RootData: data, Packs: all, AirgapErr: aerr}, nil
	}
	c := &Catalog{Root: root, RootData: data, Airgap: air}
	if c.Packs, c.AbsentPacks, c.AbsentReleases, c.Wrong, err = SubsetCatalog(ctx, root, air, get, stat); err != nil {
		return nil, err
	}
	return c, nil
}

// SubsetCatalog lists an air-gapped subset: the packs of the buckets
// present (get returns ErrNotFound for the others) whose shard is
// there (read through get, verified), each summarised by its releases
// there (PresentHeld: the marker's, and those it leaves out that stat
// finds, wrong), sorted by name; and how many packs and releases the
// signed root counts beyond them. A pack the marker does not name is
// asked for all the same (its shard: one request), as the marker may
// explain an absence, never cause one.
func SubsetCatalog(ctx context.Context, root *Root, air *Airgap, get func(ref FileRef) ([]byte, error), stat StatFunc) (packs []Summary, absentPacks, absentReleases int, wrong []string, err error) {
	var listed []Summary
	err = WalkBuckets(root, func(ref FileRef) ([]byte, error) {
		data, err := get(ref)
		if errors.Is(err, ErrNotFound) {
			return nil, SkipNode // no bundle carried a pack below it
		}
		return data, err
	}, func(_ FileRef, b *Bucket, err error) error {
		if err != nil {
			return err
		}
		listed = append(listed, b.Packs...)
		return nil
	})
	if err != nil {
		return nil, 0, 0, nil, err
	}
	packs = []Summary{}
	releases := 0
	for _, s := range listed {
		data, err := get(s.Shard)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, 0, nil, err
		}
		shard, err := ParseShard(data, s.Name)
		if err != nil {
			return nil, 0, 0, nil, err
		}
		present, _, w, err := air.PresentHeld(ctx, stat, shard)
		if err != nil {
			return nil, 0, 0, nil, err
		}
		wrong = append(wrong, w...)
		if len(present.Releases) == 0 {
			continue
		}
		releases += len(present.Releases)
		packs = append(packs, Summarize(s, present))
	}
	sortSummaries(packs)
	sort.Strings(wrong)
	return packs, max(root.Packs-len(packs), 0), max(root.Releases-releases, 0), wrong, nil
}

// ReadPackOf reads one pack's summary and shard, coping with an
// air-gapped subset as ReadCatalogOf does: of one, the shard holds the
// releases there only (PresentHeld: wrong, those the marker leaves out
// that are there all the same), absent the versions left out, and a
// pack of which nothing is there is ErrNotInBundle. air is nil for a
// whole registry.
func ReadPackOf(ctx context.Context, fetch FetchFunc, stat StatFunc, root *Root, name string, eager bool) (sum *Summary, shard *Shard, air *Airgap, absent, wrong []string, err error) {
	sum, err = Lookup(ctx, fetch, root, name)
	if err == nil && sum != nil {
		shard, err = ReadShard(ctx, fetch, *sum)
	}
	notFound := err == nil && sum == nil || errors.Is(err, ErrNotFound)
	if err != nil && !notFound || !notFound && !eager {
		return sum, shard, nil, nil, nil, err
	}
	air, _ = ReadAirgap(ctx, fetch) // one that does not read: none (it only narrows)
	switch {
	case air == nil || err == nil && sum == nil:
		return sum, shard, air, nil, nil, err // nil, nil: its bucket is here and does not list it
	case sum == nil:
		return nil, nil, air, nil, nil, NotInBundle("pack "+name, false, air)
	case err != nil:
		return nil, nil, air, nil, nil, NotInBundle("pack "+name, true, air)
	}
	if shard, absent, wrong, err = air.PresentHeld(ctx, stat, shard); err != nil {
		return nil, nil, air, nil, nil, err
	}
	if len(shard.Releases) == 0 {
		return nil, nil, air, nil, nil, NotInBundle("pack "+name, true, air)
	}
	s := Summarize(*sum, shard)
	return &s, shard, air, absent, wrong, nil
}

// SubsetWarning says what an air-gapped registry named reg lacks (which,
// when set, names the releases), "" when nothing is absent.
func SubsetWarning(reg string, air *Airgap, packs, releases int, which string) string {
	if packs <= 0 && releases <= 0 {
		return ""
	}
	if which != "" {
		which = " (" + which + ")"
	}
	return fmt.Sprintf("registry %s is an air-gapped subset (%s): %d pack(s) and %d release(s) its signed index lists are not here%s, as no bundle imported there carried them; export them with `packgen airgap export` to use them here",
		reg, air, max(packs, 0), max(releases, 0), which)
}
