package pack

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/packgen/packgen/internal/storedgz"
)

// TestValuesAndManifests: values.yaml's top mapping and its decoded
// values (what yaml.v3 decodes the file to), and every manifest in path
// order, plain ones as written and templated ones rendered with
// manifests.<name> of the values, lines mapped back to the template; a
// values.yaml or a template that does not read is an error naming the
// file (and line), with nothing else returned.
func TestValuesAndManifests(t *testing.T) {
	const cronJob = "../images/testdata/packs/webapp-1.2.0/manifests/backup.yaml"
	packDir := func(values, manifest string) string {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "manifests"), 0o755)
		os.WriteFile(filepath.Join(dir, "pack.json"), []byte(`{"name":"p","version":"1.0.0","layer":"addon","addonType":"monitoring","cloudTypes":["all"]}`), 0o644)
		os.WriteFile(filepath.Join(dir, "values.yaml"), []byte(values), 0o644)
		os.WriteFile(filepath.Join(dir, "manifests", "a.yaml"), []byte(manifest), 0o644)
		return dir
	}
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	type manifest struct {
		path      string
		templated bool
		data      string
		// fromAction are the lines an action wrote (SourceLine 0);
		// every other line maps back to itself, as the rendering keeps
		// the template's lines.
		fromAction []int
	}
	for _, tc := range []struct {
		name, dir string
		emptyDoc  bool
		want      []manifest
		// A pack that does not read: the error is a *ValidationError
		// (invalid) or errIs, and says wantSays.
		invalid  bool
		errIs    error
		wantSays []string
	}{
		{name: "templated manifest", dir: "../images/testdata/packs/webapp-1.2.0", want: []manifest{{"manifests/backup.yaml", true,
			strings.NewReplacer(`{{ .Values.schedule | quote }}`, `"0 3 * * *"`, `{{ .Values.image.repository }}:{{ .Values.image.tag }}`, `docker.io/acme/backup:v0.9.0`).Replace(read(cronJob)), []int{6, 14}}}},
		{name: "plain manifest", dir: "../examples/packs/calico-3.27.3", want: []manifest{{"manifests/calico.yaml", false, read("../examples/packs/calico-3.27.3/manifests/calico.yaml"), nil}}},
		{name: "no manifests", dir: "../examples/packs/ubuntu-22.4.4"},
		{name: "empty values.yaml", dir: packDir("", "apiVersion: v1\nkind: ConfigMap\n"), emptyDoc: true, want: []manifest{{"manifests/a.yaml", false, "apiVersion: v1\nkind: ConfigMap\n", nil}}},
		{name: "values.yaml does not parse", dir: packDir("a: [\n", "kind: ConfigMap\n"), invalid: true, wantSays: []string{"invalid pack:\nvalues.yaml:"}},
		{name: "values.yaml is a list", dir: packDir("- a\n", "kind: ConfigMap\n"), invalid: true, wantSays: []string{"values.yaml:1:1: error: values.yaml must be a mapping of parameters, got a list"}},
		{name: "a template does not parse", dir: packDir("pack: {}\n", "kind: {{ .Values.x\n"), errIs: ErrTemplate, wantSays: []string{"manifests/a.yaml:1: "}},
	} {
		// Read from the pack as listed, and as a full Load with Keep
		// read it (what it returns then is Load's own reading, the same;
		// a pack Load refuses keeps nothing and reads as listed).
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/keep=%v", tc.name, keep), func(t *testing.T) {
				p, probs := Load(os.DirFS(tc.dir), ".", Options{ListOnly: !keep, Keep: keep})
				if !keep && probs.HasErrors() {
					t.Fatal(probs)
				}
				if invalid := tc.invalid || tc.errIs != nil; keep && (p.kept == nil) != invalid {
					t.Fatalf("kept %v for a pack that validates %v: %v", p.kept != nil, !invalid, probs)
				}
				doc, vals, ms, err := ValuesAndManifests(p, Limits{})
				if tc.invalid || tc.errIs != nil {
					var ve *ValidationError
					if err == nil || tc.invalid && !errors.As(err, &ve) || tc.errIs != nil && !errors.Is(err, tc.errIs) {
						t.Fatalf("error %v, want invalid %v or %v", err, tc.invalid, tc.errIs)
					}
					for _, s := range tc.wantSays {
						if !strings.Contains(err.Error(), s) {
							t.Errorf("error %q does not say %q", err, s)
						}
					}
					if doc != nil || vals != nil || ms != nil {
						t.Errorf("with the error: %v %v %v", doc, vals, ms)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				// The values are what the file decodes to, and the doc is the
				// file's top mapping.
				var want map[string]any
				if err := yaml.Unmarshal([]byte(read(filepath.Join(tc.dir, "values.yaml"))), &want); err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want = map[string]any{}
				}
				if !reflect.DeepEqual(vals, want) {
					t.Errorf("values %v, want %v", vals, want)
				}
				if tc.emptyDoc != (doc == nil) {
					t.Fatalf("doc %v, want nil: %v", doc, tc.emptyDoc)
				}
				if doc != nil {
					var fromDoc map[string]any
					if err := doc.Decode(&fromDoc); doc.Kind != yaml.MappingNode || err != nil || !reflect.DeepEqual(fromDoc, want) {
						t.Errorf("doc (kind %v) decodes to %v (%v), want %v", doc.Kind, fromDoc, err, want)
					}
				}
				if len(ms) != len(tc.want) {
					t.Fatalf("%d manifests, want %d: %+v", len(ms), len(tc.want), ms)
				}
				for i, m := range ms {
					w := tc.want[i]
					if m.Path != w.path || m.Templated != w.templated || string(m.Data) != w.data {
						t.Errorf("manifest %d: %s (templated %v):\n%s\nwant %s (templated %v):\n%s", i, m.Path, m.Templated, m.Data, w.path, w.templated, w.data)
					}
					for n := 1; n <= strings.Count(w.data, "\n"); n++ {
						want := n
						if slices.Contains(w.fromAction, n) {
							want = 0
						}
						if got := m.SourceLine(n); got != want {
							t.Errorf("%s: line %d comes from line %d, want %d", m.Path, n, got, want)
						}
					}
				}
			})
		}
	}
}

