package publish

// Witness cosignatures in an OCI registry. A witness's cosigned
// checkpoint (log/witness/NAME) is mutable and published by the
// registry's owner (or the witness) apart from builds, so it is not a
// layer of the root manifest, whose switch of generations would drop it:
// it is the one layer of the manifest tagged witness-NAME in
// BASE/packgen/index (ocimap.WitnessManifest). A publish pushes the
// site's witness files after the root switch, and also when the index is
// already current (a witness's new cosignature is often all there is to
// publish). Each is verified first, as everything a publish pushes: the
// log's signature under the log key index.json names, this registry's
// origin, and a tree the site's log extends; and a witness file the
// registry holds that cosigns a larger tree than the site's, with a
// signature line of that witness's name, is kept (a witness that pushed
// its own newer cosignature is not rolled back by a site staged before
// it; the log's own checkpoint replayed under the tag is not that). Prune deletes only meta tags, so never these.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
)

// ErrWitnessFile marks a witness file of the site that cannot be
// published: not a checkpoint of this registry's log signed by its log
// key, or a tree the site's log does not extend.
var ErrWitnessFile = errors.New("a witness file of the site does not verify")

// readWitnesses reads the site's witness files: a directory's
// log/witness/*, an oci:// source's witness-* tags. An http(s) source
// cannot be listed (unlisted is set: nothing is copied from it), and a
// subset (Only) has none. Each is verified against the site's verified
// root and log.
func (d *ociDest) readWitnesses(ctx context.Context, s *site, loc location.Location, tr transport.Transport) error {
	s.witnesses = map[string][]byte{}
	if d.o.Only != nil {
		return nil // a subset (airgap import) carries the packs and their index only
	}
	var names []string
	switch {
	case loc.Scheme == "file":
		ents, err := os.ReadDir(filepath.Join(loc.Dir, filepath.FromSlash(translog.WitnessDir)))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			if !translog.ValidWitnessName(e.Name()) {
				return fmt.Errorf("%w: %s/%s: a witness file is named after its witness (letters, digits, '-', '_' and '.', at most %d): rename or remove it", ErrWitnessFile, translog.WitnessDir, e.Name(), translog.MaxWitnessName)
			}
			names = append(names, e.Name())
		}
	case s.src != nil:
		idx, err := d.o.Repos(s.src.Ref(s.src.Repo(ocimap.IndexRepo)))
		if err != nil {
			return err
		}
		tags, err := listTags(ctx, idx)
		if err != nil {
			return err
		}
		for t := range tags {
			if n, ok := ocimap.WitnessName(t); ok {
				names = append(names, n)
			}
		}
	default:
		s.witnessesUnlisted = loc.Scheme == "http" || loc.Scheme == "https"
		return nil
	}
	sort.Strings(names)
	for _, n := range names {
		p := translog.WitnessPath(n)
		var data []byte
		var err error
		if loc.Scheme == "file" {
			data, err = safefile.ReadFile(filepath.Join(loc.Dir, filepath.FromSlash(p)), translog.MaxCheckpointSize)
		} else {
			data, err = transport.Fetch(tr)(ctx, p, translog.MaxCheckpointSize)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrWitnessFile, p, err)
		}
		if _, err := s.checkWitness(ctx, p, data); err != nil {
			return err
		}
		s.witnesses[p] = data
	}
	return nil
}

// checkWitness verifies a cosigned checkpoint against the site: signed
// by the log key of its verified index.json, of its registry's log, and
// (when not larger) a tree its log extends, proved from the site's own
// tiles. The witness's cosignature itself is for clients to check: the
// publisher does not know which witnesses they trust.
func (s *site) checkWitness(ctx context.Context, p string, data []byte) (tlog.Tree, error) {
	return checkWitnessFile(ctx, s.root, s.logFile, p, data)
}

// checkWitnessFile is the rule every publisher applies to a witness
// file p (data) of a site whose verified index.json is root and whose
// log's tiles logFile reads: see checkWitness.
func checkWitnessFile(ctx context.Context, root *index.Root, logFile translog.Fetch, p string, data []byte) (tlog.Tree, error) {
	tree, ok, err := translog.TreeOf(root)
	if err != nil || !ok {
		return tlog.Tree{}, fmt.Errorf("%w: %s: index.json names no transparency log for it to cosign: remove it", ErrWitnessFile, p)
	}
	c, _, err := translog.OpenCosigned(data, root.Log.Key, nil)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: %s: %v: remove it, or ask the witness for a fresh one", ErrWitnessFile, p, err)
	}
	if want := translog.LogOrigin(root.Registry); c.Origin != want {
		return tlog.Tree{}, fmt.Errorf("%w: %s cosigns a checkpoint of the log %q, not of this registry's log %q: remove it", ErrWitnessFile, p, c.Origin, want)
	}
	if c.Tree.N > tree.N {
		return c.Tree, nil // a newer log than this site's: clients do not count it until the index catches up
	}
	if err := translog.CheckConsistency(ctx, c.Tree, tree, logFile); err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: %s cosigns a log of %d entries (%s) that this site's log (%d entries, %s) does not extend: %v. It is evidence of a split view: keep it, and do not publish it", ErrWitnessFile, p, c.Tree.N, c.Tree.Hash, tree.N, tree.Hash, err)
	}
	return c.Tree, nil
}

