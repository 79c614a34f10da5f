package client

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/pack"
	"github.com/packgen/packgen/pack/meta"
)

// Errors of FetchOCIPack, beside ErrDigestMismatch, ErrTooLarge and
// ocireg's (ErrUnauthorized, ErrForbidden, ErrNotFound, ErrUnreachable).
var (
	// ErrNotORASPack: the manifest is not what `oras push REF
	// NAME-VERSION.tar.gz` writes (one .tar.gz layer).
	ErrNotORASPack = errors.New("not a pack pushed with oras push")
	// ErrKeyedRegistry: the artifact lies under a configured registry
	// that has a key, so packs there are expected signed; taking one
	// unverified needs --insecure-skip-verify.
	ErrKeyedRegistry = errors.New("unverified OCI artifact under a registry with a key")
)

// OCIScheme prefixes OCI references on the command line.
const OCIScheme = "oci://"

// maxOCIManifest bounds the manifest read: one layer and a config make
// well under a kilobyte.
const maxOCIManifest = 1 << 20

// OCIPackOptions say which pack pushed the vendor's way to fetch, how to
// reach its registry, and where to put it.
type OCIPackOptions struct {
	// Ref is oci://HOST[:PORT]/BASE/spectro-packs/archive/NAME:VERSION
	// (the oci:// prefix optional).
	Ref      string
	Dest     string // default ./NAME-VERSION
	Force    bool   // replace an existing Dest
	Registry ocireg.Options
	// Configured are the registries of registries.yaml: one with a key
	// whose oci:// URL covers Ref refuses the fetch unless
	// InsecureSkipVerify.
	Configured         []Registry
	InsecureSkipVerify bool
	// MaxSize caps the layer's size as the manifest states it (default
	// pack.DefaultLimits.MaxPackSize).
	MaxSize int64
	Warn    io.Writer // the unverified-publisher warning; default os.Stderr
	// Progress, when set, wraps the layer's stream (a terminal's bar).
	Progress func(name string, size int64, r io.Reader) io.Reader
}

