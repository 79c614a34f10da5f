package pack

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/packgen/packgen/internal/testutil/tartest"
	"github.com/packgen/packgen/pack/meta"
)

const basePackJSON = `{
  "name": "demo",
  "version": "1.0.0",
  "layer": "addon",
  "addonType": "monitoring",
  "displayName": "Demo",
  "cloudTypes": ["all"]
}
`

func baseFS() fstest.MapFS {
	return fstest.MapFS{
		"pack.json":   {Data: []byte(basePackJSON)},
		"values.yaml": {Data: []byte("pack:\n  namespace: demo\n")},
	}
}

// withField returns the base pack.json with a line inserted after "name".
func withField(line string) string {
	return strings.Replace(basePackJSON, `  "name": "demo",`+"\n", `  "name": "demo",`+"\n"+line+"\n", 1)
}

func replaceIn(old, new string) string { return strings.Replace(basePackJSON, old, new, 1) }

// tgz packs files, in name order, as a chart archive; a body "->target"
// makes the entry a symbolic link to target.
func tgz(t testing.TB, files map[string]string) []byte {
	es := tartest.Files("", files)
	for i, e := range es {
		if target, ok := strings.CutPrefix(string(e.Body), "->"); ok {
			es[i] = tartest.Symlink(e.Header.Name, target)
		}
	}
	return tartest.TarGz(t, es...)
}

