package index

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseAirgap(t *testing.T) {
	list := "sha256:" + sha
	for _, tc := range []struct {
		name, data, err string
	}{
		{"ok", `{"schemaVersion":1,"bundles":[{"list":"` + list + `","releases":[{"name":"web","version":"v1.0"},{"name":"agent","version":"2.1"}]}]}`, ""},
		{"none", `{"schemaVersion":1,"bundles":[]}`, ""},
		{"unknown field", `{"schemaVersion":1,"bundles":[],"all":true}`, "unknown field"},
		{"schema", `{"schemaVersion":2,"bundles":[]}`, "schemaVersion 2"},
		{"list not a digest", `{"schemaVersion":1,"bundles":[{"list":"sha256:abc","releases":[]}]}`, "not a sha256 digest"},
		{"list upper case", `{"schemaVersion":1,"bundles":[{"list":"sha256:` + strings.ToUpper(sha) + `","releases":[]}]}`, "not a sha256 digest"},
		{"bundle twice", `{"schemaVersion":1,"bundles":[{"list":"` + list + `","releases":[]},{"list":"` + list + `","releases":[]}]}`, "twice"},
		{"bad name", `{"schemaVersion":1,"bundles":[{"list":"` + list + `","releases":[{"name":"../x","version":"1.0"}]}]}`, "not a pack name"},
		{"bad version", `{"schemaVersion":1,"bundles":[{"list":"` + list + `","releases":[{"name":"x","version":"1/0"}]}]}`, "not a pack name"},
		{"trailing", `{"schemaVersion":1,"bundles":[]}{}`, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAirgap([]byte(tc.data))
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an ErrFormat naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "ok" && (!a.Has("web", "v1.0") || a.Has("web", "1.0.0") || !a.HasPack("agent") || a.HasPack("other")) {
				t.Fatalf("%+v: Has/HasPack wrong", a)
			}
		})
	}
	// What import writes reads back the same, bytes and all.
	a := NewAirgap(AirgapBundle{List: list, Releases: []AirgapRelease{{"web", "v1.0"}, {"agent", "2.1"}}})
	data, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseAirgap(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := b.Encode()
	if string(again) != string(data) || b.Bundles[0].Releases[0].Name != "agent" {
		t.Fatalf("round trip:\n%s\n%s", data, again)
	}
}

