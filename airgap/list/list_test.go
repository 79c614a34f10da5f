package list

import (
	"strings"
	"testing"
)

// FuzzParse: a bundle's list is outside input (the bundle crossed the
// gap on a disk): any bytes give a list whose every field import uses is
// checked, or an error; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"schemaVersion": 1, "profile": "p", "registry": {"name": "acme", "url": "oci://r/acme"},
 "index": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "size": 3},
 "packs": [{"name": "web", "version": "1.0.0+b", "tag": "1.0.0_b",
   "manifest": {"mediaType": "m", "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "size": 3},
   "archive": {"mediaType": "a", "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "size": 3}}],
 "images": [{"image": "127.0.0.1:5000/acme/web:2.0", "registry": "127.0.0.1:5000", "path": "acme/web", "tag": "2.0",
   "manifest": {"mediaType": "m", "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "size": 3},
   "upstream": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
   "signatures": [{"tag": "sha256-2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae.sig", "manifest": {"mediaType": "m", "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "size": 3}}],
   "packs": ["web@1.0.0+b"]}]}`))
	f.Add([]byte(`{"schemaVersion": 1}`))
	f.Add([]byte(`{"schemaVersion": 2, "packs": null}`))
	f.Add([]byte(`{"schemaVersion": 1, "images": [{"image": "docker.io/library/nginx@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			return
		}
		for _, im := range l.Images {
			if HostPath(im.Registry) == "" || im.Manifest.Digest.Validate() != nil {
				t.Fatalf("accepted %+v", im)
			}
		}
	})
}

// TestParse: the list checks, each refusal naming what is wrong.
func TestParse(t *testing.T) {
	d := "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	desc := `{"mediaType": "m", "digest": "` + d + `", "size": 3}`
	head := `{"schemaVersion": 1, "profile": "p", "registry": {"name": "a", "url": "u"}, "index": ` + desc
	for _, c := range []struct{ name, data, want string }{
		{"ok", head + `, "packs": [], "images": []}`, ""},
		{"version", `{"schemaVersion": 9}`, "schema version 9"},
		{"unknown field", head + `, "extra": 1}`, "unknown field"},
		{"trailing", head + `} {}`, "data after"},
		{"bad digest", `{"schemaVersion": 1, "index": {"digest": "sha256:zz"}}`, "not a sha256 digest"},
		{"pack tag", head + `, "packs": [{"name": "web", "version": "1.0.0", "tag": "2.0.0", "manifest": ` + desc + `, "archive": ` + desc + `}]}`, `pack "web@1.0.0"`},
		{"pack name", head + `, "packs": [{"name": "../x", "version": "1.0.0", "tag": "1.0.0", "manifest": ` + desc + `, "archive": ` + desc + `}]}`, "not a pack name"},
		{"image split", head + `, "images": [{"image": "r.example/a:1", "registry": "other.example", "path": "a", "tag": "1", "manifest": ` + desc + `}]}`, "are not its own"},
		{"image twice", head + `, "images": [{"image": "r.example/a:1", "registry": "r.example", "path": "a", "tag": "1", "manifest": ` + desc + `}, {"image": "r.example/a:1", "registry": "r.example", "path": "a", "tag": "1", "manifest": ` + desc + `}]}`, "listed twice"},
		{"pack signed", head + `, "packs": [{"name": "web", "version": "1.0.0", "tag": "1.0.0", "manifest": ` + desc + `, "archive": ` + desc + `, "signature": {"tag": "sha256-2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae.sig", "manifest": ` + desc + `}}]}`, ""},
		{"pack sig tag", head + `, "packs": [{"name": "web", "version": "1.0.0", "tag": "1.0.0", "manifest": ` + desc + `, "archive": ` + desc + `, "signature": {"tag": "sha256-` + strings.Repeat("0", 64) + `.sig", "manifest": ` + desc + `}}]}`, "the tag of its manifest's signature"},
		{"sig tag", head + `, "images": [{"image": "r.example/a:1", "registry": "r.example", "path": "a", "tag": "1", "manifest": ` + desc + `, "signatures": [{"tag": "latest", "manifest": ` + desc + `}]}]}`, "not sha256-HEX.sig or sha256-HEX"},
	} {
		_, err := Parse([]byte(c.data))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