func pngBytes(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type invalidCase struct {
	name      string
	mod       func(t *testing.T, m fstest.MapFS)
	file      string
	line, col int
	msg       string
}

func setFile(name, data string) func(*testing.T, fstest.MapFS) {
	return func(_ *testing.T, m fstest.MapFS) { m[name] = &fstest.MapFile{Data: []byte(data)} }
}

func setPackJSON(data string) func(*testing.T, fstest.MapFS) { return setFile("pack.json", data) }

func TestInvalidPacks(t *testing.T) {
	chartJSON := withField(`  "charts": ["charts/app-1.0.0.tgz"],`)
	cases := []invalidCase{
		{"json syntax", setPackJSON("{\n  \"name\": \"demo\",\n  \"version\": 1.0.0\n}"), "pack.json", 3, 17, "invalid JSON"},
		{"json missing comma", setPackJSON("{\n  \"name\": \"demo\",\n  \"version\": \"1.0.0\"\n  \"layer\": \"addon\"\n}"), "pack.json", 4, 0, `invalid character '"' after object key:value pair (missing comma after line 3?)`},
		{"json missing comma in a list", setPackJSON(withField(`  "cloudTypes": ["aws" "gcp"],`)), "pack.json", 3, 0, `after array element (missing comma?)`},
		{"json truncated", setPackJSON("{\n  \"name\": \"demo\","), "pack.json", 2, 18, "invalid JSON"},
		{"not an object", setPackJSON("[1, 2]"), "pack.json", 1, 1, "must be a JSON object"},
		{"empty pack.json", setPackJSON(""), "pack.json", 1, 1, "pack.json is empty"},
		{"missing name", setPackJSON(replaceIn(`  "name": "demo",`+"\n", "")), "pack.json", 1, 1, `missing required field "name"`},
		{"missing version", setPackJSON(replaceIn(`  "version": "1.0.0",`+"\n", "")), "pack.json", 1, 1, `missing required field "version"`},
		{"missing layer", setPackJSON(replaceIn(`  "layer": "addon",`+"\n", "")), "pack.json", 1, 1, `missing required field "layer"`},
		{"uppercase name", setPackJSON(replaceIn(`"name": "demo"`, `"name": "Demo"`)), "pack.json", 2, 11, `name "Demo" is not a valid pack name`},
		{"unicode name", setPackJSON(replaceIn(`"name": "demo"`, `"name": "dém"`)), "pack.json", 2, 11, "is not a valid pack name"},
		{"dotdot name", setPackJSON(replaceIn(`"name": "demo"`, `"name": ".."`)), "pack.json", 2, 11, "is not a valid pack name"},
		{"long name", setPackJSON(replaceIn(`"name": "demo"`, `"name": "`+strings.Repeat("a", 64)+`"`)), "pack.json", 2, 11, "at most 63 characters"},
		{"name not string", setPackJSON(replaceIn(`"name": "demo"`, `"name": 7`)), "pack.json", 2, 11, `field "name": expected a string, got a number`},
		{"version not semver", setPackJSON(replaceIn(`"version": "1.0.0"`, `"version": "one"`)), "pack.json", 3, 14, `version "one" is not a semantic version`},
		{"unknown layer", setPackJSON(replaceIn(`"layer": "addon"`, `"layer": "app"`)), "pack.json", 4, 12, `layer "app" is not one of os, k8s, cni, csi, addon`},
		{"addon without addonType", setPackJSON(replaceIn(`  "addonType": "monitoring",`+"\n", "")), "pack.json", 1, 1, `missing field "addonType"`},
		{"empty addonType", setPackJSON(replaceIn(`"addonType": "monitoring"`, `"addonType": " "`)), "pack.json", 5, 16, "addonType is empty"},
		{"cloudTypes string", setPackJSON(replaceIn(`"cloudTypes": ["all"]`, `"cloudTypes": "all"`)), "pack.json", 7, 17, `field "cloudTypes": expected an array of strings, got a string`},
		{"charts object", setPackJSON(withField(`  "charts": {"a": 1},`)), "pack.json", 3, 13, `field "charts": expected an array of strings, got an object`},
		{"annotation number", setPackJSON(withField(`  "annotations": {"source": "x", "priority": 5},`)), "pack.json", 3, 46, `annotation "priority": expected a string, got a number`},
		{"duplicate key", setPackJSON(withField(`  "name": "other",`)), "pack.json", 3, 3, `duplicate key "name"`},
		{"chart path missing", setPackJSON(chartJSON), "pack.json", 0, 0, `charts lists "charts/app-1.0.0.tgz", which does not exist`},
		{"chart path absolute", setPackJSON(withField(`  "charts": ["/etc/passwd"],`)), "pack.json", 3, 14, "is absolute"},
		{"kubeManifests escape", setPackJSON(withField(`  "kubeManifests": ["../x.yaml"],`)), "pack.json", 3, 21, "points outside the pack directory"},
		{"dep bad type", setPackJSON(withField(`  "constraints": {"dependencies": [{"packName": "k", "type": "needed"}]},`)), "pack.json", 3, 62, `type "needed" is not one of`},
		{"dep missing type", setPackJSON(withField(`  "constraints": {"dependencies": [{"packName": "k"}]},`)), "pack.json", 3, 36, "type is required"},
		{"dep missing packName", setPackJSON(withField(`  "constraints": {"dependencies": [{"type": "optional"}]},`)), "pack.json", 3, 36, "packName is required"},
		{"dep min > max", setPackJSON(withField(`  "constraints": {"dependencies": [{"packName": "k", "type": "required", "minVersion": "2.0.0", "maxVersion": "1.0.0"}]},`)), "pack.json", 3, 88, "minVersion 2.0.0 is greater than maxVersion 1.0.0"},
		{"dep bad minVersion", setPackJSON(withField(`  "constraints": {"dependencies": [{"packName": "k", "type": "required", "minVersion": "latest"}]},`)), "pack.json", 3, 88, `minVersion "latest" is not a semantic version`},
		{"deep nesting", setPackJSON(withField(`  "x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,`)), "pack.json", 3, 0, "nesting deeper than 64 levels"},
		{"values missing", func(_ *testing.T, m fstest.MapFS) { delete(m, "values.yaml") }, "values.yaml", 0, 0, "missing values.yaml"},
		// The build refuses the commit (gitsafe); the PR check had passed
		// it. (Validate's option: TestPrivateKeyOnlyRefusedWhenAsked.)
		{"private key", setFile("tls/server.key", "# test key\n-----BEGIN "+"EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"), "tls/server.key", 2, 1, `holds a private key (PEM "PRIVATE KEY" block)`},
		{"values syntax", setFile("values.yaml", "pack:\n  namespace: demo\n  bad: [1, 2\n"), "values.yaml", 3, 0, "invalid YAML: did not find expected ',' or ']'"},
		{"values control character", setFile("values.yaml", "pack:\n  namespace: demo\n  x: \"a\x00b\"\n"), "values.yaml", 3, 8, "invalid YAML: control character U+0000 is not allowed"},
		{"values list", setFile("values.yaml", "- a\n- b\n"), "values.yaml", 1, 1, "must be a mapping of parameters"},
		{"pack section scalar", setFile("values.yaml", "pack: yes\n"), "values.yaml", 1, 1, "the `pack:` section must be a mapping"},
		{"values duplicate key", setFile("values.yaml", "pack:\n  namespace: a\n  namespace: b\n"), "values.yaml", 3, 3, `duplicate key "namespace" (first defined at line 2)`},
		{"manifest without kind", setFile("manifests/a.yaml", "apiVersion: v1\nmetadata:\n  name: x\n"), "manifests/a.yaml", 1, 1, "document 1 has no kind"},
		{"manifest syntax", setFile("manifests/a.yaml", "apiVersion: v1\nkind: [\n"), "manifests/a.yaml", 3, 0, "invalid YAML: did not find expected node content"},
		{"chart not gzip", func(t *testing.T, m fstest.MapFS) {
			setPackJSON(chartJSON)(t, m)
			m["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: []byte("not a tarball")}
		}, "charts/app-1.0.0.tgz", 0, 0, "chart archive is not gzip-compressed"},
		{"chart gzip without tar", func(t *testing.T, m fstest.MapFS) {
			setPackJSON(chartJSON)(t, m)
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write([]byte("apiVersion: v2\nname: app\n"))
			zw.Close()
			m["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: b.Bytes()}
		}, "charts/app-1.0.0.tgz", 0, 0, "chart archive is gzip-compressed but holds no tar archive (unexpected EOF): package the chart with `helm package`"},
		{"chart traversal", func(t *testing.T, m fstest.MapFS) {
			setPackJSON(chartJSON)(t, m)
			m["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: tgz(t, map[string]string{"app/Chart.yaml": "name: app\nversion: 1.0.0\n", "app/../../evil": "x"})}
		}, "charts/app-1.0.0.tgz", 0, 0, `"app/../../evil" points outside the pack directory`},
		{"chart without Chart.yaml", func(t *testing.T, m fstest.MapFS) {
			setPackJSON(chartJSON)(t, m)
			m["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: tgz(t, map[string]string{"app/values.yaml": "a: 1\n"})}
		}, "charts/app-1.0.0.tgz", 0, 0, "chart archive has no <chart>/Chart.yaml"},
		{"chart version not semver", func(t *testing.T, m fstest.MapFS) {
			setPackJSON(chartJSON)(t, m)
			m["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: tgz(t, map[string]string{"app/Chart.yaml": "name: app\nversion: latest\n"})}
		}, "charts/app-1.0.0.tgz", 0, 0, `Chart.yaml version "latest" is not a semantic version`},
		{"chart link escape", func(t *testing.T, m fstest.MapFS) {
			setPackJSON(chartJSON)(t, m)
			m["charts/app-1.0.0.tgz"] = &fstest.MapFile{Data: tgz(t, map[string]string{"app/Chart.yaml": "name: app\nversion: 1.0.0\n", "app/x": "->../../../etc/passwd"})}
		}, "charts/app-1.0.0.tgz", 0, 0, "links outside the chart"},
		{"logo jpeg", setFile("logo.png", "\xff\xd8\xff\xe0 JFIF not a png"), "logo.png", 0, 0, "logo.png is not a PNG image"},
		{"logo text", setFile("logo.png", "hello"), "logo.png", 0, 0, "logo.png is not a PNG image"},
		{"logo too wide", func(t *testing.T, m fstest.MapFS) {
			m["logo.png"] = &fstest.MapFile{Data: pngBytes(t, 5000, 1)}
		}, "logo.png", 0, 0, "logo.png is 5000x1 pixels"},
		{"absolute symlink", func(_ *testing.T, m fstest.MapFS) {
			m["passwd"] = &fstest.MapFile{Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink}
		}, "passwd", 0, 0, `symlink to "/etc/passwd" is absolute`},
		{"escaping symlink", func(_ *testing.T, m fstest.MapFS) {
			m["sub/up"] = &fstest.MapFile{Data: []byte("../../secret"), Mode: fs.ModeSymlink}
		}, "sub/up", 0, 0, "points outside the pack"},
		{"presets without name", setFile("presets.yaml", "presets:\n  - displayName: x\n"), "presets.yaml", 2, 5, "presets[0] has no name"},
		{"preset add not YAML", setFile("presets.yaml", "presets:\n  - name: a\n    displayName: A\n    group: G\n    add: |\n      ok: 1\n      nope: [unclosed\n"), "presets.yaml", 7, 0, "presets[0].add is not YAML the platform can merge into values.yaml: did not find expected ',' or ']'"},
		{"preset add not YAML, one line", setFile("presets.yaml", "presets:\n  - name: a\n    add: \"a: [\"\n"), "presets.yaml", 3, 10, "presets[0].add is not YAML"},
		{"schema not mapping", setFile("schema.yaml", "- a\n"), "schema.yaml", 1, 1, "schema.yaml must be a mapping"},
		{"backslash file name", setFile(`a\b.txt`, "x"), `a\b.txt`, 0, 0, "contains a backslash"},
		// A git tree holds it; no file system could (FuzzWriteArchive).
		{"file name over NAME_MAX", setFile("docs/"+strings.Repeat("ö", 128)+".yaml", "x"), "docs/" + strings.Repeat("ö", 128) + ".yaml", 0, 0, "is 261 bytes long: file systems hold at most 255 bytes"},
		{"symlink target over PATH_MAX", func(_ *testing.T, m fstest.MapFS) {
			m["far"] = &fstest.MapFile{Data: []byte(strings.Repeat("d/", 2048) + "values.yaml"), Mode: fs.ModeSymlink}
		}, "far", 0, 0, "a symbolic link's target holds at most 4095"},
		{"900 KB displayName", setPackJSON(replaceIn(`"displayName": "Demo"`, `"displayName": "`+strings.Repeat("x", 900<<10)+`"`)), "pack.json", 6, 18, "displayName is 921600 bytes, longer than the 256-byte limit"},
		{"long addonType", setPackJSON(replaceIn(`"addonType": "monitoring"`, `"addonType": "`+strings.Repeat("y", 65)+`"`)), "pack.json", 5, 16, "addonType is 65 bytes, longer than the 64-byte limit"},
		{"long annotation value", setPackJSON(withField(`  "annotations": {"imageId": "` + strings.Repeat("z", 5000) + `"},`)), "pack.json", 3, 30, `annotations["imageId"] is 5000 bytes, longer than the 4096-byte limit`},
		{"too many annotations", setPackJSON(withField(`  "annotations": {` + manyAnnotations(65) + `},`)), "pack.json", 3, 18, "annotations holds 65 entries, more than 64"},
		{"long cloudType", setPackJSON(replaceIn(`"cloudTypes": ["all"]`, `"cloudTypes": ["all", "`+strings.Repeat("c", 100)+`"]`)), "pack.json", 7, 25, "cloudTypes[1] is 100 bytes"},
		{"long dependency minVersion", setPackJSON(withField(`  "constraints": {"dependencies": [{"packName": "k", "type": "required", "minVersion": "1.0.0-` + strings.Repeat("a", 200) + `"}]},`)), "pack.json", 3, 88, "constraints.dependencies[0].minVersion is 206 bytes"},
		{"resources not array", setPackJSON(withField(`  "constraints": {"resources": {"type": "cpu"}},`)), "pack.json", 3, 32, `field "constraints.resources": expected an array, got an object`},
		{"resource bad type", setPackJSON(withField(`  "constraints": {"resources": [{"type": "gpu", "minLimit": 1}]},`)), "pack.json", 3, 42, `constraints.resources[0].type "gpu" is not one of cpu, memory, diskSize`},
		{"resource without type", setPackJSON(withField(`  "constraints": {"resources": [{"minLimit": 1}]},`)), "pack.json", 3, 33, "constraints.resources[0]: type is required"},
		{"resource fractional minLimit", setPackJSON(withField(`  "constraints": {"resources": [{"type": "cpu", "minLimit": 0.5}]},`)), "pack.json", 3, 61, "minLimit 0.5 must be a whole number"},
		{"resource minLimit string", setPackJSON(withField(`  "constraints": {"resources": [{"type": "cpu", "minLimit": "2000m"}]},`)), "pack.json", 3, 61, "minLimit: expected a number, got a string"},
		{"component bad scheduleType", setPackJSON(withField(`  "constraints": {"resources": [{"type": "cpu", "components": [{"scheduleType": "gpu-nodes"}]}]},`)), "pack.json", 3, 81, `components[0].scheduleType "gpu-nodes" is not one of all, control-plane, master, worker`},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := baseFS()
			tc.mod(t, m)
			_, ps := Load(m, ".", Options{Prefix: "p", RefuseKeys: true})
			errs := ps.Errors()
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%s", len(errs), ps.Error())
			}
			e := errs[0]
			if e.File != "p/"+tc.file || e.Line != tc.line || (tc.col != 0 && e.Col != tc.col) || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got  %s\nwant p/%s:%d:%d: ...%s...", e, tc.file, tc.line, tc.col, tc.msg)
			}
		})
	}
}

func manyAnnotations(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`"k%d": "v"`, i))
	}
	return strings.Join(parts, ", ")
}

