package pack

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/packgen/packgen/internal/privkey"
	"github.com/packgen/packgen/pack/meta"
)

// Well-known files of a pack.
const (
	ManifestFile = "pack.json"
	ValuesFile   = "values.yaml"
	LogoFile     = "logo.png"
	ReadmeFile   = "README.md"
	SchemaFile   = "schema.yaml"
	PresetsFile  = "presets.yaml"
	ManifestsDir = "manifests"
	ChartsDir    = "charts"
)

// Limits bound what a pack may hold, so a hostile or broken tree cannot
// exhaust memory or disk.
type Limits struct {
	MaxFileSize  int64 // any single file
	MaxPackSize  int64 // all files together
	MaxFiles     int   // number of entries
	MaxYAMLSize  int64 // values.yaml, manifests and other YAML read whole
	MaxLogoSize  int64
	MaxLogoPixel int // width or height
	// Rendering a pack's templated manifests, all together: steps
	// (function calls and template bodies entered) and wall time. Zero
	// means the default.
	MaxRenderSteps int
	MaxRenderTime  time.Duration
}

// DefaultLimits are generous for real packs (charts of tens of MB) and
// still stop sparse multi-GB files and zip bombs.
var DefaultLimits = Limits{
	MaxFileSize:  256 << 20,
	MaxPackSize:  1 << 30,
	MaxFiles:     20000,
	MaxYAMLSize:  16 << 20,
	MaxLogoSize:  2 << 20,
	MaxLogoPixel: 4096,
}

// Options tune Load.
type Options struct {
	// Prefix is prepended to file names in problems, so they read as
	// paths the user recognises (e.g. "examples/packs/calico-3.26.0").
	Prefix string
	Limits Limits
	// ListOnly reads the file list (with the ignore rules) and pack.json
	// (with pack.json's own checks) and skips the checks of every other
	// file: for a release the build has already validated, whose images
	// the catalogue lists (images.Accepted). The Pack is the one a full
	// Load returns.
	ListOnly bool
	// RefuseKeys makes a file named like a key that holds a PEM private
	// key an error (package privkey): validate's rule, so the PR check
	// refuses what the build of the commit refuses (gitsafe checks the
	// built ref's whole tree). The build and rebuild leave it off: a
	// release of history published before is not judged again.
	RefuseKeys bool
	// Keep keeps on the Pack what validation read that the image check
	// reads again (values.yaml's tree and its template values, the
	// rendered manifests, each chart archive's tar as validation
	// inflated it, up to storedgz.MaxTar in all): ValuesAndManifests then
	// parses and renders nothing twice, and the chart renderer gets the
	// tar inflated (KeptChart). For a caller that checks the pack's
	// images next and lets the Pack go, or drops what it kept (DropKept):
	// the build, validate, one release at a time; a caller that holds
	// many Packs leaves it off.
	Keep bool
	// KeepChart, with Keep, is asked before each chart archive is
	// inflated whether its tar is wanted, given the archive's SHA-256 and
	// values.yaml's template values: false when the renderer will not
	// read it (the build's render memo already holds what the chart
	// renders to: images.ReleaseMemo.KeepChart), so validation inflates
	// it to check it, as always, and keeps no copy (KeptChart then returns
	// the archive's SHA-256 alone). nil: every chart is kept, within the
	// bound.
	KeepChart func(archiveSum [sha256.Size]byte, values map[string]any) bool
}

// File is one entry of a pack, as it will be archived.
type File struct {
	Path string      // slash-separated, relative to the pack root
	Mode fs.FileMode // fs.ModeDir, fs.ModeSymlink, or a regular file's permission bits
	Size int64
	Link string // symlink target, relative
}

// IsDir reports whether the entry is a directory.
func (f File) IsDir() bool { return f.Mode&fs.ModeDir != 0 }

// IsSymlink reports whether the entry is a symbolic link.
func (f File) IsSymlink() bool { return f.Mode&fs.ModeSymlink != 0 }

// Pack is one release of a pack: its manifest and the files it holds.
type Pack struct {
	FS       fs.FS  // where the files live
	Dir      string // the pack root within FS ("." for the root)
	Manifest *meta.Manifest
	Version  *semver.Version
	Files    []File // sorted by Path, ignored files excluded
	// kept is what Load read for ValuesAndManifests (Options.Keep), on
	// a pack without errors; nil otherwise.
	kept *kept
}