// subsetSite is a whole registry in memory (a bucket tree of real
// shards, messy versions) and an air-gapped subset of it: the files
// import would carry for the releases kept, and the marker.
func subsetSite(t *testing.T, versions map[string][]string, keep []string, bits, depth int) (whole, sub map[string][]byte) {
	t.Helper()
	whole = map[string][]byte{}
	var names []string
	for n := range versions {
		names = append(names, n)
	}
	slices.Sort(names)
	put := func(p string, v any) FileRef {
		data, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if p == "" {
			p = BucketPath(Digest(data))
		}
		whole[p] = data
		return FileRef{Path: p, SHA256: Digest(data), Size: int64(len(data))}
	}
	leaves := make([]Bucket, 1<<(bits*depth))
	for i := range leaves {
		leaves[i] = Bucket{SchemaVersion: 1, Packs: []Summary{}}
	}
	releases := 0
	for _, n := range names {
		shard := Shard{SchemaVersion: 1, Name: n}
		for _, v := range versions[n] {
			shard.Releases = append(shard.Releases, Release{Version: v, Layer: "addon", Archive: FileRef{Path: ArchivePath(n, v), SHA256: sha, Size: 1},
				Commit: "c", Tree: "t", Created: time.Unix(0, 0).UTC(), Dir: n})
		}
		shard.Sort()
		data, _ := Encode(shard)
		ref := put(ShardPath(n, Digest(data)), shard)
		releases += len(shard.Releases)
		l := &leaves[BucketOf(n, bits*depth)]
		l.Packs = append(l.Packs, Summary{Name: n, Layer: "addon", Latest: shard.Latest().Version, Versions: len(shard.Releases), Shard: ref})
	}
	refs := make([]FileRef, len(leaves))
	for i := range leaves {
		refs[i] = put("", leaves[i])
	}
	for level := depth - 1; level >= 1; level-- {
		up := make([]FileRef, len(refs)>>bits)
		for i := range up {
			up[i] = put("", Bucket{SchemaVersion: 1, Buckets: refs[i<<bits : (i+1)<<bits]})
		}
		refs = up
	}
	root := &Root{SchemaVersion: 1, Registry: "r", Source: Source{Commit: "c"}, Serial: 1, GeneratedAt: time.Unix(0, 0).UTC(), Expires: time.Unix(10, 0).UTC(),
		Packs: len(names), Releases: releases, BucketBits: bits, Buckets: refs}
	if depth > 1 {
		root.Depth = depth
	}
	put(RootFile, root)

	// The subset: the root, the nodes on each kept pack's path, its shard.
	sub = map[string][]byte{RootFile: whole[RootFile]}
	b := AirgapBundle{List: "sha256:" + sha}
	for _, id := range keep {
		n, v, _ := strings.Cut(id, "@")
		b.Releases = append(b.Releases, AirgapRelease{n, v})
		sum, err := Lookup(context.Background(), func(ctx context.Context, p string, max int64) ([]byte, error) {
			sub[p] = whole[p]
			return memFetch(whole)(ctx, p, max)
		}, root, n)
		if err != nil || sum == nil {
			t.Fatalf("%s: %v", n, err)
		}
		sub[sum.Shard.Path] = whole[sum.Shard.Path]
	}
	marker, _ := NewAirgap(b).Encode()
	sub[AirgapFile] = marker
	return whole, sub
}