func TestBillionLaughsIsCheap(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for i := 0; i < 9; i++ {
		name := string(rune('b' + i))
		b.WriteString(name + ": &" + name + " [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = name
	}
	m := baseFS()
	m["values.yaml"] = &fstest.MapFile{Data: []byte(b.String())}
	// A templated manifest makes validation read values.yaml's values.
	m["manifests/m.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: ConfigMap\ndata:\n  n: {{ len .Values | quote }}\n")}
	start := time.Now()
	_, ps := Load(m, ".", Options{})
	if ps.HasErrors() {
		t.Fatalf("aliases are valid YAML: %s", ps.Error())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v: aliases were expanded", d)
	}
}

func TestAcceptedRealWorldShapes(t *testing.T) {
	for name, mod := range map[string]func(m fstest.MapFS){
		"two-part version": func(m fstest.MapFS) { m["pack.json"].Data = []byte(replaceIn(`"1.0.0"`, `"1.16"`)) },
		"dated prerelease": func(m fstest.MapFS) { m["pack.json"].Data = []byte(replaceIn(`"1.0.0"`, `"0.30.0-5.5.2026"`)) },
		"system app":       func(m fstest.MapFS) { m["pack.json"].Data = []byte(replaceIn(`"monitoring"`, `"system app"`)) },
		"bom and crlf": func(m fstest.MapFS) {
			m["pack.json"].Data = append([]byte{0xEF, 0xBB, 0xBF}, []byte(strings.ReplaceAll(basePackJSON, "\n", "\r\n"))...)
			m["values.yaml"].Data = append([]byte{0xEF, 0xBB, 0xBF}, []byte("pack:\r\n  namespace: demo\r\n")...)
		},
		"deps with empty max": func(m fstest.MapFS) {
			m["pack.json"].Data = []byte(withField(`  "constraints": {"dependencies": [{"packName": "kubernetes", "layer": "k8s", "minVersion": "1.27.0", "maxVersion": "", "type": "required"}]},`))
		},
		"unknown fields kept": func(m fstest.MapFS) {
			m["pack.json"].Data = []byte(withField(`  "packType": "spectro", "extra": {"a": [1]},`))
		},
		"unpacked chart beside tgz": func(m fstest.MapFS) {
			m["charts/app/Chart.yaml"] = &fstest.MapFile{Data: []byte("name: app\nversion: 1.0.0\n")}
		},
		"junk and packignore": func(m fstest.MapFS) {
			m[".DS_Store"] = &fstest.MapFile{Data: []byte{0, 1, 2}}
			m[".packignore"] = &fstest.MapFile{Data: []byte("# local only\ntmp/\n*.bak\n")}
			m["tmp/big.bin"] = &fstest.MapFile{Data: []byte("ignored")}
			m["values.yaml.bak"] = &fstest.MapFile{Data: []byte("[")}
			m["manifests/.DS_Store"] = &fstest.MapFile{Data: []byte{0}}
		},
		"dot-slash rooted chart archive": func(m fstest.MapFS) {
			m["pack.json"].Data = []byte(withField(`  "charts": ["charts/mychart-1.0.0.tgz"],`))
			// Directories included, as tar(1) writes `tar czf x.tgz ./mychart`.
			m["charts/mychart-1.0.0.tgz"] = &fstest.MapFile{Data: tartest.TarGz(t,
				tartest.Dir("./"), tartest.Dir("./mychart/"),
				tartest.File("./mychart/Chart.yaml", "apiVersion: v2\nname: mychart\nversion: 1.0.0\n"),
				tartest.Dir("./mychart/templates/"), tartest.File("./mychart/templates/cm.yaml", "kind: ConfigMap\n"),
			)}
		},
		"dot rooted chart archive": func(m fstest.MapFS) {
			m["pack.json"].Data = []byte(withField(`  "charts": ["charts/mychart-1.0.0.tgz"],`))
			// As `tar czf x.tgz -C dir .` writes it.
			m["charts/mychart-1.0.0.tgz"] = &fstest.MapFile{Data: tartest.TarGz(t,
				tartest.Dir("."), tartest.Dir("./mychart"),
				tartest.File("./mychart/Chart.yaml", "apiVersion: v2\nname: mychart\nversion: 1.0.0\n"),
			)}
		},
		"internal symlink": func(m fstest.MapFS) {
			m["docs/readme"] = &fstest.MapFile{Data: []byte("../values.yaml"), Mode: fs.ModeSymlink}
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := baseFS()
			mod(m)
			p, ps := Load(m, ".", Options{})
			if ps.HasErrors() {
				t.Fatalf("rejected: %s", ps.Error())
			}
			for _, f := range p.Files {
				if IsJunk(filepath.Base(f.Path)) || strings.HasPrefix(f.Path, "tmp") || strings.HasSuffix(f.Path, ".bak") {
					t.Errorf("ignored file %s listed", f.Path)
				}
			}
			if name == "unknown fields kept" {
				out, _ := p.Manifest.MarshalJSON()
				if !strings.Contains(string(out), `"packType":"spectro"`) || !strings.Contains(string(out), `"extra":{"a":[1]}`) {
					t.Errorf("unknown fields dropped: %s", out)
				}
			}
		})
	}
}

