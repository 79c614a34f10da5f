// Package site writes the static HTML catalogue of a registry build: an
// index of packs grouped by layer with client-side search and filters, and
// a page per pack. Everything is rendered with html/template from embedded
// templates and assets, uses relative links only (so it works from file://
// and any bucket), and is byte-for-byte deterministic.
package site

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/siteassets"
	"github.com/packgen/packgen/pack/meta"
)

// The templates; the static assets are internal/siteassets', which
// knows their names for prune too.
//
//go:embed templates
var embedded embed.FS

// Files the catalogue owns in a site, relative to its root.
const (
	IndexFile   = "index.html"
	CatalogJSON = "catalog.json"
	CatalogJS   = siteassets.Dir + "/" + siteassets.CatalogJS
	assetsDir   = siteassets.Dir
	logoFile    = "logo.png"
	pageFile    = "index.html"
)

// pageVersion changes whenever the Go side of page rendering changes in a
// way the embedded files do not show; it is part of every reuse key.
const pageVersion = "site-5"

// Options tune Write.
type Options struct {
	// Previous is the directory of the previous build's site, if local.
	// A pack page (and the feed and logo it names) whose reuse key
	// matches, and whose bytes this machine wrote there (Cache's file
	// facts), is copied from there instead of re-reading the release
	// archive.
	Previous string
	// Jobs is how many packs are rendered at once; default GOMAXPROCS.
	Jobs int
	// Cache is a directory on the build machine (the build's
	// VerifiedDir) where the images found in each newest archive are
	// remembered by digest, and the digest of every catalogue file
	// written (fileFacts); "" finds the images again for every page
	// rendered, and reuses no page of Previous.
	Cache string
	// Images are the images the build found in the releases it
	// archived, by archive SHA-256 (build.Snapshot.Images): a newest
	// release among them is listed from its report, its charts not
	// rendered again. WriteOptions deletes each report from the map
	// once it has listed it, so that the memory goes as pages are made.
	Images map[string]*images.Report
	// Manifest is the previous build's catalogue manifest, verified by
	// the build (build.Snapshot.PreviousCatalogue: signed under a
	// trusted key for the previous index.json it verified): a page,
	// feed or logo of Previous it lists with those bytes may be reused
	// though Cache does not record it (a fresh CI runner).
	Manifest *index.Catalogue
	// Written, when set, receives every file of the catalogue written
	// (or, in place, kept), sorted by path: what a signing build lists
	// in its manifest (build.Snapshot.Catalogue).
	Written *[]index.FileRef
	// Stats, when set, receives what Write did.
	Stats *Stats
}

// Stats counts what one Write did, for tests and progress: a rebuild
// renders only the pages of packs that changed.
type Stats struct {
	Rendered int // pack pages rendered (their archives read)
	Reused   int // pack pages taken from the previous build
	// Unread counts the reused pages kept in place on their stat, their
	// files (page, feed, logo) not read (fileFacts).
	Unread int
	// ImagesFound counts newest releases whose images were found
	// (charts rendered); ImagesCached those taken from Options.Cache;
	// ImagesBuilt those the build found (Options.Images).
	ImagesFound, ImagesCached, ImagesBuilt int
	// Compared counts change views whose two archives were compared.
	Compared int
}

// Write renders the catalogue into dir, a staged registry directory that
// already holds the archives named by each shard. Pages are written
// straight into it, as nobody reads a stage; when dir is Options.Previous
// itself (a live site updated in place) each file is replaced atomically.
func Write(dir string, root *index.Root, shards []*index.Shard) error {
	return WriteOptions(dir, root, shards, Options{})
}

// WriteOptions is Write with options.
func WriteOptions(dir string, root *index.Root, shards []*index.Shard, o Options) error {
	if root == nil {
		return errors.New("catalogue: no root index")
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.GOMAXPROCS(0)
	}
	sorted := make([]*index.Shard, 0, len(shards))
	names := map[string]bool{}
	for _, s := range shards {
		if s == nil || len(s.Releases) == 0 || s.Latest() == nil {
			continue
		}
		if !meta.ValidName(s.Name) {
			return fmt.Errorf("catalogue: pack name %q is not a valid pack name", s.Name)
		}
		if names[s.Name] {
			return fmt.Errorf("catalogue: pack %s listed twice", s.Name)
		}
		names[s.Name] = true
		sorted = append(sorted, s)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	out, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	defer out.Close()
	g := &gen{dir: dir, out: out, links: newLinkFree(out), prev: o.Previous, root: root, names: names, repo: parseRepo(root.Source.Repo), inPlace: sameDir(dir, o.Previous)}
	g.key = templateKeyOnce()
	g.images = loadImageCache(o.Cache)
	g.facts = loadFileFacts(o.Cache)
	g.manifest = o.Manifest
	g.given = o.Images
	defer g.images.close()

	entries := make([]*entry, len(sorted))
	errs := make([]error, len(sorted))
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.Jobs)
	for i, s := range sorted {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, s *index.Shard) {
			defer wg.Done()
			defer func() { <-sem }()
			entries[i], errs[i] = g.packPage(s)
		}(i, s)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.Stats != nil {
		*o.Stats = g.stats()
	}
	// The image cache only saves work: a cache dir that cannot be
	// written leaves the next build to find the images again.
	_ = g.images.save()
	if err := g.writeIndex(entries); err != nil {
		return err
	}
	g.facts.save()
	if o.Written != nil {
		sort.Slice(g.files, func(i, j int) bool { return g.files[i].Path < g.files[j].Path })
		*o.Written = g.files
	}
	return nil
}

