package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
)

// TestDeepTreeInPlace builds a registry whose bucket tree has three
// levels (forced through Options.Shape: real registries need
// thousands of packs for that), verifies it, then changes one pack and
// checks that the in-place update rewrote only the nodes on that pack's
// path, and that it equals a staged build.
func TestDeepTreeInPlace(t *testing.T) {
	const bits, depth = 2, 3
	ctx := context.Background()
	shape := func(int) (int, int) { return bits, depth }
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	spec := synth.Full(12, 2, 2<<10, 6, true)
	testutil.SynthRepo(t, repo, spec)
	signer, verifier := testKey(t)
	build := func(out string, mod ...func(*Options)) *Result {
		t.Helper()
		o := Options{Repo: repo, Out: out, History: true, Registry: "test", Signer: signer, Trust: verifier, Shape: shape, Clock: func() time.Time { return gitfixture.Epoch }}
		for _, m := range mod {
			m(&o)
		}
		res, err := Run(ctx, o)
		must(t, err)
		return res
	}
	out := filepath.Join(dir, "site")
	res := build(out)
	if res.Root.Depth != depth || res.Root.BucketBits != bits || len(res.Root.Buckets) != 1<<bits {
		t.Fatalf("root: depth %d, %d bits, %d buckets", res.Root.Depth, res.Root.BucketBits, len(res.Root.Buckets))
	}
	rep, err := client.VerifySite(context.Background(), out, verifier)
	if err != nil || len(rep.Problems) != 0 || rep.Packs != 12 || rep.Releases != 24 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	prev, err := loadPrevious(context.Background(), out, nil)
	must(t, err)
	if len(prev.shards) != 12 {
		t.Fatalf("read back %d packs through the tree", len(prev.shards))
	}
	snapshot := filepath.Join(dir, "before")
	must(t, os.CopyFS(snapshot, os.DirFS(out)))
	before := siteHashes(t, out)

	// No change: not one file touched.
	build(out)
	if got := siteHashes(t, out); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatal("a no-change rebuild changed the site")
	}

	// One pack changed: exactly depth new nodes (its path), depth old
	// ones removed; every other node is shared with the old generation.
	if _, err := synth.Bump(repo, spec, 2, 2); err != nil {
		t.Fatal(err)
	}
	build(out)
	after := siteHashes(t, out)
	var added, removed, changed []string
	for p, h := range after {
		if old, ok := before[p]; !ok {
			added = append(added, p)
		} else if old != h {
			changed = append(changed, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			removed = append(removed, p)
		}
	}
	count := func(ps []string, prefix string) (n int) {
		for _, p := range ps {
			if strings.HasPrefix(p, prefix) {
				n++
			}
		}
		return n
	}
	if count(added, "index/") != depth || count(removed, "index/") != depth {
		t.Fatalf("one changed pack: %d nodes added, %d removed, want %d each\nadded %v\nremoved %v", count(added, "index/"), count(removed, "index/"), depth, added, removed)
	}
	// Besides: the new release (archive, .sig, bundle), one shard, the
	// root's two digest-named signatures, the log's new partial hash
	// and data tiles and its new partial height-4 tile (24 → 25
	// entries); index.json, its .sig, bundle, the pack's latest shard
	// and the log's checkpoint rewritten.
	if len(added) != depth+3+1+2+3 || len(changed) != 5 {
		t.Fatalf("one changed pack: %d files added, %d changed\nadded %v\nchanged %v", len(added), len(changed), added, changed)
	}
	rep, err = client.VerifySite(context.Background(), out, verifier)
	if err != nil || len(rep.Problems) != 0 || rep.Releases != 25 {
		t.Fatalf("verify after update: %v %+v", err, rep)
	}
	staged := filepath.Join(dir, "staged")
	build(staged, func(o *Options) { o.Previous = snapshot })
	// ECDSA signatures differ from one signing to the next: compare
	// the signature files by name only.
	got, want := siteHashes(t, out), siteHashes(t, staged)
	for _, m := range []map[string]string{got, want} {
		for p := range m {
			if strings.HasSuffix(p, ".sig") || strings.HasSuffix(p, ".sigstore.json") {
				m[p] = ""
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("in-place update has %d files, a staged build %d", len(got), len(want))
	}
	for p, h := range want {
		if got[p] != h {
			t.Errorf("in-place update differs from a staged build at %s", p)
		}
	}

	// Back to the default shape: a small registry is one level again.
	res = built(t, repo, filepath.Join(dir, "flat"))
	if res.Root.Depth != 0 {
		t.Fatalf("12 packs by default: depth %d", res.Root.Depth)
	}
}