// On-disk cases that a MapFS cannot express: each is one error naming
// the file, found without reading it.
func TestInvalidOnDisk(t *testing.T) {
	for _, tc := range []struct {
		name, file, msg string
		make            func(t *testing.T, p string) // makes the file at p
	}{
		{"symlink to /etc/passwd", "values-link.yaml", "is absolute", func(t *testing.T, p string) {
			os.Symlink("/etc/passwd", p)
		}},
		{"fifo", "pipe", "named pipe (FIFO)", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("mkfifo:", err)
			}
		}},
		{"2 GB sparse file", "huge.bin", "larger than the 256.0 MiB limit", func(t *testing.T, p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(2 << 30)
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, f := range baseFS() {
				if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tc.make(t, filepath.Join(dir, tc.file))
			start := time.Now()
			_, ps := Load(os.DirFS(dir), ".", Options{})
			if e := ps.Errors(); len(e) != 1 || e[0].File != tc.file || !strings.Contains(e[0].Msg, tc.msg) {
				t.Fatalf("got %v", ps)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("Load took %v: %s was read", took, tc.file)
			}
		})
	}
}

// What the platform spells differently is a warning naming the spelling
// it expects, not an error.
// TestSystemStateAnnotation: annotations.system_state other than
// deprecated or deleted (in any case) is a warning naming them: a typo
// retires nothing, and a published release cannot be changed.
func TestSystemStateAnnotation(t *testing.T) {
	for _, tc := range []struct {
		state, want string
	}{
		{"deprecated", ""},
		{" Deleted ", ""},
		{"DEPRECATED", ""},
		{"depricated", `annotation "system_state" is "depricated" (did you mean "deprecated"?): Palette and packgen know only "deprecated" and "deleted" (in any case); any other value retires nothing`},
		{"retired", `annotation "system_state" is "retired": Palette and packgen know only "deprecated" and "deleted"`},
		{"", `annotation "system_state" is "": Palette`},
	} {
		t.Run(tc.state, func(t *testing.T) {
			m := baseFS()
			m["pack.json"].Data = []byte(withField(fmt.Sprintf(`  "annotations": {"source": "community", "system_state": %q},`, tc.state)))
			_, ps := Load(m, ".", Options{Prefix: "p"})
			if ps.HasErrors() {
				t.Fatalf("errors: %s", ps.Error())
			}
			ws := ps.Warnings()
			switch {
			case tc.want == "" && len(ws) != 0:
				t.Errorf("warnings for %q: %s", tc.state, ws.Error())
			case tc.want != "" && (len(ws) != 1 || !strings.Contains(ws[0].Msg, tc.want) || ws[0].File != "p/pack.json" || ws[0].Line != 3 || ws[0].Col == 0):
				t.Errorf("warnings for %q:\n%s\nwant one at p/pack.json:3 with %q", tc.state, ws.Error(), tc.want)
			}
		})
	}
}

