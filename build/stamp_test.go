package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/index"
)

// TestStamp checks the short cut for building the same again: a build
// from the commit and options recorded in Out returns the recorded
// result without reading the previous site, reports what a full rebuild
// reports, and is not taken when anything that shapes the output
// differs, or when the site in Out is not the one recorded.
func TestStamp(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	writePack(t, r, "packs/prom", "prom", "57.0.0", "addon", "")
	must(t, r.Write("packs/bad/pack.json", []byte(`{"name": "bad", "version": "1.0.0", "layer": "nope"}`)))
	must(t, r.Write("packs/bad/values.yaml", []byte("a: 1\n")))
	commit(t, r, "one")
	writePack(t, r, "packs/calico", "calico", "3.27.0", "cni", "x: 1\n")
	commit(t, r, "two")

	out := filepath.Join(tmp, "site")
	var log bytes.Buffer
	stamped := func(o *Options) {
		o.Stamp = "packgen test"
		o.SkipInvalid = true
		o.Log = &log
		o.Site = func(dir string, s *Snapshot) error {
			return os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html>"), 0o644)
		}
		// The catalogue's own check of Out (site.CheckWritten): a page
		// other than the one written rules the short cut out.
		o.SiteCheck = func(out string) error {
			if b, err := os.ReadFile(filepath.Join(out, "index.html")); err != nil || string(b) != "<!doctype html>" {
				return fmt.Errorf("%s holds bytes packgen did not write there", filepath.Join(out, "index.html"))
			}
			return nil
		}
	}
	first := built(t, r.Dir, out, stamped)
	if first.Archived != 3 || first.Skipped != 1 {
		t.Fatalf("first build: archived %d skipped %d", first.Archived, first.Skipped)
	}
	if _, err := os.Stat(filepath.Join(out, StampFile)); err != nil {
		t.Fatalf("no record after a build: %v", err)
	}

	// What a full no-change rebuild reports, from a copy without the record.
	full := filepath.Join(tmp, "full")
	must(t, os.CopyFS(full, os.DirFS(out)))
	must(t, os.Remove(filepath.Join(full, StampFile)))
	want := built(t, r.Dir, full, stamped)
	if strings.Contains(log.String(), "nothing to do") {
		t.Fatal("a build without a record took the short cut")
	}

	// The same again: the record is used. Hide a shard: the short cut
	// must not read the previous site (a full rebuild would fail).
	before := siteHashes(t, out)
	shard := hideShard(t, out)
	log.Reset()
	got := built(t, r.Dir, out, stamped)
	if !strings.Contains(log.String(), "nothing to do") {
		t.Fatalf("same commit and options: no short cut (log %q)", log.String())
	}
	summary := func(res *Result) string {
		probs, _ := json.Marshal(res.Problems)
		return fmt.Sprintf("archived %d reused %d carried %d skipped %d unsigned %v serial %d commit %s releases %d problems %s",
			res.Archived, res.Reused, res.Carried, res.Skipped, res.Unsigned, res.Root.Serial, res.Root.Source.Commit, res.Root.Releases, probs)
	}
	if summary(got) != summary(want) {
		t.Fatalf("short cut reports\n%s\nwant what a full rebuild reports\n%s", summary(got), summary(want))
	}
	must(t, os.Rename(shard+".hidden", shard))
	if after := siteHashes(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("the short cut changed the site")
	}

	// Anything that shapes the output, and an edited site, rule it out.
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		edit func()
	}{
		{name: "other stamp", mod: func(o *Options) { o.Stamp = "packgen other" }},
		{name: "other expiry", mod: func(o *Options) { o.ExpiresIn = time.Hour }},
		{name: "other time", mod: func(o *Options) { o.GeneratedAt = time.Unix(2e9, 0) }},
		{name: "no catalogue", mod: func(o *Options) { o.Site = nil }},
		{name: "other name", mod: func(o *Options) { o.Registry = "other" }},
		{name: "other ref", mod: func(o *Options) { o.Ref = "HEAD~1" }},
		{name: "previous elsewhere", mod: func(o *Options) { o.Previous = full }},
		{name: "catalogue check unset", mod: func(o *Options) { o.SiteCheck = nil }},
		{name: "catalogue page edited", edit: func() {
			must(t, os.WriteFile(filepath.Join(out, "index.html"), []byte("<!doctype html><script>alert(1)</script>"), 0o644))
		}},
		{name: "index edited", edit: func() {
			p := filepath.Join(out, index.RootFile)
			data, err := os.ReadFile(p)
			must(t, err)
			must(t, os.WriteFile(p, append(data, ' '), 0o644))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "-"))
			must(t, os.CopyFS(site, os.DirFS(out)))
			if tc.edit != nil {
				out, site = site, out // edit the copy
				tc.edit()
				out, site = site, out
			}
			log.Reset()
			_, err := run(t, r.Dir, site, stamped, func(o *Options) {
				if tc.mod != nil {
					tc.mod(o)
				}
			})
			if strings.Contains(log.String(), "nothing to do") {
				t.Fatalf("short cut taken (err %v)", err)
			}
			if tc.name == "catalogue page edited" && !strings.Contains(log.String(), "building again: "+filepath.Join(site, "index.html")+" holds bytes") {
				t.Errorf("log does not name the edited page: %q", log.String())
			}
			if tc.name == "previous elsewhere" {
				if _, serr := os.Stat(filepath.Join(site, StampFile)); err != nil || serr == nil {
					t.Fatalf("a build reusing another dir: %v; record written: %v", err, serr == nil)
				}
			}
		})
	}

	// A new commit: built in full and recorded again.
	writePack(t, r, "packs/prom", "prom", "58.0.0", "addon", "")
	commit(t, r, "three")
	log.Reset()
	res := built(t, r.Dir, out, stamped)
	if res.Archived != 1 || strings.Contains(log.String(), "nothing to do") {
		t.Fatalf("new commit: archived %d, log %q", res.Archived, log.String())
	}
	log.Reset()
	if res, err := run(t, r.Dir, out, stamped); err != nil || res.Reused != 4 || !strings.Contains(log.String(), "nothing to do") {
		t.Fatalf("rebuild of the new commit: %v, reused %d, log %q", err, res.Reused, log.String())
	}

	// Force goes through every step (the hidden shard makes the build
	// fail), then records the build: the next one takes the short cut.
	shard = hideShard(t, out)
	log.Reset()
	forced := func(o *Options) { o.Force = true }
	if _, err := run(t, r.Dir, out, stamped, forced); err == nil || strings.Contains(log.String(), "nothing to do") {
		t.Fatalf("forced build with a shard hidden: err %v, log %q", err, log.String())
	}
	must(t, os.Rename(shard+".hidden", shard))
	log.Reset()
	if res, err := run(t, r.Dir, out, stamped, forced); err != nil || res.Reused != 4 || strings.Contains(log.String(), "nothing to do") {
		t.Fatalf("forced build: %v, log %q", err, log.String())
	}
	log.Reset()
	if _, err := run(t, r.Dir, out, stamped); err != nil || !strings.Contains(log.String(), "nothing to do") {
		t.Fatalf("build after a forced one: %v, no short cut (log %q)", err, log.String())
	}

	// Without Stamp no record is read or written.
	must(t, os.Remove(filepath.Join(out, StampFile)))
	if _, err := run(t, r.Dir, out, func(o *Options) { o.SkipInvalid = true }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, StampFile)); err == nil {
		t.Fatal("a build without Stamp wrote a record")
	}
}