// pushWitnesses pushes the site's witness files, each under its tag:
// one request for one already there, three for a new one (the blob, as
// embedded data is never the only copy, then the manifest; the config is
// the index repository's "{}", pushed with the index).
func (d *ociDest) pushWitnesses(ctx context.Context, s *site, idx *remote.Repository, o Options, res *Result) error {
	if s.witnessesUnlisted {
		fmt.Fprintf(o.Log, "note: the witness files of a site read over HTTP cannot be listed and are not copied: publish them from a directory (log/witness/NAME)\n")
	}
	var paths []string
	for p := range s.witnesses {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		data := s.witnesses[p]
		name := strings.TrimPrefix(p, translog.WitnessDir+"/")
		tag, err := ocimap.WitnessTag(name)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrWitnessFile, p, err)
		}
		m, err := ocimap.WitnessManifest(p, data)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrWitnessFile, err)
		}
		ref := idx.Reference.String() + ":" + tag
		keep, err := d.liveWitnessNewer(ctx, s, idx, tag, p, data, m)
		if err != nil {
			return err
		}
		switch {
		case keep == "same":
			continue
		case keep != "":
			res.Kept = append(res.Kept, ref)
			fmt.Fprintf(o.Log, "kept %s: %s\n", ref, keep)
			continue
		}
		res.Uploaded = append(res.Uploaded, ref)
		if o.DryRun {
			fmt.Fprintf(o.Log, "would push %s\n", ref)
			continue
		}
		if err := pushNew(ctx, idx, m.Layers[0], data); err != nil {
			return err
		}
		if err := pushManifest(ctx, idx, m, tag); err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "uploaded %s\n", ref)
	}
	return nil
}

// liveWitnessNewer reads the registry's manifest tagged tag: "same" when
// it is m, a reason when it holds a cosigned checkpoint of a larger tree
// of this log than data's (kept), "" when m is to be pushed (missing,
// older, or not a checkpoint of this log).
func (d *ociDest) liveWitnessNewer(ctx context.Context, s *site, idx *remote.Repository, tag, p string, data []byte, m *ocimap.Packed) (string, error) {
	desc, lm, _, err := fetchManifest(ctx, idx, tag)
	switch {
	case ocireg.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", ocireg.Doing("read", idx.Reference.String()+":"+tag, idx.Client, err)
	case desc.Digest == m.Desc.Digest:
		return "same", nil
	case len(lm.Layers) != 1:
		return "", nil
	}
	live, ok, err := ocimap.EmbeddedData(lm.Layers[0])
	if err != nil || !ok {
		return "", nil // replaced by a well-formed one
	}
	return keepLiveWitness(s.root, p, live, data)
}

// keepLiveWitness is the rule every publisher applies to the witness
// file p the destination holds (live) before replacing it with the
// site's (data, checked by checkWitnessFile): "same" when they are one,
// a reason when live is a cosigned checkpoint of this registry's log,
// with a signature line of that witness's name, of a larger tree than
// data's (a witness that published its own newer cosignature is not
// rolled back by a site staged before it), "" when data is to be
// published (live older, or not such a checkpoint: the log's own
// checkpoint replayed under the witness's name is not).
func keepLiveWitness(root *index.Root, p string, live, data []byte) (string, error) {
	if bytes.Equal(live, data) {
		return "same", nil
	}
	lc, _, err := translog.OpenCosigned(live, root.Log.Key, nil)
	if err != nil || lc.Origin != translog.LogOrigin(root.Registry) || !signedAs(live, root.Log.Key, strings.TrimPrefix(p, translog.WitnessDir+"/")) {
		return "", nil
	}
	sc, _, err := translog.OpenCosigned(data, root.Log.Key, nil)
	if err != nil {
		return "", err
	}
	if lc.Tree.N > sc.Tree.N {
		return fmt.Sprintf("it cosigns %d entries, the site's %s only %d (the witness published a newer one)", lc.Tree.N, p, sc.Tree.N), nil
	}
	return "", nil
}

// signedAs reports whether the log-signed note msg carries a signature
// line named name besides the log's. Unverified: the publisher holds no
// witness key (clients check the cosignature). It tells the log's own
// checkpoint replayed under a witness's tag, cosigned by nobody, from a
// witness's newer cosignature.
func signedAs(msg []byte, logVkey, name string) bool {
	lv, err := note.NewVerifier(logVkey)
	if err != nil {
		return false
	}
	n, err := note.Open(msg, note.VerifierList(lv))
	if err != nil {
		return false
	}
	for _, sig := range n.UnverifiedSigs {
		if sig.Name == name {
			return true
		}
	}
	return false
}