func TestAddonTypeSuggestion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"app-services", `addonType "app-services" is not a known type: did you mean "app services"?`},
		{"Load_Balancer", `did you mean "load balancer"?`},
		{"service-mesh", `did you mean "servicemesh"?`},
		{"widgets", `addonType "widgets" is not a known type (system app, `},
		{"monitorng", `addonType "monitorng" is not a known type: did you mean "monitoring"?`},
		{"Securty", `did you mean "security"?`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			m := baseFS()
			m["pack.json"].Data = []byte(replaceIn(`"monitoring"`, `"`+tc.in+`"`))
			_, ps := Load(m, ".", Options{})
			if ps.HasErrors() {
				t.Fatalf("error: %s", ps.Error())
			}
			for _, p := range ps {
				if p.Severity == meta.SevWarning && strings.Contains(p.Msg, tc.want) {
					return
				}
			}
			t.Fatalf("no warning %q in:\n%s", tc.want, ps.Error())
		})
	}
}

// TestPrivateKeyOnlyRefusedWhenAsked: the build and rebuild load releases
// of history already published; a key committed once and since removed
// (and rotated) must not fail them, so only validate asks (RefuseKeys).
func TestPrivateKeyOnlyRefusedWhenAsked(t *testing.T) {
	m := baseFS()
	m["tls.pem"] = &fstest.MapFile{Data: []byte("-----BEGIN " + "PRIVATE KEY-----\nMC4\n-----END PRIVATE KEY-----\n")}
	m["ca.pem"] = &fstest.MapFile{Data: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")}
	m["key.pub"] = &fstest.MapFile{Data: []byte("-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n")}
	for _, refuse := range []bool{false, true} {
		_, ps := Load(m, ".", Options{RefuseKeys: refuse})
		errs := ps.Errors()
		if want := map[bool]int{false: 0, true: 1}[refuse]; len(errs) != want || refuse && errs[0].File != "tls.pem" {
			t.Errorf("RefuseKeys=%v: %d errors, want %d on tls.pem (a certificate and a public key are fine):\n%s", refuse, len(errs), want, ps.Error())
		}
	}
}
