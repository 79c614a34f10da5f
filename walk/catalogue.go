package walk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/sitedir"
	"github.com/packgen/packgen/sign"
)

// ErrUnlisted: a catalogue file is present that the site's signed
// catalogue manifest does not list.
var ErrUnlisted = errors.New("catalogue file not listed in the signed catalogue manifest")

// maxCataloguePage bounds what is read of a catalogue file the manifest
// does not list (only whether it is there matters).
const maxCataloguePage = 1 << 20

// Catalogue reads the site's catalogue manifest (index.CatalogueFile)
// and checks it: its signature (.sig beside it) under the Verifier, if
// any, and that it belongs to the index.json whose bytes are rootData
// (index.ErrCatalogueGeneration), which the caller has verified. nil,
// nil: the site has none (unsigned, built without a catalogue, or
// before packgen wrote one). Errors are FileErrors naming the file.
// The build reads it so to reuse the previous build's pages; verify
// --site and publish check its bundle too (CatalogueWithBundle).
func (w *Walker) Catalogue(ctx context.Context, rootData []byte) (*index.Catalogue, error) {
	c, _, err := w.catalogueRead(ctx, rootData)
	return c, err
}

// CatalogueWithBundle is Catalogue, then the check that the manifest's
// Sigstore bundle (beside it since the build wrote both: what `cosign
// verify-blob --bundle` reads, attackX F4) carries its .sig's signature;
// no bundle there is no error. The .sig is read once: the one Catalogue
// verified under the Verifier, or, without one, read here, as the
// comparison needs no key (then a .sig not there is no error either).
// A bundle that does not carry it is a FileError naming the bundle:
// what to do about it is the reader's to say. verify --site (Walk) and
// publish check a site's catalogue so.
func (w *Walker) CatalogueWithBundle(ctx context.Context, rootData []byte) (*index.Catalogue, error) {
	c, sig, err := w.catalogueRead(ctx, rootData)
	if err != nil || c == nil {
		return c, err
	}
	sigPath := index.CatalogueFile + index.SignatureExt
	if sig == nil { // no Verifier: under one, catalogueRead verified it
		sig, err = w.Get(ctx, sigPath, sign.MaxSigFileSize)
		if errors.Is(err, ErrNotFound) {
			return c, nil
		}
		if err != nil {
			return nil, &FileError{sigPath, err}
		}
	}
	bundle := index.CatalogueFile + index.BundleExt
	if err := w.BundleOf(ctx, bundle, sigPath, sig); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, &FileError{bundle, err}
	}
	return c, nil
}

// catalogueRead is Catalogue, handing back the .sig's bytes when it read
// them (under a Verifier): CatalogueWithBundle compares the bundle with
// them without reading them again.
func (w *Walker) catalogueRead(ctx context.Context, rootData []byte) (c *index.Catalogue, sig []byte, err error) {
	data, err := w.Get(ctx, index.CatalogueFile, index.MaxCatalogueSize)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, &FileError{index.CatalogueFile, err}
	}
	if w.Verifier != nil {
		sigPath := index.CatalogueFile + index.SignatureExt
		sig, err = w.Get(ctx, sigPath, sign.MaxSigFileSize)
		if errors.Is(err, ErrNotFound) {
			return nil, nil, &FileError{sigPath, fmt.Errorf("%w: missing, though the registry has a key: %s cannot be trusted without it", ErrUnsigned, index.CatalogueFile)}
		}
		if err != nil {
			return nil, nil, &FileError{sigPath, err}
		}
		if err := w.Verifier.VerifyBlob(bytes.NewReader(data), sig); err != nil {
			return nil, nil, &FileError{index.CatalogueFile, fmt.Errorf("%w (checked against %s): the manifest or its signature was changed after the build", err, sigPath)}
		}
	}
	c, err = index.ParseCatalogue(data)
	if err == nil {
		err = c.Of(rootData)
	}
	if err != nil {
		return nil, nil, &FileError{index.CatalogueFile, err}
	}
	return c, sig, nil
}