// kept is what validation read of a pack that ValuesAndManifests
// returns, read within lim.
type kept struct {
	lim       Limits
	valuesDoc *yaml.Node
	values    map[string]any
	manifests []RenderedManifest
	charts    map[string]keptChart // by path
}

// keptChart is a chart archive as KeptChart returns it.
type keptChart struct {
	gz  []byte            // the tar, in stored blocks
	sum [sha256.Size]byte // the archive's SHA-256
}

// KeptChart is the chart archive at rel (a file charts/*.tgz) as the
// Load that kept it (Options.Keep) inflated it to check it: a gzip
// stream of stored blocks of the same tar up to its end (storedgz),
// which the chart renderer reads without inflating it again; nil when
// not kept (read the file). archiveSum is the SHA-256 of the archive
// itself, which the kept stream is a function of: what identifies the
// chart rendered (images keys its render memo with it), whether it was
// kept or not. A chart Options.KeepChart declined is nil with its
// archiveSum (zero for any other chart not kept): its rendering is
// known by that sum, and the file need not be read.
func (p *Pack) KeptChart(rel string) (gz []byte, archiveSum [sha256.Size]byte) {
	if p.kept == nil {
		return nil, archiveSum
	}
	c := p.kept.charts[rel]
	return c.gz, c.sum
}

// DropKept lets go of what Load kept (Options.Keep), once the image
// check has read it: a caller that goes on with the Pack (the build
// writes its archive) then holds none of it. ValuesAndManifests reads
// the files again; KeptChart returns nil.
func (p *Pack) DropKept() { p.kept = nil }

// Name returns the manifest's name, or "" when the manifest is unreadable.
func (p *Pack) Name() string {
	if p.Manifest == nil {
		return ""
	}
	return p.Manifest.Name
}

// Has reports whether the pack holds a regular file at rel.
func (p *Pack) Has(rel string) bool {
	_, ok := p.file(rel)
	return ok
}

func (p *Pack) file(rel string) (File, bool) {
	i := sort.Search(len(p.Files), func(i int) bool { return p.Files[i].Path >= rel })
	if i < len(p.Files) && p.Files[i].Path == rel {
		return p.Files[i], true
	}
	return File{}, false
}

// Open opens a file of the pack by its pack-relative path.
func (p *Pack) Open(rel string) (fs.File, error) {
	return p.FS.Open(path.Join(p.Dir, rel))
}

// Load reads and validates the pack rooted at dir in fsys. It always
// returns what it could read, with every problem found; the pack is
// usable only when the problems hold no error.
func Load(fsys fs.FS, dir string, opts Options) (*Pack, meta.Problems) {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	v := &validator{fsys: fsys, dir: path.Clean(dir), opts: opts}
	v.pack = &Pack{FS: fsys, Dir: v.dir}
	v.run()
	v.problems.Sort()
	if opts.Keep && !opts.ListOnly && !v.problems.HasErrors() {
		v.pack.kept = &kept{lim: opts.Limits, valuesDoc: v.valuesDoc, values: v.templateValues(), manifests: v.manifests, charts: v.charts}
	}
	return v.pack, v.problems
}

type validator struct {
	fsys     fs.FS
	dir      string
	opts     Options
	pack     *Pack
	problems meta.Problems
	// values.yaml's top mapping, and what it decodes to for templates.
	valuesDoc *yaml.Node
	values    map[string]any
	render    *renderBudget // shared by the pack's templated manifests
	// manifests are the manifests as checkManifests read or rendered
	// them, in manifestPaths' order (complete when no error was found);
	// charts the chart archives' tar streams (Options.Keep), chartBytes
	// the memory they hold (their capacity: a trailer that over-states
	// the tar would leave more held than written), within
	// storedgz.MaxTar in all.
	manifests  []RenderedManifest
	charts     map[string]keptChart
	chartBytes int
}

// display returns the name of a pack file as shown in problems.
func (v *validator) display(rel string) string {
	return path.Join(v.opts.Prefix, rel)
}