// TestKeptChart: a Load with Keep keeps each chart archive it checked
// as the tar it inflated, up to the tar's end, in a gzip stream of
// stored blocks (what the chart renderer reads without inflating it
// again), with the archive's SHA-256; nothing without Keep, past the
// pack's bound (nor a writer for it, when the archive's trailer says
// so), for a chart directory, for a pack with errors (the image check
// does not run), or once dropped (DropKept); the same problems found
// either way. Options.KeepChart is asked once per archive it would keep,
// with the archive's SHA-256 and the pack's values, before the tar is
// copied: declined, the archive's SHA-256 alone is kept.
// What the kept tars hold (their capacity) is within the
// pack's bound whatever the archives' trailers say, and a chart whose
// trailer is right (the examples') is kept in one allocation of its
// size.
func TestKeptChart(t *testing.T) {
	const ingress = "../examples/packs/ingress-nginx-4.10.1"
	const archive = "charts/ingress-nginx-4.10.1.tgz"
	// A small archive of a large tar: 1.5 MiB of zeros, past a 1 MiB bound.
	big := baseFS()
	big["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: tgz(t, map[string]string{
		"app/Chart.yaml": "name: app\nversion: 1.0.0\n", "app/files/zeros": strings.Repeat("\x00", 3<<19)})}
	// Small tars whose trailers claim 1023 KiB each: junk after the gzip
	// member (the tar ends before it: nobody reads it) ending in that
	// ISIZE. Believed, they held 1023 KiB each, charged a few hundred
	// bytes (attackZ Z2: a pack author's OOM of validate and build).
	// Believed up to deflate's 1032:1, the first spent a 1 MiB budget
	// (charged its capacity) and no chart after it was kept; believed
	// up to storedgz.MaxHintRatio, it is charged some 74 KiB. The next
	// claim more than the budget left: not kept (a lie refuses itself);
	// the honest chart after them (d) is.
	liars := baseFS()
	for i := range 3 {
		junk := make([]byte, 1<<10)
		binary.LittleEndian.PutUint32(junk[len(junk)-4:], 1023<<10)
		gz := tgz(t, map[string]string{fmt.Sprintf("c%02d/Chart.yaml", i): fmt.Sprintf("name: c%02d\nversion: 1.0.0\n", i)})
		liars[fmt.Sprintf("charts/c%02d-1.0.0.tgz", i)] = &fstest.MapFile{Data: append(gz, junk...)}
	}
	liars["charts/d-1.0.0.tgz"] = &fstest.MapFile{Data: tgz(t, map[string]string{"d/Chart.yaml": "name: d\nversion: 1.0.0\n"})}
	dir := func(d string) fs.FS { return os.DirFS(d) }
	for _, tc := range []struct {
		name       string
		fsys       fs.FS
		chart      string
		keep, want bool
		bound      int // maxKeptCharts; 0: as it is
		drop       bool
		decline    bool // KeepChart's answer is no
		asked      int  // how often KeepChart is asked
	}{
		{"archive", dir(ingress), archive, true, true, 0, false, false, 1},
		{"archive, Keep off", dir(ingress), archive, false, false, 0, false, false, 0},
		{"archive past the pack's bound", dir(ingress), archive, true, false, 4 << 10, false, false, 0},
		{"a small archive of a tar past the pack's bound", big, "charts/app-1.0.0.tgz", true, false, 1 << 20, false, false, 0},
		{"trailers that over-state their tars: the first kept", liars, "charts/c00-1.0.0.tgz", true, true, 1 << 20, false, false, 2},
		{"trailers that over-state their tars: the next claim past the budget left", liars, "charts/c01-1.0.0.tgz", true, false, 1 << 20, false, false, 2},
		{"an honest chart after trailers that over-state theirs: kept (the lie did not spend the budget)", liars, "charts/d-1.0.0.tgz", true, true, 1 << 20, false, false, 2},
		{"chart directory", dir("../images/testdata/packs/webapp-1.2.0"), "charts/webapp", true, false, 0, false, false, 0},
		{"a pack with errors", dir("testdata/bad/chart-version-not-semver"), "", true, false, 0, false, false, 0},
		{"archive, dropped", dir(ingress), archive, true, false, 0, true, false, 1},
		{"archive, declined by KeepChart: its SHA-256 alone", dir(ingress), archive, true, false, 0, false, true, 1},
		{"a chart with errors, declined", dir("testdata/bad/chart-version-not-semver/pack"), "", true, false, 0, false, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bound > 0 {
				defer func(old int) { maxKeptCharts = old }(maxKeptCharts)
				maxKeptCharts = tc.bound
			}
			var before, after runtime.MemStats
			var asked [][sha256.Size]byte
			var namespace any
			keepChart := func(sum [sha256.Size]byte, values map[string]any) bool {
				asked = append(asked, sum)
				namespace = values["pack"].(map[string]any)["namespace"]
				return !tc.decline
			}
			runtime.ReadMemStats(&before)
			p, ps := Load(tc.fsys, ".", Options{Keep: tc.keep, KeepChart: keepChart})
			runtime.ReadMemStats(&after)
			kept := after.TotalAlloc - before.TotalAlloc
			runtime.ReadMemStats(&before)
			_, want := Load(tc.fsys, ".", Options{})
			runtime.ReadMemStats(&after)
			if !reflect.DeepEqual(ps, want) {
				t.Errorf("problems %v, without Keep %v", ps, want)
			}
			held := 0
			for _, f := range p.Files {
				gz, _ := p.KeptChart(f.Path)
				held += cap(gz)
			}
			if held > maxKeptCharts {
				t.Errorf("the kept tars hold %d bytes, past the pack's bound %d", held, maxKeptCharts)
			}
			// No more allocated than without Keep but what is held and
			// the archives read whole: no writer for a tar not kept (a
			// bound's worth was, before).
			if tc.bound >= 1<<20 && kept > after.TotalAlloc-before.TotalAlloc+uint64(held)+uint64(tc.bound)/2 {
				t.Errorf("Load with Keep allocated %d bytes, without %d, %d held: a writer for a tar not kept", kept, after.TotalAlloc-before.TotalAlloc, held)
			}
			if tc.drop {
				p.DropKept()
			}
			chart := tc.chart
			if chart == "" { // the pack's one archive
				for _, f := range p.Files {
					if strings.HasPrefix(f.Path, ChartsDir+"/") && strings.HasSuffix(f.Path, ".tgz") {
						chart = f.Path
					}
				}
			}
			got, sum := p.KeptChart(chart)
			if (got != nil) != tc.want {
				t.Fatalf("%s: kept %d bytes, want kept %v", chart, len(got), tc.want)
			}
			if len(asked) != tc.asked {
				t.Fatalf("KeepChart asked %d times, want %d", len(asked), tc.asked)
			}
			orig, err := fs.ReadFile(tc.fsys, chart)
			// Asked of the pack's archives only, and of this chart among
			// them when it is kept or declined (the liars' first, then the
			// honest chart after them).
			ofPack := func(sum [sha256.Size]byte) bool {
				for _, f := range p.Files {
					if b, err := fs.ReadFile(tc.fsys, f.Path); err == nil && strings.HasSuffix(f.Path, ".tgz") && sum == sha256.Sum256(b) {
						return true
					}
				}
				return false
			}
			mine := slices.Contains(asked, sha256.Sum256(orig))
			if len(asked) > 0 && (err != nil || slices.ContainsFunc(asked, func(s [sha256.Size]byte) bool { return !ofPack(s) }) || (tc.want || tc.decline) && !mine || namespace == nil) {
				t.Errorf("KeepChart asked with %x and the namespace %v, want the archive's SHA-256 %x among them and values.yaml's (%v)", asked, namespace, sha256.Sum256(orig), err)
			}
			if got == nil {
				if wantSum := tc.decline && !ps.HasErrors(); wantSum != (sum != [sha256.Size]byte{}) {
					t.Errorf("not kept, with SHA-256 %x: want the archive's SHA-256 alone %v", sum, wantSum)
				} else if wantSum && sum != sha256.Sum256(orig) {
					t.Errorf("declined with SHA-256 %x, the archive's is %x", sum, sha256.Sum256(orig))
				}
				return
			}
			if !storedgz.IsStored(got) {
				t.Error("not a stream of stored blocks")
			}
			if !strings.HasPrefix(tc.name, "trailers that over-state") && cap(got) > len(got)+5 {
				t.Errorf("kept %d bytes in %d: not one allocation of the tar's size", len(got), cap(got))
			}
			inflate := func(gz []byte) []byte {
				zr, err := gzip.NewReader(bytes.NewReader(gz))
				if err != nil {
					t.Fatal(err)
				}
				zr.Multistream(false) // junk after the tar's member is nobody's
				b, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum != sha256.Sum256(orig) {
				t.Errorf("kept with SHA-256 %x, the archive's is %x", sum, sha256.Sum256(orig))
			}
			tarKept, tarAll := inflate(got), inflate(orig)
			// The tar up to its end: all of it but the zero blocks tar(1)
			// pads its last record with.
			if !bytes.HasPrefix(tarAll, tarKept) || len(tarKept) < 1024 || bytes.Count(tarAll[len(tarKept):], []byte{0}) != len(tarAll)-len(tarKept) {
				t.Errorf("kept %d bytes of a %d-byte tar, not its prefix to the end", len(tarKept), len(tarAll))
			}
		})
	}
}
