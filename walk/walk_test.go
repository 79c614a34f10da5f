package walk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/walk"
)

// site builds a signed registry of 3 packs × 2 versions from a real
// (synthetic) git repository.
func site(t *testing.T) (string, *sign.Verifier) {
	t.Helper()
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo.git")
	testutil.SynthRepo(t, repo, synth.Full(3, 2, 4<<10, 3, false))
	k := testutil.NewKey(t)
	signer, pub := k.Signer, k.Pub
	out := filepath.Join(tmp, "site")
	if _, err := build.Run(context.Background(), build.Options{Repo: repo, Out: out, History: true, Registry: "walk", Signer: signer, GeneratedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	v, err := sign.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return out, v
}

func newWalker(t *testing.T, dir string, v *sign.Verifier) *walk.Walker {
	tr, err := transport.New(dir, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return walk.New(tr, v)
}

// rootData is index.json as w reads it, unchecked.
func rootData(t *testing.T, w *walk.Walker) []byte {
	t.Helper()
	data, err := w.Get(context.Background(), index.RootFile, index.MaxRootSize)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// trustedRoot reads and checks index.json as the walk's first step.
func trustedRoot(t *testing.T, w *walk.Walker) *index.Root {
	ctx := context.Background()
	data := rootData(t, w)
	if err := w.RootSignature(ctx, data, nil); err != nil {
		t.Fatalf("root signature: %v", err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// releases are the site's releases as the walk visits them, read one
// shard after another and (Jobs) several at once: the same order.
func releases(t *testing.T, w *walk.Walker, root *index.Root) []index.Release {
	var first []index.Release
	for _, jobs := range []int{0, 3} {
		var rels []index.Release
		var nodes int
		err := w.Tree(context.Background(), root, walk.TreeVisitor{
			Jobs: jobs,
			Node: func(index.FileRef) { nodes++ },
			Shard: func(_ index.Summary, shard *index.Shard) error {
				rels = append(rels, shard.Releases...)
				return nil
			},
		})
		if err != nil || nodes == 0 || len(rels) != 6 {
			t.Fatalf("clean site, %d jobs: %v, %d nodes, %d releases", jobs, err, nodes, len(rels))
		}
		if first == nil {
			first = rels
		}
		for i := range rels {
			if rels[i].Archive != first[i].Archive {
				t.Fatalf("%d jobs: release %d is %s, one at a time %s", jobs, i, rels[i].Archive.Path, first[i].Archive.Path)
			}
		}
	}
	return first
}

// TestStopAtFirst: the stop-at-the-first-problem mode (what a build
// reading its previous build wants) visits every node and shard of a
// clean site and stops with ErrDigestMismatch, naming the file, at a
// changed shard; the archive steps check digest and signature.
func TestStopAtFirst(t *testing.T) {
	dir, v := site(t)
	w := newWalker(t, dir, v)
	ctx := context.Background()
	root := trustedRoot(t, w)
	rels := releases(t, w, root)
	rel := &rels[0]
	var buf bytes.Buffer
	sum, err := w.Archive(ctx, rel.Archive, &buf)
	if err != nil || rel.Archive.Verify(buf.Bytes()) != nil {
		t.Fatalf("archive: %v", err)
	}
	raw, err := w.Get(ctx, rel.Signature, sign.MaxSigFileSize)
	if err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	if err := w.ArchiveSignature(rel, raw, sum, open); err != nil {
		t.Fatalf("archive signature: %v", err)
	}
	var other [32]byte
	var fe *walk.FileError
	if err := w.ArchiveSignature(rel, raw, other, open); !errors.Is(err, walk.ErrBadSignature) || !errors.As(err, &fe) || fe.Path != rel.Archive.Path {
		t.Errorf("signature over other bytes: %v", err)
	}

	testutil.Flip(t, filepath.Join(dir, filepath.FromSlash(rel.Archive.Path)))
	if _, err := w.Archive(ctx, rel.Archive, io.Discard); !errors.Is(err, walk.ErrDigestMismatch) {
		t.Errorf("changed archive: %v", err)
	}
	var shard string
	_ = w.Tree(ctx, root, walk.TreeVisitor{Shard: func(s index.Summary, _ *index.Shard) error {
		shard = s.Shard.Path
		return errors.New("stop")
	}})
	testutil.Flip(t, filepath.Join(dir, filepath.FromSlash(shard)))
	for _, jobs := range []int{0, 3} {
		err = w.Tree(ctx, root, walk.TreeVisitor{Jobs: jobs, Shard: func(index.Summary, *index.Shard) error { return nil }})
		if !errors.Is(err, walk.ErrDigestMismatch) || !strings.Contains(err.Error(), shard) {
			t.Fatalf("changed shard %s, %d jobs: want ErrDigestMismatch naming it, got %v", shard, jobs, err)
		}
	}
	// One pool over every leaf's shards (Jobs) calls the visitors as
	// one shard after another does, problems included, and stops at the
	// same one: with the changed shard, and then another leaf changed too
	// (read before the shards, its problem comes in the tree's order).
	trace := func(jobs int, stop bool) (string, error) {
		var ev []string
		err := w.Tree(ctx, root, walk.TreeVisitor{
			Jobs: jobs,
			Bucket: func(ref index.FileRef, b *index.Bucket) {
				ev = append(ev, fmt.Sprintf("bucket %s %d", ref.Path, len(b.Packs)))
			},
			Shard: func(s index.Summary, _ *index.Shard) error {
				ev = append(ev, "shard "+s.Name)
				return nil
			},
			Problem: func(p string, err error) error {
				ev = append(ev, "problem "+p)
				if stop {
					return err
				}
				return nil
			},
		})
		return strings.Join(ev, "\n"), err
	}
	// The node to change: a leaf with packs other than the changed
	// shard's, from the trace of one shard after another.
	clean, _ := trace(0, false)
	var leaves []string // with packs, in order
	shardLeaf := ""
	for _, l := range strings.Split(clean, "\n") {
		if f := strings.Fields(l); f[0] == "bucket" && f[2] != "0" {
			leaves = append(leaves, f[1])
		} else if l == "problem "+shard {
			shardLeaf = leaves[len(leaves)-1]
		}
	}
	leaves = slices.DeleteFunc(leaves, func(l string) bool { return l == shardLeaf })
	if len(leaves) == 0 {
		t.Fatalf("no leaf with packs besides the changed shard's in\n%s", clean)
	}
	node := leaves[0]
	for round := range 2 {
		if round == 1 {
			testutil.Flip(t, filepath.Join(dir, filepath.FromSlash(node)))
		}
		for _, stop := range []bool{false, true} {
			one, oneErr := trace(0, stop)
			pool, poolErr := trace(3, stop)
			// Stopping, the first in the tree's order is the only one.
			seen := stop || strings.Contains(one, "problem "+shard) && (round == 0 || strings.Contains(one, "problem "+node))
			if one != pool || fmt.Sprint(oneErr) != fmt.Sprint(poolErr) || !seen || stop != (oneErr != nil) {
				t.Errorf("round %d, stop %v: one at a time (%v)\n%s\none pool (%v)\n%s", round, stop, oneErr, one, poolErr, pool)
			}
		}
	}
}

// TestWalkCollects: the walk-everything mode reports every problem with
// its file and goes on past each.
func TestWalkCollects(t *testing.T) {
	dir, v := site(t)
	w := newWalker(t, dir, v)
	rels := releases(t, w, trustedRoot(t, w))
	testutil.Flip(t, filepath.Join(dir, filepath.FromSlash(rels[0].Archive.Path)))
	// A .sig that no longer decodes is its own file's problem; one that
	// decodes but does not verify is reported on the archive it signs
	// (ArchiveSignature). A one-bit flip of the base64 text may be
	// either, so the byte becomes one base64 never holds.
	sigPath := filepath.Join(dir, filepath.FromSlash(rels[1].Signature))
	sig, err := os.ReadFile(sigPath)
	testutil.Must(t, err)
	sig[len(sig)/2] ^= 0xff
	testutil.Must(t, os.WriteFile(sigPath, sig, 0o644))
	os.Remove(filepath.Join(dir, filepath.FromSlash(rels[2].Signature)))
	var mu sync.Mutex
	got := map[string]error{}
	res, err := w.Walk(context.Background(), func(p string, err error) {
		mu.Lock()
		got[p] = err
		mu.Unlock()
	})
	if err != nil || res.Packs != 3 || res.Releases != 6 {
		t.Fatalf("walk: %v %+v", err, res)
	}
	want := map[string]error{rels[0].Archive.Path: walk.ErrDigestMismatch, rels[1].Signature: walk.ErrBadSignature, rels[2].Signature: walk.ErrNotFound}
	if len(got) != len(want) {
		t.Errorf("problems %v, want one for each of %v", got, want)
	}
	for p, e := range want {
		if !errors.Is(got[p], e) {
			t.Errorf("%s: %v, want %v", p, got[p], e)
		}
	}

	// Without a key, the root's digest-named signature is read once: by
	// the tamper check RootSigned makes too (it needs no key), whose
	// bytes the root's bundle is then compared with. A root with no
	// signature named by its digest, on a site whose index.json.sig is
	// there, is a problem of index.json naming both (publish refuses
	// such a site with the same error, taking the same RootStep; a build
	// such a previous build); a site with neither signs nothing, unless
	// its index.json says it is signed; and one that says it is unsigned
	// must not have the signature named by its digest (walk.RootClaim,
	// as publish checks it).
	unsigned := testutil.EditedRoot(t, rootData(t, w), func(r *index.Root) { r.Signed = false })
	liveSig := index.RootFile + index.SignatureExt
	signedNamed := index.RootSignaturePath(index.Digest(rootData(t, w)))
	for _, tc := range []struct {
		name    string
		data    []byte
		missing []string          // site files not found
		present map[string]string // site files there, as the site file named
		want    error             // index.json's problem
		say     []string          // what it says
	}{
		{name: "signed, as built", data: rootData(t, w)},
		{name: "digest-named signature missing, index.json.sig there", data: rootData(t, w), missing: []string{signedNamed}, want: walk.ErrBadSignature, say: []string{signedNamed + ", the signature named by its digest, is missing, and " + liveSig + " is there", "build the site again with its key, or publish it again"}},
		{name: "changed after signing (signed turned false), index.json.sig there", data: unsigned, want: walk.ErrBadSignature, say: []string{index.RootSignaturePath(index.Digest(unsigned)) + ", the signature named by its digest, is missing, and " + liveSig + " is there", "build the site again with its key, or publish it again"}},
		{name: "signs nothing: no signature at all", data: unsigned, missing: []string{liveSig}},
		{name: "says it is signed, no signature at all", data: rootData(t, w), missing: []string{signedNamed, liveSig}, want: walk.ErrMissingSignature, say: []string{"neither " + signedNamed + ", the signature named by its digest (what clients read), nor " + liveSig + " is there", "build the site again with its key, or publish it again"}},
		{name: "says it is unsigned, a signature named by its digest there", data: unsigned, present: map[string]string{index.RootSignaturePath(index.Digest(unsigned)): signedNamed}, want: walk.ErrStraySignature, say: []string{`says it is unsigned ("signed": false), but ` + index.RootSignaturePath(index.Digest(unsigned)) + " is there", "for an unsigned one, remove " + index.RootSignaturePath(index.Digest(unsigned))}},
	} {
		keyless := newWalker(t, dir, nil)
		get := keyless.Get
		var asked []string
		keyless.Get = func(ctx context.Context, p string, max int64) ([]byte, error) {
			mu.Lock()
			asked = append(asked, p)
			mu.Unlock()
			switch {
			case p == index.RootFile:
				return tc.data, nil
			case slices.Contains(tc.missing, p):
				return nil, fmt.Errorf("%s: %w", p, index.ErrNotFound)
			case tc.present[p] != "":
				return get(ctx, tc.present[p], max)
			}
			return get(ctx, p, max)
		}
		got := map[string]error{} // the root's problems (the archives' are above)
		res, err := keyless.Walk(context.Background(), func(p string, err error) {
			switch index.KindOf(p) {
			case index.KindRoot, index.KindRootSignature, index.KindDigestSig:
				mu.Lock()
				got[p] = err
				mu.Unlock()
			}
		})
		named := index.RootSignaturePath(index.Digest(tc.data))
		reads := 0
		for _, p := range asked {
			if p == named {
				reads++
			}
		}
		signed := res != nil && res.Root != nil && res.Root.Signed
		if err != nil || res.Root == nil || reads != 1 || !bytes.Equal(res.RootData, tc.data) || (res.RootSig != nil) != (signed && tc.want == nil) {
			t.Errorf("%s: %v; asked for %s %d times; RootSig read: %v", tc.name, err, named, reads, res != nil && res.RootSig != nil)
		}
		if rootErr := got[index.RootFile]; tc.want != nil {
			says := rootErr != nil
			for _, s := range tc.say {
				says = says && strings.Contains(rootErr.Error(), s)
			}
			if len(got) != 1 || !errors.Is(rootErr, tc.want) || !says {
				t.Errorf("%s: problems %v, want one of %s, %v, saying %q", tc.name, got, index.RootFile, tc.want, tc.say)
			}
		} else if len(got) != 0 {
			t.Errorf("%s: problems %v, want none", tc.name, got)
		}
	}
}