// TestSubsetCatalog: an air-gapped subset reads as a registry of what it
// holds, whatever the tree's shape: the packs kept with their newest
// kept version; an absent pack is ErrNotInBundle; the same files
// without the marker fail as before (a missing bucket is an error).
func TestSubsetCatalog(t *testing.T) {
	versions := map[string][]string{
		"web":     {"1.0.0", "v1.1", "1.2"},
		"agent":   {"2.0", "2.1", "3.0.0-rc.1"},
		"backup":  {"0.9.0"},
		"cache":   {"1.0"},
		"dns":     {"v2", "2.1.0"},
		"edge":    {"0.1.0", "0.2.0"},
		"ingress": {"4.0.0"},
	}
	keep := []string{"web@v1.1", "web@1.0.0", "agent@2.0", "dns@v2"}
	ctx := context.Background()
	for _, shape := range [][2]int{{2, 1}, {3, 1}, {1, 2}, {2, 2}} {
		whole, sub := subsetSite(t, versions, keep, shape[0], shape[1])
		for _, eager := range []bool{false, true} {
			cat, err := ReadCatalogOf(ctx, memFetch(sub), memStat(sub), eager)
			if err != nil {
				t.Fatalf("%v eager=%v: %v", shape, eager, err)
			}
			var got []string
			for _, s := range cat.Packs {
				got = append(got, s.Name+"@"+s.Latest+"/"+string(rune('0'+s.Versions)))
			}
			if want := []string{"agent@2.0/1", "dns@v2/1", "web@v1.1/2"}; !slices.Equal(got, want) || cat.Airgap == nil || cat.AbsentPacks != 4 || cat.AbsentReleases != 9 {
				t.Errorf("%v: catalogue %v (absent %d packs, %d releases), want %v (4, 9)", shape, got, cat.AbsentPacks, cat.AbsentReleases, want)
			}
			if msg := SubsetWarning("air", cat.Airgap, cat.AbsentPacks, cat.AbsentReleases, ""); !strings.Contains(msg, "4 pack(s) and 9 release(s)") || !strings.Contains(msg, "sha256:"+sha) {
				t.Errorf("warning: %s", msg)
			}
			sum, shard, air, absent, wrong, err := ReadPackOf(ctx, memFetch(sub), memStat(sub), cat.Root, "web", true)
			if err != nil || air == nil || sum.Latest != "v1.1" || len(shard.Releases) != 2 || !slices.Equal(absent, []string{"1.2"}) || wrong != nil || cat.Wrong != nil {
				t.Errorf("%v: web: %v %+v %v", shape, err, sum, absent)
			}
			for _, gone := range []string{"backup", "edge", "ingress"} {
				if _, _, _, _, _, err := ReadPackOf(ctx, memFetch(sub), memStat(sub), cat.Root, gone, eager); !errors.Is(err, ErrNotInBundle) || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "pack "+gone+" is not in this air-gapped registry") {
					t.Errorf("%v: %s: %v", shape, gone, err)
				}
			}
		}
		// A whole registry is read as before, marker or not asked.
		if cat, err := ReadCatalogOf(ctx, memFetch(whole), memStat(whole), true); err != nil || len(cat.Packs) != len(versions) || cat.Airgap != nil {
			t.Errorf("%v: whole registry: %v", shape, err)
		}
		// The marker is unsigned: it may explain an absence, never cause
		// one. A release it leaves out that is there (web 1.2's archive),
		// and a pack it does not name whose shard and archive are there
		// (backup), are listed and shown, as wrong; a stat that cannot
		// tell is an error, not the marker's word.
		lied := maps.Clone(whole) // every bucket and shard, no archive
		lied[AirgapFile] = sub[AirgapFile]
		lied[ArchivePath("web", "1.2")] = []byte("x")
		lied[ArchivePath("backup", "0.9.0")] = []byte("x")
		cat, err := ReadCatalogOf(ctx, memFetch(lied), memStat(lied), true)
		var got []string
		for _, s := range cat.Packs {
			got = append(got, s.Name+"@"+s.Latest+"/"+string(rune('0'+s.Versions)))
		}
		if want := []string{"agent@2.0/1", "backup@0.9.0/1", "dns@v2/1", "web@1.2/3"}; err != nil || !slices.Equal(got, want) || !slices.Equal(cat.Wrong, []string{"backup@0.9.0", "web@1.2"}) {
			t.Errorf("%v: a marker leaving out what is there: %v %v (wrong %v), want %v", shape, err, got, cat.Wrong, want)
		}
		sum, shard, _, absent, wrong, err := ReadPackOf(ctx, memFetch(lied), memStat(lied), cat.Root, "web", true)
		if err != nil || sum.Latest != "1.2" || len(shard.Releases) != 3 || absent != nil || !slices.Equal(wrong, []string{"web@1.2"}) {
			t.Errorf("%v: web with a marker leaving out 1.2, there: %v %+v absent %v wrong %v", shape, err, sum, absent, wrong)
		}
		down := func(context.Context, FileRef) error { return errors.New("connection reset") }
		if _, err := ReadCatalogOf(ctx, memFetch(lied), down, true); err == nil || !strings.Contains(err.Error(), "asking for it failed: connection reset") {
			t.Errorf("%v: a stat that cannot tell: %v", shape, err)
		}
		if _, _, _, _, _, err := ReadPackOf(ctx, memFetch(lied), down, cat.Root, "web", true); err == nil || !strings.Contains(err.Error(), "web@1.2 is not here, and asking for it failed") {
			t.Errorf("%v: web, a stat that cannot tell: %v", shape, err)
		}
		// Without the marker, the missing files are an error, as before.
		delete(sub, AirgapFile)
		if _, err := ReadCatalogOf(ctx, memFetch(sub), memStat(sub), true); !errors.Is(err, ErrNotFound) {
			t.Errorf("%v: a subset without its marker: %v, want ErrNotFound", shape, err)
		}
	}
}
