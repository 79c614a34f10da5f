package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/pack/meta"
	"gopkg.in/yaml.v3"
)

func TestParseExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/profiles/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d example profiles", len(files))
	}
	for _, f := range files {
		p, err := Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if p.Name == "" || p.CloudType == "" || len(p.Layers) == 0 || len(p.SHA256) != 64 {
			t.Errorf("%s: incomplete %+v", f, p)
		}
	}
	p, _ := Load("../../examples/profiles/aws-prod.yaml")
	if l := p.Layer("calico"); l == nil || l.Constraint != "^3.27" || l.Values == nil || l.Line != 16 || l.Column != 5 {
		t.Errorf("calico layer: %+v", l)
	}
}

// TestLoadReads: Load reads a regular file of at most MaxFileSize
// bytes; a larger one is ErrInvalid naming the bound (refused by its
// size, before it is read), and a directory or a missing file the
// reader's error.
func TestLoadReads(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, nil, 0o644); err != nil || os.Truncate(big, MaxFileSize+1) != nil {
		t.Fatal("cannot make a large file")
	}
	for _, tc := range []struct {
		name, path string
		want       error
		says       string
	}{
		{"a profile", "../../examples/profiles/aws-prod.yaml", nil, ""},
		{"too large", big, ErrInvalid, "big.yaml is more than the 4194304 bytes a profile or lock file may have"},
		{"a directory", dir, safefile.ErrNotRegular, "it is a directory"},
		{"missing", filepath.Join(dir, "none.yaml"), os.ErrNotExist, "none.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load(tc.path)
			if tc.want == nil {
				if err != nil || p == nil || p.Name == "" {
					t.Fatalf("Load = %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Load = %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // each "line:col: fragment"
	}{
		{"empty", "", []string{"1:1: the file is empty"}},
		// Lines as validation gives them for pack files (meta.YAMLError):
		// yaml.v3 counts a parser error's line from 0.
		{"syntax", "name: a\nlayers: [\n", []string{"3: invalid YAML: did not find expected node content"}},
		{"indent", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n   version: '1'\n", []string{"4: invalid YAML: did not find expected '-' indicator"}},
		{"tab", "name: a\ncloudType: aws\nlayers:\n\t- pack: x\n", []string{"4:1: invalid YAML: a tab character indents this line: YAML indents with spaces only"}},
		{"not a mapping", "- a\n", []string{"1:1: expected a mapping"}},
		{"missing all", "description: x\n", []string{"1:1: name is required", "1:1: cloudType is required", "1:1: layers is required"}},
		{"unknown top field", "name: a\ncloudType: aws\nlayer: []\nlayers: [{pack: x, version: '1'}]\n", []string{`3:1: profile: unknown field "layer" (expected name, cloudType, description, layers)`}},
		{"unknown layer field", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    valeus: {}\n", []string{`6:5: layers[0]: unknown field "valeus"`}},
		{"bad name", "name: Bad_Name\ncloudType: aws\nlayers: [{pack: x, version: '1'}]\n", []string{`1:7: name "Bad_Name" must be lowercase`}},
		{"cloud all", "name: a\ncloudType: all\nlayers: [{pack: x, version: '1'}]\n", []string{`2:12: cloudType "all" is for packs`}},
		{"duplicate key", "name: a\nname: b\ncloudType: aws\nlayers: [{pack: x, version: '1'}]\n", []string{"2:1: profile: name is given twice"}},
		{"layers not list", "name: a\ncloudType: aws\nlayers: {pack: x}\n", []string{"3:9: layers must be a list"}},
		{"layers empty", "name: a\ncloudType: aws\nlayers: []\n", []string{"3:9: layers is empty"}},
		{"layer scalar", "name: a\ncloudType: aws\nlayers:\n  - calico\n", []string{`4:5: layers[0] must be a mapping`}},
		{"no pack no version", "name: a\ncloudType: aws\nlayers:\n  - registry: r\n", []string{"4:5: layers[0]: pack is required", "4:5: layers[0]: version is required"}},
		{"bad constraint", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '>>1'\n", []string{`5:14: layers[0].version ">>1" is not a semver constraint`}},
		{"version list", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: [1]\n", []string{"5:14: layers[0].version must be a string, found a list"}},
		{"values scalar", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    values: 3\n", []string{"6:13: layers[0].values must be a mapping"}},
		{"values alias", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    values:\n      a: &x 1\n      b: *x\n", []string{"7:10: layers[0].values: YAML anchors"}},
		{"bad registry", "name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    registry: A B\n", []string{`6:15: layers[0].registry "A B" is not a registry name`}},
		{"duplicate pack", "name: a\ncloudType: aws\nlayers:\n  - {pack: x, version: '1'}\n  - {pack: x, version: '2'}\n", []string{"5:5: layers[1]: pack x is already listed at line 4"}},
		{"several at once", "name: a\ncloudType: aws\nlayers:\n  - pack: X\n    version: '1'\n  - pack: y\n    version: '~~'\n", []string{`4:11: layers[0].pack "X"`, `7:14: layers[1].version "~~"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(c.in))
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ParseError, got %v", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, "p.yaml:"+w) {
					t.Errorf("missing %q in\n%s", "p.yaml:"+w, msg)
				}
			}
			if len(pe.Problems) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(pe.Problems), len(c.want), msg)
			}
		})
	}
}

func TestMergeKeepsComments(t *testing.T) {
	// The merge leaves the pack's part (head) as it is, comments and all.
	const head = `# Top comment of the pack.
pack:
  namespace: "monitoring"
  content:
    images:
      - image: a:1
`
	base := head + `
manifests:
  servicemonitor:
    # How often Prometheus scrapes targets.
    scrapeInterval: "30s" # the default
    retention: "15d"
    list: [1, 2, 3]
`
	p, err := Parse("p.yaml", []byte(`name: a
cloudType: aws
layers:
  - pack: x
    version: "1"
    values:
      manifests:
        servicemonitor:
          scrapeInterval: "10s"
          # Keep only the ninth.
          list: [9]
          extra:
            deep: true
      newTop: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := MergeValues([]byte(base), p.Layers[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	want := head + `manifests:
  servicemonitor:
    # How often Prometheus scrapes targets.
    scrapeInterval: "10s" # the default
    retention: "15d"
    # Keep only the ninth.
    list: [9]
    extra:
      deep: true
newTop: 1
`
	if string(out) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", out, want)
	}
	// Merging again gives the same bytes; no overrides gives the pack's values.
	again, _ := MergeValues([]byte(base), p.Layers[0].Values)
	if !bytes.Equal(out, again) {
		t.Error("merge is not deterministic")
	}
	plain, _ := MergeValues([]byte(base), nil)
	if !strings.Contains(string(plain), "# How often Prometheus scrapes targets.") || !strings.Contains(string(plain), `scrapeInterval: "30s" # the default`) {
		t.Errorf("no overrides:\n%s", plain)
	}
	// Empty values.yaml: the overrides alone.
	only, _ := MergeValues(nil, p.Layers[0].Values)
	if !strings.HasPrefix(string(only), "manifests:\n  servicemonitor:\n    scrapeInterval: \"10s\"") {
		t.Errorf("empty base:\n%s", only)
	}
	// A scalar override replaces a mapping; a mapping replaces a scalar.
	q, _ := Parse("p.yaml", []byte("name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    values: {pack: off, manifests: {servicemonitor: {retention: {days: 30}}}}\n"))
	mixed, _ := MergeValues([]byte(base), q.Layers[0].Values)
	if !strings.Contains(string(mixed), "pack: off\n") || !strings.Contains(string(mixed), "retention: {days: 30}") {
		t.Errorf("mixed:\n%s", mixed)
	}
	if _, err := MergeValues([]byte("- a\n"), q.Layers[0].Values); err == nil {
		t.Error("merged into a list")
	}
	// An override into a flow mapping (packgen new --chart writes
	// "mychart: {}" under a comment) is written in block style, the
	// comment above its keys, not inside braces.
	c, _ := Parse("p.yaml", []byte("name: a\ncloudType: aws\nlayers:\n  - pack: x\n    version: '1'\n    values: {charts: {mychart: {replicas: 3, image: {tag: b}}}}\n"))
	block, err := MergeValues([]byte("charts:\n  mychart:\n    # Values passed to the mychart chart.\n    {}\n  other: {image: {tag: a}}\n"), c.Layers[0].Values)
	if want := "charts:\n  mychart:\n    # Values passed to the mychart chart.\n    replicas: 3\n    image: {tag: b}\n  other: {image: {tag: a}}\n"; err != nil || string(block) != want {
		t.Errorf("into a flow mapping (%v):\n%s\nwant:\n%s", err, block, want)
	}
}

func sampleLock() *Lock {
	return &Lock{SchemaVersion: 1, Profile: LockProfile{Name: "p", CloudType: "aws", File: "p.yaml", SHA256: strings.Repeat("a", 64)},
		Layers: []LockedPack{{Pack: "calico", Constraint: "^3", Version: "3.27.3", Layer: "cni", Registry: LockRegistry{Name: "r", URL: "http://127.0.0.1:1/"},
			Archive:   index.FileRef{Path: "packs/calico/3.27.3/calico-3.27.3.tar.gz", SHA256: strings.Repeat("b", 64), Size: 10},
			Signature: &LockFile{Path: "packs/calico/3.27.3/calico-3.27.3.tar.gz.sig", SHA256: strings.Repeat("c", 64)}}}}
}

func TestLockRoundTrip(t *testing.T) {
	l := sampleLock()
	a, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseLock("x.lock", a)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := back.Encode()
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed the lock:\n%s\n%s", a, b)
	}
	if !strings.HasPrefix(string(a), "{\n  \"schemaVersion\": 1,\n  \"profile\": {") || !strings.HasSuffix(string(a), "}\n") {
		t.Errorf("layout:\n%s", a)
	}
	path := filepath.Join(t.TempDir(), "sub", "p.lock")
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, a) {
		t.Error("Write differs from Encode")
	}
}

func TestParseLockTwoPartVersion(t *testing.T) {
	l := sampleLock()
	l.Layers[0].Version = "3.27"
	l.Layers[0].Archive.Path = "packs/calico/3.27/calico-3.27.tar.gz"
	l.Layers[0].Signature.Path = l.Layers[0].Archive.Path + ".sig"
	data, _ := l.Encode()
	if _, err := ParseLock("x.lock", data); err != nil {
		t.Errorf("two-part version refused: %v", err)
	}
}

const pinned = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestLockPinnedImages: pinned images round-trip byte for byte, keys
// sorted; a lock without them (every lock before --pin-images) reads
// as before and encodes without the field.
func TestLockPinnedImages(t *testing.T) {
	old, _ := sampleLock().Encode()
	if bytes.Contains(old, []byte(`"images"`)) {
		t.Fatalf("a lock without pins gained an images field:\n%s", old)
	}
	if l, err := ParseLock("old.lock", old); err != nil || l.Layers[0].Images != nil {
		t.Fatalf("older lock: %v", err)
	}
	l := sampleLock()
	l.Layers[0].Images = map[string]string{"quay.io/calico/node:v3.27.3": pinned, "docker.io/calico/cni:v3.27.3": pinned}
	a, _ := l.Encode()
	if !strings.Contains(string(a), "\"images\": {\n        \"docker.io/calico/cni:v3.27.3\": \""+pinned+"\",\n        \"quay.io/") {
		t.Errorf("images not sorted or not inside the layer:\n%s", a)
	}
	back, err := ParseLock("x.lock", a)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := back.Encode(); !bytes.Equal(a, b) || back.Layers[0].Images["quay.io/calico/node:v3.27.3"] != pinned {
		t.Errorf("round trip:\n%s\n%s", a, b)
	}
}

func TestParseLockRefuses(t *testing.T) {
	good, _ := sampleLock().Encode()
	mut := func(f func(l *Lock)) []byte {
		l := sampleLock()
		f(l)
		b, _ := l.Encode()
		return b
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"syntax":         {[]byte("{\n  \"schemaVersion\": 1,\n  oops\n}"), "x.lock:3:3: invalid JSON"},
		"type":           {[]byte(`{"schemaVersion": "1"}`), "x.lock:1:22: schemaVersion must be int"},
		"unknown field":  {bytes.Replace(good, []byte(`"layers"`), []byte(`"x": 1, "layers"`), 1), `unknown field "x"`},
		"extra field":    {bytes.Replace(good, []byte(`"constraint"`), []byte(`"constrant"`), 1), `unknown field "constrant"`},
		"trailing":       {append(append([]byte{}, good...), []byte("{}")...), "unexpected data"},
		"schema":         {mut(func(l *Lock) { l.SchemaVersion = 2 }), "schemaVersion 2 is not supported"},
		"no layers":      {mut(func(l *Lock) { l.Layers = nil }), "layers is empty"},
		"bad pack":       {mut(func(l *Lock) { l.Layers[0].Pack = "../x" }), `pack "../x" is not a pack name`},
		"range version":  {mut(func(l *Lock) { l.Layers[0].Version = "^3" }), "not an exact semantic version"},
		"short digest":   {mut(func(l *Lock) { l.Layers[0].Archive.SHA256 = "abc" }), "archive needs a sha256"},
		"upper digest":   {mut(func(l *Lock) { l.Layers[0].Archive.SHA256 = strings.ToUpper(l.Layers[0].Archive.SHA256) }), "archive needs a sha256"},
		"sig digest":     {mut(func(l *Lock) { l.Layers[0].Signature.SHA256 += "0" }), "signature.sha256"},
		"path escape":    {mut(func(l *Lock) { l.Layers[0].Archive.Path = "../../etc/passwd" }), "archive.path"},
		"sig path":       {mut(func(l *Lock) { l.Layers[0].Signature.Path = "x.sig" }), "signature.path"},
		"no registry":    {mut(func(l *Lock) { l.Layers[0].Registry.URL = "" }), "registry needs"},
		"twice":          {mut(func(l *Lock) { l.Layers = append(l.Layers, l.Layers[0]) }), "locked twice"},
		"absolute file":  {mut(func(l *Lock) { l.Profile.File = "/etc/passwd" }), "must be relative"},
		"profile digest": {mut(func(l *Lock) { l.Profile.SHA256 = "zz" }), "profile.sha256"},
		"image ref":      {mut(func(l *Lock) { l.Layers[0].Images = map[string]string{"Not A Ref": pinned} }), "images: invalid image reference"},
		"image not norm": {mut(func(l *Lock) { l.Layers[0].Images = map[string]string{"nginx:1.25": pinned} }), `"nginx:1.25" is not normalised (want "docker.io/library/nginx:1.25")`},
		"image digest":   {mut(func(l *Lock) { l.Layers[0].Images = map[string]string{"docker.io/library/nginx:1.25": "sha256:abc"} }), `docker.io/library/nginx:1.25: digest "sha256:abc"`},
		"image digest upper": {mut(func(l *Lock) {
			l.Layers[0].Images = map[string]string{"docker.io/library/nginx:1.25": strings.ToUpper(pinned)}
		}), "docker.io/library/nginx:1.25: digest"},
		"image digest bare": {mut(func(l *Lock) {
			l.Layers[0].Images = map[string]string{"docker.io/library/nginx:1.25": strings.TrimPrefix(pinned, "sha256:")}
		}), "docker.io/library/nginx:1.25: digest"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseLock("x.lock", c.data)
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
			if c.want != "" && !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

func TestDefaultLockPath(t *testing.T) {
	for in, want := range map[string]string{"a/profile.yaml": "a/profile.lock", "x.yml": "x.lock", "prof": "prof.lock"} {
		if got := DefaultLockPath(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"name: a\ncloudType: aws\nlayers: [{pack: x, version: '1', values: {a: {b: 1}}}]\n", "- a", "a: &x 1\nb: *x\n", ""} {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("../../examples/profiles/aws-prod.yaml"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err == nil {
			for _, l := range p.Layers {
				if !meta.ValidName(l.Pack) || l.Constraint == "" {
					t.Fatalf("accepted layer %+v", l)
				}
				if l.Values != nil {
					MergeValues([]byte("a: 1\n"), l.Values)
				}
			}
		}
	})
}

func FuzzParseLock(f *testing.F) {
	good, _ := sampleLock().Encode()
	f.Add(good)
	withLog, _ := sampleLogLock().Encode()
	f.Add(withLog)
	f.Add([]byte("{}"))
	pin := sampleLock()
	pin.Layers[0].Images = map[string]string{"docker.io/library/nginx:1.25": pinned}
	withImages, _ := pin.Encode()
	f.Add(withImages)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLock("f.lock", data)
		if err == nil {
			for _, p := range l.Layers {
				if p.Archive.Path != index.ArchivePath(p.Pack, p.Version) {
					t.Fatalf("accepted path %q", p.Archive.Path)
				}
				if g := p.Log; g != nil && (g.Index < 0 || g.Index >= g.TreeSize || len(g.Proof) > maxLockProof) {
					t.Fatalf("accepted log proof %+v", g)
				}
			}
		}
	})
}

func FuzzMergeValues(f *testing.F) {
	f.Add([]byte("# c\na:\n  b: 1 # x\n  l: [1]\n"), []byte("a: {b: 2, l: [3], n: {m: 1}}\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n<<: {d: 1}\n"), []byte("c: {e: 1}\n"))
	f.Add([]byte("a: &x {b: &y 1}\nc: *x\nd: *y\n"), []byte("a: {b: 2}\n"))
	f.Add([]byte(""), []byte("a: 1\n"))
	f.Add([]byte("b: &b {r: {c: 1, m: 2}}\na: &a {r: {d: 1}}\napi: {<<: [*a, *b], n: x}\n"), []byte("api: {r: {c: 3}}\n"))
	f.Add([]byte("a: &a [1, *a]\nb: *a\nc: &c {d: *c}\n"), []byte("a: [2]\nc: {e: 1}\n"))
	f.Fuzz(func(t *testing.T, base, over []byte) {
		var n yaml.Node
		if yaml.Unmarshal(over, &n) != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode || findAnchor(n.Content[0]) != nil {
			return
		}
		a, err := MergeValues(base, n.Content[0])
		if err != nil {
			return
		}
		b, _ := MergeValues(base, n.Content[0])
		if !bytes.Equal(a, b) {
			t.Fatal("not deterministic")
		}
		// What render writes is read by Helm and by people: it parses.
		var back yaml.Node
		if err := yaml.Unmarshal(a, &back); err != nil {
			t.Fatalf("the merged values do not parse: %v\n%s", err, a)
		}
	})
}

func sampleLogLock() *Lock {
	l := sampleLock()
	l.Layers[0].Commit = strings.Repeat("d", 40)
	l.Layers[0].Log = &LockLog{Index: 3, Key: strings.Repeat("e", 64), TreeSize: 10,
		Checkpoint: "e2e\n10\n" + strings.Repeat("A", 43) + "=\n\n— e2e AAAA\n",
		Proof:      []string{strings.Repeat("A", 43) + "=", strings.Repeat("B", 43) + "="}}
	return l
}

// The log proof fields: optional, round-trip, and checked for shape.
func TestLockLogFields(t *testing.T) {
	a, _ := sampleLogLock().Encode()
	back, err := ParseLock("x.lock", a)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := back.Encode(); !bytes.Equal(a, b) || back.Layers[0].Log.TreeSize != 10 {
		t.Fatalf("round trip:\n%s\n%s", a, b)
	}
	for _, tc := range []struct {
		edit func(*LockLog)
		want string
	}{
		{func(g *LockLog) { g.Index = 10 }, "log.index 10 must be below log.treeSize 10"},
		{func(g *LockLog) { g.Index = -1 }, "log.index -1"},
		{func(g *LockLog) { g.Key = "E" }, "log.key"},
		{func(g *LockLog) { g.Checkpoint = "" }, "log.checkpoint"},
		{func(g *LockLog) { g.Proof = append(g.Proof, "AAAA") }, "log.proof[2]"},
		{func(g *LockLog) { g.Proof = make([]string, 64) }, "log.proof has 64 hashes"},
	} {
		l := sampleLogLock()
		tc.edit(l.Layers[0].Log)
		data, _ := l.Encode()
		if _, err := ParseLock("x.lock", data); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "layers[0] (calico@3.27.3)") {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}