// walkCatalogue checks the catalogue of the site whose index.json is
// rootData (root, listing packs) against its manifest: every file listed
// must be there with its size and SHA-256, and every catalogue file
// there (sitedir.CataloguePaths: the names the catalogue writes for
// these packs, looked for one by one, as a URL cannot be listed) must be
// listed; where the site can be listed (w.List: a directory), so must
// every other file in the catalogue's directories (sitedir.InCatalogueDir:
// assets/, packs/NAME/, and the log's, log/), served from the registry's origin beside the
// signed pages (attackV F7). A signed site with a catalogue (index.html) but no manifest is
// a warning, not a problem: sites built before packgen wrote one.
func (w *Walker) walkCatalogue(ctx context.Context, rootData []byte, root *index.Root, packs []string, problem func(string, error)) (warning *FileError) {
	c, err := w.CatalogueWithBundle(ctx, rootData)
	// What to do is the reader's to say: publish says its own.
	var fe *FileError
	switch {
	case errors.Is(err, ErrUnsigned) && errors.As(err, &fe):
		err = &FileError{fe.Path, fmt.Errorf("%w; build the site again with the registry's key and publish it", fe.Err)}
	case errors.As(err, &fe) && fe.Path == index.CatalogueFile+index.BundleExt:
		err = withCopyAdvice(err) // a copy of the .sig, not the manifest
	}
	if err != nil {
		problem("", err)
		return nil
	}
	if c == nil {
		if _, err := w.Get(ctx, "index.html", maxCataloguePage); root.Signed && (err == nil || errors.Is(err, ErrTooLarge)) {
			return &FileError{index.CatalogueFile, errors.New("missing: the site has a catalogue (index.html) but no signed manifest of it, so its pages, feeds, logos and assets were not checked (a site built before packgen signed its catalogue, or one whose manifest was deleted); build it again and publish it to sign them")}
		}
		return nil
	}
	var unlisted []string
	for _, p := range sitedir.CataloguePaths(packs) {
		if _, ok := c.Find(p); !ok {
			unlisted = append(unlisted, p)
		}
	}
	sort.Strings(unlisted)
	w.walkAdded(ctx, c, packs, unlisted, problem)
	n := len(c.Files)
	_ = parallel.Each(ctx, n+len(unlisted), 2*runtime.GOMAXPROCS(0), func(i int) error {
		if i < n {
			ref := c.Files[i]
			_, err := w.Pinned(ctx, ref)
			switch {
			case errors.Is(err, ErrDigestMismatch), errors.Is(err, ErrTooLarge):
				// Grown past its size or not its bytes: one verdict.
				problem(ref.Path, fmt.Errorf("%w: not the file %s lists (sha256 %s, %d bytes), which the registry's key signs: it was changed after the build (restore it from the build's output and publish again), or a publish is under way (pages switch one by one: verify again once it has finished)", ErrDigestMismatch, index.CatalogueFile, index.ShortHash(ref.SHA256), ref.Size))
			case errors.Is(err, ErrNotFound):
				problem(ref.Path, fmt.Errorf("%w, though %s, which the registry's key signs, lists it: it was deleted after the build (restore it from the build's output and publish again), or a publish is under way (verify again once it has finished)", err, index.CatalogueFile))
			case err != nil:
				problem(ref.Path, err)
			}
			return nil
		}
		p := unlisted[i-n]
		_, err := w.Get(ctx, p, maxCataloguePage)
		switch {
		case err == nil, errors.Is(err, ErrTooLarge):
			problem(p, fmt.Errorf("%w: %s, which the registry's key signs, does not list it: it was added after the build (delete it, or publish the build's output with --prune)", ErrUnlisted, index.CatalogueFile))
		case !errors.Is(err, ErrNotFound):
			problem(p, err)
		}
		return nil
	})
	return nil
}

// walkAdded reports each file in the catalogue's directories that the
// manifest c does not list, where the site can be listed; names are
// those walkCatalogue looks for by name already (not reported twice).
func (w *Walker) walkAdded(ctx context.Context, c *index.Catalogue, packs, names []string, problem func(string, error)) {
	if w.List == nil {
		return
	}
	files, err := w.List(ctx)
	if err != nil {
		problem("", err)
		return
	}
	inIndex := map[string]bool{}
	for _, p := range packs {
		inIndex[p] = true
	}
	for _, p := range sitedir.AddedToCatalogue(c, files, inIndex) {
		if _, reported := slices.BinarySearch(names, p); reported {
			continue
		}
		problem(p, fmt.Errorf("%w: a file in a directory the catalogue or the log owns (assets/, packs/NAME/, log/), which %s, signed by the registry's key, does not list: it was added after the build, and is served from the registry's origin beside the signed pages; delete it (a web root's own file belongs outside the catalogue's directories)", ErrUnlisted, index.CatalogueFile))
	}
}
