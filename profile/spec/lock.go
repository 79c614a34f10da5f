package spec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/pack/meta"
)

// LockSchemaVersion is the format version of lock files.
const LockSchemaVersion = 1

// Lock is a resolved profile: every layer pinned to exact bytes. It is
// JSON, indented, fields in a fixed order, layers in profile order, no
// times: resolving the same profile against the same registries gives a
// byte-identical file.
type Lock struct {
	SchemaVersion int          `json:"schemaVersion"`
	Profile       LockProfile  `json:"profile"`
	Partial       bool         `json:"partial,omitempty"`
	Layers        []LockedPack `json:"layers"`
}

// LockProfile identifies the profile file a lock was resolved from.
type LockProfile struct {
	Name      string `json:"name"`
	CloudType string `json:"cloudType"`
	// File is the profile's path relative to the lock's directory.
	File string `json:"file"`
	// SHA256 of the profile file; a mismatch means the lock is stale.
	SHA256 string `json:"sha256"`
}

// LockedPack is one pinned layer.
type LockedPack struct {
	Pack       string        `json:"pack"`
	Constraint string        `json:"constraint"`
	Version    string        `json:"version"`
	Layer      string        `json:"layer"`
	Registry   LockRegistry  `json:"registry"`
	Archive    index.FileRef `json:"archive"`
	Signature  *LockFile     `json:"signature,omitempty"`
	Commit     string        `json:"commit,omitempty"`
	// Images pins, with `profile resolve --pin-images`, every image the
	// pack declares or deploys (normalised reference) to the digest of
	// its manifest ("sha256:…") when the lock was written; absent in
	// older locks and without the flag.
	Images map[string]string `json:"images,omitempty"`
	// Log proves the release is in its registry's transparency log
	// without reading the log: optional (locks resolved before it, or
	// from a registry without a log, have none).
	Log *LockLog `json:"log,omitempty"`
}

// LockLog is a locked release's place in its registry's transparency
// log and the proof of it: the log entry is rebuilt from the locked
// fields (pack, version, archive sha256, commit) and Key, and its
// inclusion proof checked against Checkpoint, a checkpoint of TreeSize
// entries signed by the log key the registry's signed index.json names.
type LockLog struct {
	Index    int64  `json:"index"`
	Key      string `json:"key"`      // the ID of the registry key that logged it
	TreeSize int64  `json:"treeSize"` // the size of the tree the proof is for
	// Checkpoint is the log's signed checkpoint note of that tree.
	Checkpoint string `json:"checkpoint"`
	// Proof is the inclusion proof: the tree hashes, base64, leaf first.
	Proof []string `json:"proof"`
}

// Bounds of a lock's log proof: a tree of 2^63 entries has a proof of 63
// hashes; a checkpoint note is small.
const (
	maxLockProof      = 63
	maxLockCheckpoint = 16 << 10
)

func (g *LockLog) check() string {
	switch {
	case g.Index < 0 || g.TreeSize <= g.Index:
		return fmt.Sprintf("log.index %d must be below log.treeSize %d", g.Index, g.TreeSize)
	case !index.LowerHex(g.Key, 64):
		return fmt.Sprintf("log.key %q is not 64 lowercase hex digits", g.Key)
	case g.Checkpoint == "" || len(g.Checkpoint) > maxLockCheckpoint:
		return fmt.Sprintf("log.checkpoint must be a signed checkpoint of at most %d bytes", maxLockCheckpoint)
	case len(g.Proof) > maxLockProof:
		return fmt.Sprintf("log.proof has %d hashes, at most %d", len(g.Proof), maxLockProof)
	}
	for i, h := range g.Proof {
		if b, err := base64.StdEncoding.DecodeString(h); err != nil || len(b) != 32 {
			return fmt.Sprintf("log.proof[%d] %q is not base64 of a 32-byte hash", i, h)
		}
	}
	return ""
}

// LockRegistry names the registry a layer was resolved from.
type LockRegistry struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// LockFile pins a file by path and digest.
type LockFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ID is pack@version.
func (l LockedPack) ID() string { return l.Pack + "@" + l.Version }