func (v *validator) add(rel string, sev meta.Severity, line, col int, format string, args ...any) {
	v.problems = append(v.problems, meta.Problem{File: v.display(rel), Line: line, Col: col, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) merge(ps meta.Problems) { v.problems = append(v.problems, ps...) }

func (v *validator) full(rel string) string { return path.Join(v.dir, rel) }

func (v *validator) run() {
	ig := &Ignorer{}
	if data, err := v.readSmall(IgnoreFile, 1<<20); err == nil {
		ig = ParseIgnore(data)
	}
	v.walk(ig)

	mf, ok := v.pack.file(ManifestFile)
	if !ok || !mf.Mode.IsRegular() {
		v.add(ManifestFile, meta.SevError, 0, 0, "missing pack.json: every pack needs one (see `packgen new`)")
	} else if data, err := v.readSmall(ManifestFile, 1<<20); err != nil {
		v.add(ManifestFile, meta.SevError, 0, 0, "%v", err)
	} else {
		m, ps := ParseManifest(v.display(ManifestFile), data)
		v.merge(ps)
		v.pack.Manifest = m
		if m != nil {
			v.pack.Version, _ = semver.NewVersion(m.Version)
			v.checkReferences(m)
		}
	}
	if v.opts.ListOnly {
		return
	}
	if v.opts.RefuseKeys {
		v.checkPrivateKeys()
	}
	v.checkValues()
	v.checkOptionalYAML()
	v.checkLogo()
	v.checkManifests()
	v.checkCharts()
	v.checkReadme()
}

// walk lists the pack's files, applying ignore rules and refusing what
// cannot be archived safely: links leaving the pack, devices, pipes, huge files.
func (v *validator) walk(ig *Ignorer) {
	var total int64
	count := 0
	err := fs.WalkDir(v.fsys, v.dir, func(p string, d fs.DirEntry, err error) error {
		rel := relTo(v.dir, p)
		if err != nil {
			v.add(rel, meta.SevError, 0, 0, "cannot read: %v", unwrapPathError(err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel == "." {
			return nil
		}
		isDir := d.IsDir()
		if ig.Ignored(rel, isDir) {
			if isDir {
				return fs.SkipDir
			}
			return nil
		}
		count++
		if count > v.opts.Limits.MaxFiles {
			v.add(".", meta.SevError, 0, 0, "pack holds more than %d files: split it or exclude files with %s", v.opts.Limits.MaxFiles, IgnoreFile)
			return fs.SkipAll
		}
		if msg := badName(path.Base(rel)); msg != "" {
			v.add(rel, meta.SevError, 0, 0, "%s", msg)
		}
		t := d.Type()
		switch {
		case isDir:
			v.pack.Files = append(v.pack.Files, File{Path: rel, Mode: fs.ModeDir | 0o755})
		case t&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(v.fsys, p)
			if err != nil {
				v.add(rel, meta.SevError, 0, 0, "cannot read symlink: %v", unwrapPathError(err))
				return nil
			}
			if msg := linkEscapes(rel, target); msg != "" {
				v.add(rel, meta.SevError, 0, 0, "symlink to %q %s: copy the file into the pack instead", target, msg)
				return nil
			}
			v.pack.Files = append(v.pack.Files, File{Path: rel, Mode: fs.ModeSymlink | 0o777, Link: target})
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				v.add(rel, meta.SevError, 0, 0, "cannot stat: %v", unwrapPathError(err))
				return nil
			}
			if info.Size() > v.opts.Limits.MaxFileSize {
				v.add(rel, meta.SevError, 0, 0, "file is %s, larger than the %s limit: keep large artifacts out of packs or exclude them with %s", humanBytes(info.Size()), humanBytes(v.opts.Limits.MaxFileSize), IgnoreFile)
				return nil
			}
			total += info.Size()
			mode := fs.FileMode(0o644)
			if info.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			v.pack.Files = append(v.pack.Files, File{Path: rel, Mode: mode, Size: info.Size()})
		default:
			v.add(rel, meta.SevError, 0, 0, "%s is not a regular file, directory or symlink: packs hold only those", describeMode(t))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		v.add(".", meta.SevError, 0, 0, "cannot read pack directory: %v", unwrapPathError(err))
	}
	if total > v.opts.Limits.MaxPackSize {
		v.add(".", meta.SevError, 0, 0, "pack holds %s, more than the %s limit", humanBytes(total), humanBytes(v.opts.Limits.MaxPackSize))
	}
	sort.Slice(v.pack.Files, func(i, j int) bool { return v.pack.Files[i].Path < v.pack.Files[j].Path })
	v.checkLinkChains()
}

// checkPrivateKeys refuses a pack file holding a PEM private key: the
// archive would publish it to everyone, and the build refuses a commit
// holding one (gitsafe), so the PR check must not pass it. Files named
// like keys are read, as the build reads them (package privkey).
func (v *validator) checkPrivateKeys() {
	for _, f := range v.pack.Files {
		if !f.Mode.IsRegular() || !privkey.LikelyName(f.Path) {
			continue
		}
		data, err := v.readHead(f.Path, privkey.MaxScan)
		at := privkey.Begin(data)
		if err != nil || at < 0 {
			continue // an unreadable file is reported where it is read
		}
		line := 1 + bytes.Count(data[:at], []byte("\n"))
		v.add(f.Path, meta.SevError, line, 1, "holds a private key (PEM \"PRIVATE KEY\" block): the archive would publish it to everyone who can read the registry, and the build refuses a commit holding one; remove it from the pack, keep it out of git (.gitignore), and rotate it if it was ever pushed")
	}
}

// readHead reads the first max bytes of a pack file.
func (v *validator) readHead(rel string, max int64) ([]byte, error) {
	f, err := v.fsys.Open(v.full(rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// readSmall reads a regular pack file, refusing anything over max bytes.
func (v *validator) readSmall(rel string, max int64) ([]byte, error) {
	if f, ok := v.pack.file(rel); ok && !f.Mode.IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", rel)
	}
	f, err := v.fsys.Open(v.full(rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("file is larger than %s", humanBytes(max))
	}
	return data, nil
}

func (v *validator) checkReferences(m *meta.Manifest) {
	for _, ref := range []struct {
		key   string
		paths []string
	}{{"charts", m.Charts}, {"kubeManifests", m.KubeManifests}, {"ansibleRoles", m.AnsibleRoles}} {
		for _, p := range ref.paths {
			if unsafeRelPath(p) != "" {
				continue // reported by ParseManifest
			}
			clean := path.Clean(p)
			f, ok := v.pack.file(clean)
			switch {
			case !ok:
				v.add(ManifestFile, meta.SevError, 0, 0, "%s lists %q, which does not exist in the pack", ref.key, p)
			case ref.key != "ansibleRoles" && !f.Mode.IsRegular():
				v.add(ManifestFile, meta.SevError, 0, 0, "%s lists %q, which is not a regular file", ref.key, p)
			}
		}
	}
}

func relTo(dir, p string) string {
	if p == dir {
		return "."
	}
	if dir == "." {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}

// linkEscapes explains why a symlink at rel pointing to target leaves the pack.
func linkEscapes(rel, target string) string {
	if target == "" {
		return "is empty"
	}
	if path.IsAbs(target) || strings.HasPrefix(target, `\`) || (len(target) > 1 && target[1] == ':') {
		return "is absolute"
	}
	if !utf8.ValidString(target) {
		return "is not valid UTF-8 (archives, macOS and Windows need UTF-8 names)"
	}
	// What the archive or the extractor cannot hold, validate refuses.
	for _, r := range target {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "contains a control character or a backslash"
		}
	}
	if len(target) > maxLinkBytes {
		return fmt.Sprintf("is %d bytes long: a symbolic link's target holds at most %d", len(target), maxLinkBytes)
	}
	joined := path.Join(path.Dir(rel), target)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return "points outside the pack"
	}
	return ""
}

// badName rejects names that break archives or other operating systems.
func badName(name string) string {
	if !utf8.ValidString(name) {
		return fmt.Sprintf("file name %q is not valid UTF-8: archives (PAX), macOS and Windows need UTF-8 names; rename it", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("file name %q contains a control character", name)
		}
	}
	if strings.ContainsRune(name, '\\') {
		return fmt.Sprintf("file name %q contains a backslash", name)
	}
	if len(name) > maxNameBytes {
		return fmt.Sprintf("file name %q… is %d bytes long: file systems hold at most %d bytes in a name (NAME_MAX), so no client could extract it; shorten it", string([]rune(name)[:min(40, utf8.RuneCountInString(name))]), len(name), maxNameBytes)
	}
	return ""
}

// maxNameBytes is NAME_MAX of Linux, macOS and Windows file systems: a
// longer name can sit in a git tree but in no directory on disk.
const maxNameBytes = 255

// maxLinkBytes is the longest link target Linux stores (PATH_MAX less
// its NUL).
const maxLinkBytes = 4095

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		// What a git tree's submodule entry reads as (source.treeFS).
		return "git submodule (a commit of another repository, whose files are not in this one: copy them into the pack)"
	default:
		return "special file (" + m.String() + ")"
	}
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