func (g *gen) stats() Stats {
	return Stats{Rendered: int(g.rendered.Load()), Reused: int(g.reused.Load()), Unread: int(g.unread.Load()),
		ImagesFound: int(g.found.Load()), ImagesCached: g.images.hits, ImagesBuilt: int(g.built.Load()),
		Compared: int(g.compared.Load())}
}

// writeIndex writes the assets, catalog.json, assets/catalog.js and the
// index page for the packs' entries.
func (g *gen) writeIndex(entries []*entry) error {
	if err := g.writeAssets(); err != nil {
		return err
	}
	js, err := catalogFiles(g.catalog(entries))
	if err != nil {
		return err
	}
	if err := g.writeFile(CatalogJSON, js.json); err != nil {
		return err
	}
	if err := g.writeFile(CatalogJS, js.js); err != nil {
		return err
	}
	feed, err := g.registryFeed(entries)
	if err != nil {
		return err
	}
	if err := g.writeFile(FeedFile, feed); err != nil {
		return err
	}
	page, err := g.indexPage(entries)
	if err != nil {
		return err
	}
	return g.writeFile(IndexFile, page)
}

// gen holds what every page of one build shares.
type gen struct {
	dir, prev string
	out       *os.Root // dir, opened: every write goes through it
	mu        sync.Mutex
	links     linkFree // in out, under mu
	root      *index.Root
	names     map[string]bool
	repo      *repoLink
	key       string
	inPlace   bool // dir is the previous site itself: reused files stay
	images    *imageCache
	facts     *fileFacts                // what this machine wrote: that is reused
	manifest  *index.Catalogue          // Options.Manifest: that too
	files     []index.FileRef           // every file of the catalogue (under mu)
	given     map[string]*images.Report // Options.Images, each dropped once taken (takeGiven)
	givenMu   sync.Mutex

	rendered, reused, unread, found, built, compared atomic.Int64
}

// entry is what the index page and catalog.json need about one pack.
type entry struct {
	Shard   *index.Shard
	Latest  *index.Release
	HasLogo bool
	feed    string // SHA-256 of the pack's feed written or kept: what registryFeed may read
}

func (e *entry) name() string { return e.Shard.Name }

var templateKeyOnce = sync.OnceValue(templateKey)