// DefaultLockPath is the lock file beside a profile: aws.yaml -> aws.lock.
func DefaultLockPath(profilePath string) string {
	ext := filepath.Ext(profilePath)
	if ext == ".yaml" || ext == ".yml" {
		return strings.TrimSuffix(profilePath, ext) + ".lock"
	}
	return profilePath + ".lock"
}

// Encode renders the lock deterministically.
func (l *Lock) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes the lock atomically.
func (l *Lock) Write(path string) error {
	data, err := l.Encode()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// LoadLock reads and checks a lock file.
func LoadLock(path string) (*Lock, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	return ParseLock(path, data)
}

// isImageDigest: d is an image manifest's digest as locks pin it,
// sha256:HEX.
func isImageDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	return ok && index.LowerHex(h, 64)
}

// MaxLockedImages bounds the images pinned per layer (a pack deploys
// tens; a lock is read whole).
const MaxLockedImages = 1000

// ParseLock decodes a lock file strictly (unknown fields refused) and
// checks every field a fetch will trust: names, versions, digests and
// site paths, so a hand-edited or hostile lock cannot steer a download.
func ParseLock(file string, data []byte) (*Lock, error) {
	bad := func(format string, args ...any) error {
		return &ParseError{[]Problem{problem(file, 0, 0, fmt.Sprintf(format, args...))}}
	}
	var l Lock
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(data, se.Offset-1)
			return nil, &ParseError{[]Problem{problem(file, line, col, "invalid JSON: "+se.Error())}}
		case errors.As(err, &te):
			line, col := lineCol(data, te.Offset)
			return nil, &ParseError{[]Problem{problem(file, line, col, fmt.Sprintf("%s must be %s, found %s", te.Field, te.Type, te.Value))}}
		}
		return nil, bad("invalid lock file: %v (regenerate it with packgen profile resolve)", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("unexpected data after the lock object")
	}
	if l.SchemaVersion != LockSchemaVersion {
		return nil, bad("schemaVersion %d is not supported (this packgen reads %d); upgrade packgen or resolve again", l.SchemaVersion, LockSchemaVersion)
	}
	if !meta.ValidName(l.Profile.Name) {
		return nil, bad("profile.name %q is not a valid name", l.Profile.Name)
	}
	if l.Profile.SHA256 != "" && !index.LowerHex(l.Profile.SHA256, 64) {
		return nil, bad("profile.sha256 %q is not 64 lowercase hex digits", l.Profile.SHA256)
	}
	if f := l.Profile.File; f != "" && (filepath.IsAbs(f) || strings.Contains(f, "\x00")) {
		return nil, bad("profile.file %q must be relative to the lock file", f)
	}
	if len(l.Layers) == 0 {
		return nil, bad("layers is empty")
	}
	seen := map[string]bool{}
	for i, p := range l.Layers {
		where := fmt.Sprintf("layers[%d]", i)
		if !meta.ValidName(p.Pack) {
			return nil, bad("%s.pack %q is not a pack name", where, p.Pack)
		}
		if seen[p.Pack] {
			return nil, bad("%s: pack %s is locked twice", where, p.Pack)
		}
		seen[p.Pack] = true
		// Not StrictNewVersion: registries publish two-part versions too.
		if _, err := semver.NewVersion(p.Version); err != nil || !index.ValidVersionPath(p.Version) || strings.ContainsAny(p.Version, "^~<>=*| ,") {
			return nil, bad("%s (%s): version %q is not an exact semantic version", where, p.Pack, p.Version)
		}
		if !meta.ValidName(p.Registry.Name) || p.Registry.URL == "" {
			return nil, bad("%s (%s): registry needs a valid name and a URL", where, p.Pack)
		}
		if !index.LowerHex(p.Archive.SHA256, 64) || p.Archive.Size <= 0 {
			return nil, bad("%s (%s): archive needs a sha256 (64 lowercase hex digits) and a positive size", where, p.ID())
		}
		if want := index.ArchivePath(p.Pack, p.Version); p.Archive.Path != want {
			return nil, bad("%s (%s): archive.path %q must be %q", where, p.ID(), p.Archive.Path, want)
		}
		if s := p.Signature; s != nil {
			if !index.LowerHex(s.SHA256, 64) {
				return nil, bad("%s (%s): signature.sha256 %q is not 64 lowercase hex digits", where, p.ID(), s.SHA256)
			}
			if s.Path != p.Archive.Path+index.SignatureExt {
				return nil, bad("%s (%s): signature.path %q must be %q", where, p.ID(), s.Path, p.Archive.Path+index.SignatureExt)
			}
		}
		if p.Log != nil {
			if msg := p.Log.check(); msg != "" {
				return nil, bad("%s (%s): %s (resolve again to rewrite it)", where, p.ID(), msg)
			}
		}
		if err := checkImages(p.Images); err != nil {
			return nil, bad("%s (%s): images: %v (resolve again with --pin-images)", where, p.ID(), err)
		}
	}
	return &l, nil
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Stale says whether the profile file a lock came from changed since (its
// path, resolved against lockPath's directory, and whether it is stale).
// A missing profile file is not stale, just unknown: "" is returned.
func (l *Lock) Stale(lockPath string) (profilePath string, stale bool) {
	if l.Profile.File == "" {
		return "", false
	}
	profilePath = filepath.Join(filepath.Dir(lockPath), filepath.FromSlash(l.Profile.File))
	data, err := readSmall(profilePath)
	if err != nil {
		return "", false
	}
	return profilePath, index.Digest(data) != l.Profile.SHA256
}

// ErrNoProfile: the profile file a lock names cannot be read, or is of
// another profile. Its layers' values overrides decide what deploys
// (render's values, the images), so a lock alone cannot say.
var ErrNoProfile = errors.New("the lock's profile file cannot be read")

// LoadProfile reads the profile file the lock names (relative to
// lockPath's directory), whose overrides render and the images of the
// lock use; it must be the lock's profile (same name).
func (l *Lock) LoadProfile(lockPath string) (*Profile, error) {
	if l.Profile.File == "" {
		return nil, fmt.Errorf("%w: %s names no profile file; resolve the profile again (packgen profile resolve PROFILE --lock %s)", ErrNoProfile, lockPath, lockPath)
	}
	path := filepath.Join(filepath.Dir(lockPath), filepath.FromSlash(l.Profile.File))
	p, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s names profile file %s (%s), which does not exist: its values overrides decide what the profile deploys; keep it beside the lock, as resolve wrote them", ErrNoProfile, lockPath, l.Profile.File, path)
	}
	if err != nil {
		return nil, err
	}
	if p.Name != l.Profile.Name {
		return nil, fmt.Errorf("%w: %s is the lock of profile %q, but %s is profile %q: resolve %s again", ErrNoProfile, lockPath, l.Profile.Name, path, p.Name, path)
	}
	return p, nil
}

// Find returns the locked layer of a pack, or nil.
func (l *Lock) Find(name string) *LockedPack {
	for i := range l.Layers {
		if l.Layers[i].Pack == name {
			return &l.Layers[i]
		}
	}
	return nil
}

// checkImages checks pinned images: each key a normalised image
// reference (ref.Normalize's form, so comparisons are exact), each value
// a sha256 manifest digest.
func checkImages(m map[string]string) error {
	if len(m) > MaxLockedImages {
		return fmt.Errorf("%d images, more than %d", len(m), MaxLockedImages)
	}
	keys := slices.Sorted(maps.Keys(m)) // the first bad one, the same every time
	for _, im := range keys {
		d := m[im]
		norm, err := ref.Normalize(im)
		if err != nil {
			return err
		}
		if norm != im {
			return fmt.Errorf("%q is not normalised (want %q)", im, norm)
		}
		if !isImageDigest(d) {
			return fmt.Errorf("%s: digest %q is not sha256: and 64 lowercase hex digits", im, d)
		}
	}
	return nil
}