// OCIPackResult describes a fetched pack.
type OCIPackResult struct {
	Ref      string `json:"ref"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Manifest string `json:"manifest"` // digest of the manifest
	SHA256   string `json:"sha256"`   // hex of the layer's sha256, as in packgen's index
	Size     int64  `json:"size"`
	Dest     string `json:"dest"`
	Files    int    `json:"files"`
	Verified bool   `json:"verified"` // always false: nothing vouches for the publisher
}

// ParseOCIPackRef splits oci://HOST/PATH/NAME:VERSION into the reference
// oras-go reads ("HOST/PATH/NAME:VERSION"), NAME and VERSION.
func ParseOCIPackRef(s string) (ref, name, version string, err error) {
	raw := strings.TrimPrefix(s, OCIScheme)
	r, perr := registry.ParseReference(raw)
	if perr != nil || r.Reference == "" || strings.Contains(raw, "@") {
		return "", "", "", fmt.Errorf("%w %q: expected oci://HOST/BASE/spectro-packs/archive/NAME:VERSION", ocireg.ErrReference, s)
	}
	name = r.Repository[strings.LastIndexByte(r.Repository, '/')+1:]
	if !meta.ValidName(name) {
		return "", "", "", fmt.Errorf("%w %q: %q is not a pack name (lowercase letters, digits and '-'); expected oci://HOST/BASE/spectro-packs/archive/NAME:VERSION", ocireg.ErrReference, s, name)
	}
	return raw, name, r.Reference, nil
}

// keyedRegistry returns the configured registry with a key whose oci://
// URL covers ref's repository, if any.
func keyedRegistry(ref string, regs []Registry) *Registry {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return nil
	}
	repo := strings.ToLower(r.Registry) + "/" + r.Repository
	for i := range regs {
		u, ok := strings.CutPrefix(regs[i].URL, OCIScheme)
		if !ok || len(regs[i].TrustedKeys()) == 0 {
			continue
		}
		u = strings.TrimSuffix(u, "/")
		if host, path, _ := strings.Cut(u, "/"); path == "" {
			u = strings.ToLower(host)
		} else {
			u = strings.ToLower(host) + "/" + path
		}
		if repo == u || strings.HasPrefix(repo, u+"/") {
			return &regs[i]
		}
	}
	return nil
}

// FetchOCIPack fetches a pack that was pushed to an OCI registry the way
// the vendor documents (`oras push REF NAME-VERSION.tar.gz`: no packgen
// index, no signature). Its manifest is read bounded and checked against
// the digest the registry gives for the tag, the single .tar.gz layer is
// streamed to a temporary file and checked against the manifest's digest
// and size, and only then extracted, safely, into Dest. Nothing vouches
// for the publisher: that is said on Warn, and refused outright under a
// configured registry that has a key. On any error Dest is untouched.
func FetchOCIPack(ctx context.Context, o OCIPackOptions) (*OCIPackResult, error) {
	ref, name, version, err := ParseOCIPackRef(o.Ref)
	if err != nil {
		return nil, err
	}
	shown := OCIScheme + ref
	if reg := keyedRegistry(ref, o.Configured); reg != nil {
		if !o.InsecureSkipVerify {
			return nil, fmt.Errorf("%w: %s is under registry %s (%s), which has a key: packs published there by packgen are signed; fetch this one with `packgen fetch %s@%s --registry %s` to verify it, or pass --insecure-skip-verify to take this artifact unverified",
				ErrKeyedRegistry, shown, reg.Name, reg.URL, name, version, reg.Name)
		}
	}
	warn := o.Warn
	if warn == nil {
		warn = os.Stderr
	}
	maxSize := o.MaxSize
	if maxSize <= 0 {
		maxSize = pack.DefaultLimits.MaxPackSize
	}
	dest := o.Dest
	if dest == "" {
		dest = name + "-" + version
	}
	if _, err := os.Lstat(dest); err == nil && !o.Force {
		return nil, fmt.Errorf("%w: %s (pass --force to replace it)", pack.ErrDestExists, dest)
	}
	repo, err := ocireg.Repository(ctx, ref, o.Registry)
	if err != nil {
		return nil, err
	}
	mdesc, mbytes, err := oras.FetchBytes(ctx, repo, version, oras.FetchBytesOptions{MaxBytes: maxOCIManifest})
	if err != nil {
		return nil, ociErr("reading the manifest", repo, err)
	}
	layer, err := orasLayer(mbytes, maxSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	fmt.Fprintf(warn, "WARNING: %s is NOT verified: it carries no packgen index and no signature, so nothing vouches for who published it; only its bytes are checked against manifest %s\n", textsafe.Escape(shown), mdesc.Digest)

	res, err := extractOCILayer(ctx, repo, layer, dest, shown, o)
	if err != nil {
		return nil, err
	}
	checkOCIPackJSON(warn, dest, shown, name, version)
	return &OCIPackResult{
		Ref: shown, Name: name, Version: version, Manifest: mdesc.Digest.String(), SHA256: layer.Digest.Encoded(),
		Size: layer.Size, Dest: dest, Files: res.Files,
	}, nil
}

// extractOCILayer downloads the pack layer of repo and extracts it into
// dest (shown names the artifact in errors).
func extractOCILayer(ctx context.Context, repo *remote.Repository, layer ocispec.Descriptor, dest, shown string, o OCIPackOptions) (*pack.ExtractResult, error) {
	// The layer goes to a file beside dest first: the extractor reads a
	// stream it cannot take back, so the digest is checked before any of
	// it is unpacked.
	stage, err := pack.MkdirStage(dest)
	if err != nil {
		return nil, err
	}
	extracting := false
	defer func() {
		if !extracting {
			os.RemoveAll(stage)
		}
	}()
	f, err := os.CreateTemp(filepath.Dir(stage), ".packgen-oci-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if err := fetchLayer(ctx, repo, layer, f, o.Progress); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	root, err := archiveRoot(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	extracting = true
	res, err := pack.Extract(f, dest, pack.ExtractOptions{Root: root, Overwrite: o.Force, Stage: stage})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	return res, nil
}

// checkOCIPackJSON warns when the extracted pack.json names another pack
// or version than the reference.
func checkOCIPackJSON(warn io.Writer, dest, shown, name, version string) {
	// Palette takes the version from the tag; a pack.json that says
	// otherwise is someone's mistake worth seeing.
	if data, err := safefile.ReadFile(filepath.Join(dest, pack.ManifestFile), 1<<20); err == nil {
		var pj struct{ Name, Version string }
		if json.Unmarshal(data, &pj) == nil && (pj.Name != name || pj.Version != version) {
			fmt.Fprintf(warn, "warning: %s: its pack.json says %s@%s, its reference %s@%s\n", textsafe.Escape(shown), textsafe.Escape(pj.Name), textsafe.Escape(pj.Version), name, version)
		}
	}
}

// safeRoot tells what a vendor archive's top-level folder may be called:
// `tar -czf NAME-VERSION.tar.gz PACK_FOLDER` names it after whatever the
// folder was (hello-pack, falco-4.2.5), not necessarily a pack name.
// `^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$`, with the bound as a length:
// the repetition compiled to 255 copies of its class, 0.5 ms and 240 KB
// of heap at every process's start (docs/PERFORMANCE.md, "Fetch
// start-up"); the regexp without it is compiled on first use.
func safeRoot(s string) bool { return len(s) <= 255 && safeRootChars().MatchString(s) }

var safeRootChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]*$`) })