// templateKey digests everything embedded, the page policy and the
// Markdown library's version, so changing any of them invalidates every
// reusable page (changes to the Go rendering code bump pageVersion).
func templateKey() string {
	h := sha256.New()
	h.Write([]byte(pageVersion + "\x00" + csp + "\x00"))
	if bi, ok := debug.ReadBuildInfo(); ok {
		// A released or VCS-stamped packgen also invalidates pages made by
		// another build of it, in case pageVersion was not bumped.
		h.Write([]byte(bi.Main.Version + "\x00"))
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" || st.Key == "vcs.modified" {
				h.Write([]byte(st.Value + "\x00"))
			}
		}
		for _, m := range bi.Deps {
			if m.Path == "github.com/yuin/goldmark" {
				h.Write([]byte(m.Version + "\x00"))
			}
		}
	}
	// The assets under their site paths, then the templates: the digest
	// of when both were one embedded tree (assets/ sorts first).
	for _, tree := range []struct {
		fsys   fs.FS
		prefix string
	}{{siteassets.FS, assetsDir + "/"}, {embedded, ""}} {
		_ = fs.WalkDir(tree.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(tree.fsys, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", tree.prefix+p, len(b))
			h.Write(b)
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// reuseKey covers every input of a pack page: the templates, the shard
// (which pins the latest archive's digest), the registry's name and
// source repository (commit links), and which dependencies exist in this
// registry (they are linked only then).
func (g *gen) reuseKey(s *index.Shard) (string, error) {
	// encoding/json is deterministic (struct order, sorted map keys) and
	// much cheaper than index.Encode's canonical form; any stable
	// encoding of every field will do for a key.
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("catalogue: encode shard %s: %w", s.Name, err)
	}
	h := sha256.New()
	logKey := ""
	if g.root.Log != nil {
		logKey = g.root.Log.Key // named on the page, and changes only with the key
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", g.key, g.root.Registry, g.root.Source.Repo, logKey)
	h.Write(b)
	for _, d := range s.Latest().Dependencies {
		fmt.Fprintf(h, "\x00dep %s %t", d.PackName, g.names[d.PackName])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeFile writes a file of the catalogue: atomically when updating a
// live site in place, straight into a fresh staging dir, which nobody
// reads until the build swaps it in (a thousand pages fewer temp files
// and renames). Either way through the dir's os.Root, after a check for
// a link on the way (g.noLinks).
func (g *gen) writeFile(rel string, data []byte) error {
	_, err := g.writeSum(rel, data)
	return err
}

// writeSum is writeFile returning the file's SHA-256 (hex), for a
// caller that needs it too: the data is hashed once.
func (g *gen) writeSum(rel string, data []byte) (string, error) {
	name := filepath.FromSlash(rel)
	if err := g.noLinks(name, true); err != nil {
		return "", err
	}
	var err error
	if g.inPlace {
		err = atomicfile.WriteFileIn(g.out, name, data, 0o644)
	} else if err = g.out.WriteFile(name, data, 0o644); errors.Is(err, fs.ErrNotExist) {
		if err = g.out.MkdirAll(filepath.Dir(name), 0o755); err == nil {
			err = g.out.WriteFile(name, data, 0o644)
		}
	}
	if err != nil {
		return "", fmt.Errorf("catalogue: %w", err)
	}
	sha := index.Digest(data) // once, for the facts, the manifest and the caller
	g.facts.addSum(rel, sha)
	g.recordRef(index.FileRef{Path: rel, SHA256: sha, Size: int64(len(data))})
	return sha, nil
}

// recordRef lists a file of the catalogue for its manifest.
func (g *gen) recordRef(ref index.FileRef) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files = append(g.files, ref)
}

// vouchedSum says whether the bytes with SHA-256 sha and size bytes may
// be reused as the catalogue's file rel: this machine's packgen wrote
// them there (g.facts), or the previous build's verified manifest lists
// them (g.manifest).
func (g *gen) vouchedSum(rel, sha string, size int64) bool {
	if g.facts.hasSum(rel, sha) {
		return true
	}
	ref, ok := g.manifest.Find(rel)
	return ok && ref.SHA256 == sha && ref.Size == size
}

// The catalogue's dir is the out dir itself when the build updates it in
// place, and that dir is often shared (a web root, a GitOps checkout):
// whoever else can write it could swap assets/ or packs/NAME for a link
// to any directory after the build checked it, and the catalogue's
// files would land there. So every write goes through an os.Root of the
// dir (nothing resolves out of it), after safefile.LinkOnPath: a link on
// the way to a file, or at it, is refused with build.ErrOutLink naming
// it, even one pointing inside the dir. A fresh stage gets the same
// check; it costs an Lstat per file and one per new directory.

// noLinks refuses a symbolic link on the way to name (inside g.dir) or,
// with self, at name itself. Without self (a hard link to be made at
// name, which never goes through one there) a directory checked once is
// not checked again, so reusing a thousand pages costs a thousand Lstats
// at most.
func (g *gen) noLinks(name string, self bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	link, err := g.links.find(name, self)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	if link != "" {
		p := filepath.Join(g.dir, link)
		return build.OutLinkError(p, "the catalogue would write")
	}
	return nil
}

// linkFree finds symbolic links on the way to files inside an os.Root
// (safefile.LinkOnPath), each real directory checked once.
type linkFree struct {
	root *os.Root
	real map[string]bool // directories found not to be links
}

func newLinkFree(root *os.Root) linkFree { return linkFree{root, map[string]bool{}} }

// find returns the first link on the way to name or, with self, at
// name itself ("" for none). Without self (a file whose own Lstat the
// caller makes) a directory checked once is not checked again, so a
// thousand pages cost a thousand Lstats at most.
func (l linkFree) find(name string, self bool) (string, error) {
	parent := filepath.Dir(name)
	if !self && l.real[parent] {
		return "", nil
	}
	link, err := safefile.LinkOnPath(l.root, name, self, l.real)
	if err == nil && link == "" && !self {
		l.real[parent] = true
	}
	return link, err
}

// sameDir reports whether a and b are the same existing directory.
func sameDir(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func (g *gen) writeAssets() error {
	ents, err := siteassets.FS.ReadDir(".")
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := siteassets.FS.ReadFile(e.Name())
		if err != nil {
			return err
		}
		if err := g.writeFile(path.Join(assetsDir, e.Name()), b); err != nil {
			return err
		}
	}
	return nil
}

// packDir is where a pack's page and logo live, relative to the site.
func packDir(name string) string { return path.Join("packs", name) }

// PagePath is the path of a pack's page relative to the site root.
func PagePath(name string) string { return path.Join(packDir(name), pageFile) }

// keyMeta is how a page records its reuse key and the SHA-256 of the
// feed and logo ("-": none) made with it, near the top where reuse looks
// for it: a page is reused only with the very feed and logo of its own
// generation. Which bytes this machine wrote at a path is a fact of any
// generation (fileFacts), so an older generation's genuine feed put back
// beside a newer page (hiding a deprecation: attackV F1) would be vouched
// for on its own.
func keyMeta(key, feed, logo string) string {
	if logo == "" {
		logo = "-"
	}
	return key + " " + feed + " " + logo
}

// kept is one file of a previous build's catalogue proved reusable: its
// bytes, or, updating in place a file a stat found unchanged since this
// machine vouched for it (gen.statKept), only their digest and size.
type kept struct {
	data []byte // nil: known by its stat
	ref  index.FileRef
}

// reused is a previous build's page, feed and logo (nil: none), each
// proved to be bytes this machine wrote at its path: read once, or
// found unchanged by a stat.
type reused struct{ page, feed, logo *kept }

// reusable returns the previous build's files for this pack when its
// page has the same key and names its feed and logo, and every file it
// needs is bytes this machine's packgen wrote there (g.facts): a
// previous site is not trusted (a bucket synced to a dir, a CI cache, a
// shared out dir), and a page planted there keeping a valid key meta
// (its CSP removed, an inline script added), or an older generation's
// feed put back beside a newer page (attackV F1), must be rendered
// again, not signed into this build. safefile reads no link or FIFO
// (whose open would block); such a page is rendered again (and a link
// there then refused).
func (g *gen) reusable(name, key string) *reused {
	if g.prev == "" || (!g.facts.Enabled() && g.manifest == nil) {
		return nil // nothing could vouch for a page
	}
	// Updating in place, a pack whose page (carrying key: a "meta" fact),
	// feed and logo a stat finds as this machine vouched for them keeps
	// them unread; a stage needs the bytes.
	if g.inPlace {
		if r := g.keptFiles(name, key, g.statKept, func(page *kept, meta string) bool {
			return g.facts.Has(metaFact(meta, page.ref.SHA256))
		}); r != nil {
			g.unread.Add(1)
			return r
		}
	}
	return g.keptFiles(name, key, g.readKept, func(page *kept, meta string) bool {
		head := page.data[:min(len(page.data), 1024)]
		if !bytes.Contains(head, []byte(`<meta name="packgen-page" content="`+meta+`">`)) {
			return false
		}
		if g.facts.Enabled() {
			g.facts.Add(metaFact(meta, page.ref.SHA256))
		}
		return true
	})
}

// keptFiles returns a pack's page, feed and logo as get finds them (nil: not
// reusable) when the page carries (its reuse key meta) key and the
// digests of that feed and of that logo or none.
func (g *gen) keptFiles(name, key string, get func(rel string) *kept, carries func(page *kept, meta string) bool) *reused {
	page := get(PagePath(name))
	if page == nil {
		return nil
	}
	r := &reused{page: page, feed: get(path.Join(packDir(name), FeedFile))}
	if r.feed == nil {
		return nil
	}
	if carries(page, keyMeta(key, r.feed.ref.SHA256, "")) {
		return r
	}
	r.logo = get(path.Join(packDir(name), logoFile))
	if r.logo == nil || r.logo.ref.Size > maxLogo || !carries(page, keyMeta(key, r.feed.ref.SHA256, r.logo.ref.SHA256)) {
		return nil
	}
	return r
}

// readKept reads the previous build's file rel when vouched for
// (readVouched), and remembers its stat for the next build (nil when it
// may not be reused).
func (g *gen) readKept(rel string) *kept {
	data, sha := g.facts.read(g.prev, rel, g.vouchedSum)
	if data == nil {
		return nil
	}
	return &kept{data: data, ref: index.FileRef{Path: rel, SHA256: sha, Size: int64(len(data))}}
}

// statKept returns the previous build's file rel, unread, when its stat
// (not following a link) is one remembered for bytes that are vouched
// for at rel (nil otherwise).
func (g *gen) statKept(rel string) *kept {
	sha, size := g.facts.unchanged(g.prev, rel)
	if sha == "" || !g.vouchedSum(rel, sha, size) {
		return nil
	}
	return &kept{ref: index.FileRef{Path: rel, SHA256: sha, Size: size}}
}

// maxReused bounds a previous build's page, feed or logo read for
// reuse: far above any page packgen writes.
const maxReused = 64 << 20

// reuse places a previous build's file, proved reusable, into the
// stage. The bytes checked are the bytes written: a hard link would
// share the file with a previous site others can write.
func (g *gen) reuse(k *kept) error {
	if g.inPlace {
		g.facts.addSum(k.ref.Path, k.ref.SHA256)
		g.recordRef(k.ref)
		return nil // already there
	}
	return g.writeFile(k.ref.Path, k.data)
}

// packPage renders (or reuses) one pack's page and logo.
func (g *gen) packPage(s *index.Shard) (*entry, error) {
	e := &entry{Shard: s, Latest: s.Latest()}
	key, err := g.reuseKey(s)
	if err != nil {
		return nil, err
	}
	if r := g.reusable(s.Name, key); r != nil {
		if r.logo != nil {
			e.HasLogo = true
			if err := g.reuse(r.logo); err != nil {
				return nil, err
			}
		}
		if err := g.reuse(r.feed); err != nil {
			return nil, err
		}
		e.feed = r.feed.ref.SHA256
		g.reused.Add(1)
		return e, g.reuse(r.page)
	}
	g.rendered.Add(1)
	files, err := g.readNewest(s.Name, e.Latest)
	if err != nil {
		return nil, fmt.Errorf("catalogue: pack %s@%s: %w", s.Name, e.Latest.Version, err)
	}
	logo := ""
	if files.logo != nil {
		e.HasLogo = true
		if logo, err = g.writeSum(path.Join(packDir(s.Name), logoFile), files.logo); err != nil {
			return nil, err
		}
	}
	d, err := g.packPageData(e, files)
	if err != nil {
		return nil, fmt.Errorf("catalogue: pack %s: %w", s.Name, err)
	}
	feed, err := g.packFeed(s, d.Changes)
	if err != nil {
		return nil, err
	}
	if e.feed, err = g.writeSum(path.Join(packDir(s.Name), FeedFile), feed); err != nil {
		return nil, err
	}
	d.Meta = keyMeta(key, e.feed, logo)
	page := pageBufs.Get().(*bytes.Buffer)
	page.Reset()
	defer pageBufs.Put(page)
	if err := tmpl().ExecuteTemplate(page, "pack.html", d); err != nil {
		return nil, fmt.Errorf("catalogue: pack %s: %w", s.Name, err)
	}
	sha, err := g.writeSum(PagePath(s.Name), page.Bytes())
	if err != nil {
		return nil, err
	}
	if g.facts.Enabled() {
		// What the next build looks for beside the stats of the page, feed and logo (statKept).
		g.facts.Add(metaFact(d.Meta, sha))
	}
	return e, nil
}

// pageBufs keeps page buffers from one page to the next: a page is tens
// of KB, and growing a new buffer to its size for every page of a cold
// build was a sixth of what the catalogue allocated, and collected.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// groupOf names the index section a pack belongs to, and its sort rank.
func groupOf(r *index.Release) (string, int) {
	switch meta.Layer(r.Layer) {
	case meta.LayerOS:
		return "Operating systems", 0
	case meta.LayerK8s:
		return "Kubernetes", 1
	case meta.LayerCNI:
		return "Networking (CNI)", 2
	case meta.LayerCSI:
		return "Storage (CSI)", 3
	}
	t := addonType(r.AddonType)
	if t == "" {
		return "Add-ons", 5
	}
	return "Add-ons: " + t, 4
}

// addonType normalises an add-on type for grouping: packs write the same
// type as "app services", "App-Services" or "app_services".
func addonType(t string) string {
	t = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return ' '
		}
		return r
	}, strings.ToLower(t))
	return strings.Join(strings.Fields(t), " ")
}

// layerLabel is a short human name for a layer.
func layerLabel(l string) string {
	switch meta.Layer(l) {
	case meta.LayerOS:
		return "OS"
	case meta.LayerK8s:
		return "Kubernetes"
	case meta.LayerCNI:
		return "CNI"
	case meta.LayerCSI:
		return "CSI"
	case meta.LayerAddon:
		return "Add-on"
	}
	return l
}