// TestStampDroppedBeforeUpdate checks that a build changing Out in place
// removes the record first, so a build that fails half-way (here: an
// invalid release without --skip-invalid) is not mistaken later for the
// recorded one, and the old commit still rebuilds right.
func TestStampDroppedBeforeUpdate(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	old := commit(t, r, "one")
	out := filepath.Join(tmp, "site")
	stamped := func(o *Options) { o.Stamp = "packgen test" }
	built(t, r.Dir, out, stamped)
	must(t, r.Write("packs/bad/pack.json", []byte(`{"name": "bad", "version": "1.0.0", "layer": "nope"}`)))
	must(t, r.Write("packs/bad/values.yaml", []byte("a: 1\n")))
	commit(t, r, "two")
	if _, err := run(t, r.Dir, out, stamped); err == nil {
		t.Fatal("invalid release built")
	}
	if _, err := os.Stat(filepath.Join(out, StampFile)); err == nil {
		t.Fatal("the record survived an in-place build that failed")
	}
	res, err := run(t, r.Dir, out, stamped, func(o *Options) { o.Ref = old })
	if err != nil || res.Reused != 1 || res.Root.Source.Commit != old {
		t.Fatalf("old commit after a failed build: %v %+v", err, res)
	}
}

// hideShard renames one shard of the site away and returns its path.
func hideShard(t *testing.T, site string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(site, "packs", "*", "shards", "*.json"))
	must(t, err)
	if len(matches) == 0 {
		t.Fatal("no shard found")
	}
	must(t, os.Rename(matches[0], matches[0]+".hidden"))
	return matches[0]
}

// TestOutIsAFile checks that an output path naming a file is refused
// with a message saying what to pass, and the file is left alone.
func TestOutIsAFile(t *testing.T) {
	tmp, r := newRepo(t)
	writePack(t, r, "packs/calico", "calico", "3.26.0", "cni", "")
	commit(t, r, "one")
	out := filepath.Join(tmp, "afile")
	must(t, os.WriteFile(out, []byte("keep"), 0o644))
	_, err := run(t, r.Dir, out)
	if err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(out); string(data) != "keep" {
		t.Fatalf("the file was changed: %q", data)
	}
}