// archiveRoot reads the top-level folder of a vendor archive from its
// first entry; the extractor then holds every entry to it.
func archiveRoot(r io.Reader) (string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", fmt.Errorf("%w: the layer is not gzip: %v", pack.ErrCorrupt, err)
	}
	h, err := tar.NewReader(zr).Next()
	if err != nil {
		return "", fmt.Errorf("%w: the layer is not a tar.gz: %v", pack.ErrCorrupt, err)
	}
	top, _, _ := strings.Cut(path.Clean(h.Name), "/")
	if !safeRoot(top) {
		return "", fmt.Errorf("%w: the archive's top-level folder %q is not a plain name (expected one folder holding pack.json)", pack.ErrUnsafePath, textsafe.Escape(top))
	}
	return top, nil
}

// orasLayer checks the manifest is what oras push writes for one file
// (ORAS 1.0's shape or 1.1's) and returns its layer.
func orasLayer(data []byte, maxSize int64) (ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%w: manifest is not JSON: %v", ErrNotORASPack, err)
	}
	if m.SchemaVersion != 2 || m.MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Descriptor{}, fmt.Errorf("%w: manifest media type %q, schemaVersion %d; expected an OCI image manifest (%s, 2) as oras push writes", ErrNotORASPack, m.MediaType, m.SchemaVersion, ocispec.MediaTypeImageManifest)
	}
	if len(m.Layers) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("%w: the manifest has %d layers; a pack is pushed as one: oras push REF NAME-VERSION.tar.gz", ErrNotORASPack, len(m.Layers))
	}
	l := m.Layers[0]
	title := l.Annotations[ocispec.AnnotationTitle]
	if !strings.HasSuffix(title, ".tar.gz") {
		return ocispec.Descriptor{}, fmt.Errorf("%w: the layer's title (%s) is %q, expected NAME-VERSION.tar.gz", ErrNotORASPack, ocispec.AnnotationTitle, title)
	}
	switch l.MediaType {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, "application/gzip", "application/x-gzip", "application/octet-stream":
	default:
		return ocispec.Descriptor{}, fmt.Errorf("%w: layer media type %q; expected %s (what oras push gives a file)", ErrNotORASPack, l.MediaType, ocispec.MediaTypeImageLayer)
	}
	if err := l.Digest.Validate(); err != nil || l.Digest.Algorithm() != "sha256" {
		return ocispec.Descriptor{}, fmt.Errorf("%w: layer digest %q is not a valid sha256 digest", ErrNotORASPack, l.Digest)
	}
	if l.Size <= 0 || l.Size > maxSize {
		return ocispec.Descriptor{}, fmt.Errorf("%w: the manifest says the layer is %d bytes; a pack archive is 1 to %d", ErrTooLarge, l.Size, maxSize)
	}
	return l, nil
}

// fetchLayer streams the layer into f, checking size and digest as
// oras-go's VerifyReader does: no byte past the stated size is read.
func fetchLayer(ctx context.Context, repo *remote.Repository, layer ocispec.Descriptor, f *os.File, progress func(string, int64, io.Reader) io.Reader) error {
	what := "reading layer " + layer.Digest.String()
	rc, err := repo.Fetch(ctx, layer)
	if err != nil {
		return ociErr(what, repo, err)
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, layer)
	var r io.Reader = vr
	if progress != nil {
		r = progress(layer.Annotations[ocispec.AnnotationTitle], layer.Size, r)
	}
	if _, err := io.Copy(f, r); err != nil {
		return ociErr(what, repo, err)
	}
	if err := vr.Verify(); err != nil {
		return ociErr(what, repo, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: %s: %v", pack.ErrWrite, f.Name(), err)
	}
	return nil
}

// ociErr says what failed, mapping oras-go's content checks to the
// client's sentinels and the rest through ocireg.Wrap (which names the
// reference and what to do).
func ociErr(what string, repo *remote.Repository, err error) error {
	ref := repo.Reference.String()
	switch {
	case errors.Is(err, content.ErrMismatchedDigest):
		return fmt.Errorf("%s%s: %s: %w: the registry's bytes do not match the digest that names them (a broken or hostile registry, or a proxy rewriting content); nothing was written: %v", OCIScheme, ref, what, ErrDigestMismatch, err)
	case errors.Is(err, content.ErrTrailingData):
		return fmt.Errorf("%s%s: %s: %w: the registry sent more bytes than the manifest states; nothing was written: %v", OCIScheme, ref, what, ErrTooLarge, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s%s: %s: %w: the registry sent fewer bytes than the manifest states (a broken connection or registry); nothing was written: %v", OCIScheme, ref, what, ErrDigestMismatch, err)
	}
	return fmt.Errorf("%s: %w", what, ocireg.Wrap(ref, repo.Client, err))
}
