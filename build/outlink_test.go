package build

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/packgen/packgen/sign"
)

// TestAttackOutDirLinks: someone who can write the out dir plants a link
// (a directory moved out and linked back, so every old file still reads)
// where an update in place would write the next build. The build refuses
// (ErrOutLink, naming the link) and writes nothing behind it; the old
// site stays as it was. A staged build (another --previous) never writes
// into the old tree, so its links do not matter.
func TestAttackOutDirLinks(t *testing.T) {
	for _, at := range []string{"packs", "packs/calico", "packs/calico/shards", "index", "packs/calico/1.1.0", "assets"} {
		t.Run(at, func(t *testing.T) {
			tmp, r, _, out := builtCalico(t, "packs/calico", "1.0.0")
			outside := filepath.Join(t.TempDir(), "moved")
			planted := filepath.Join(out, filepath.FromSlash(at))
			if _, err := os.Stat(planted); err == nil {
				must(t, os.Rename(planted, outside))
			} else {
				must(t, os.Mkdir(outside, 0o755)) // a directory the build will make
			}
			must(t, os.Symlink(outside, planted))
			before, site := dirTree(t, outside), dirTree(t, out)

			writePack(t, r, "packs/calico", "calico", "1.1.0", "cni", "")
			commit(t, r, "two")
			_, err := run(t, r.Dir, out)
			if !errors.Is(err, ErrOutLink) || !strings.Contains(err.Error(), planted) {
				t.Fatalf("err = %v, want ErrOutLink naming %s", err, planted)
			}
			if d := treeDiff(dirTree(t, outside), before); d != nil {
				t.Errorf("the build wrote behind the link: %v", d)
			}
			if d := treeDiff(dirTree(t, out), site); d != nil {
				t.Errorf("the out dir changed: %v", d)
			}
			// Into another out dir from this one (staged): built.
			res := built(t, r.Dir, filepath.Join(tmp, "staged"), func(o *Options) { o.Previous = out })
			if v := versionsOf(t, res, "calico"); len(v) != 2 {
				t.Errorf("staged from the linked site: versions %v", v)
			}
		})
	}
}

func dirTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if e.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			out[rel] = string(data)
		} else {
			out[rel] = e.Type().String()
		}
		return nil
	}))
	return out
}

// treeDiff lists the paths whose entries differ (nil when none).
func treeDiff(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k+" (gone)")
		}
	}
	sort.Strings(d)
	return d
}

// planter is a build key that, as it signs the first archive (while the
// releases are produced: after the plan checked the out dir, before the
// index is written), runs plant: someone else able to write the out dir
// planting a link at that moment.
type planter struct {
	Signer
	once  sync.Once
	plant func()
}

func (p *planter) SignBlob(sum [32]byte, open func() (io.ReadCloser, error)) ([]byte, []byte, error) {
	p.once.Do(p.plant)
	return p.Signer.SignBlob(sum, open)
}

// TestAttackOutDirLinksMidBuild: a link planted in the out dir while an
// update in place runs (after its plan's check) where it then writes —
// index.json's temporary name and signature, index.json itself, a new
// release's signature, the signatures/ and index/ directories — is
// refused (ErrOutLink, naming it), and nothing is written where it
// points. Driven through Run, with the key's first signing as the moment.
func TestAttackOutDirLinksMidBuild(t *testing.T) {
	// An unencrypted key: testutil.NewKey's scrypt costs seconds under -race.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	must(t, err)
	key, err := sign.LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
	must(t, err)
	for _, tc := range []struct {
		at  string
		dir bool // a directory moved out and linked back, not a file link
	}{
		{at: "index.json.new"},
		{at: "index.json.new.sig"},
		{at: "index.json"},
		{at: "packs/calico/1.1.0/calico-1.1.0.tar.gz.sig"},
		{at: "signatures", dir: true},
		{at: "index", dir: true},
	} {
		t.Run(tc.at, func(t *testing.T) {
			_, r, _, out := builtCalico(t, "packs/calico", "1.0.0", func(o *Options) { o.Signer = key })
			outside := t.TempDir()
			victim, moved := filepath.Join(outside, "victim"), filepath.Join(outside, "moved")
			must(t, os.WriteFile(victim, []byte("secret"), 0o600))
			planted := filepath.Join(out, filepath.FromSlash(tc.at))
			var want map[string]string // the moved directory, as it was
			if tc.dir {
				want = dirTree(t, planted)
			}
			s := &planter{Signer: key, plant: func() {
				target := victim
				if tc.dir {
					target = moved
					if err := os.Rename(planted, moved); err != nil {
						t.Error(err)
					}
				} else {
					os.Remove(planted)
				}
				if err := os.Symlink(target, planted); err != nil {
					t.Error(err)
				}
			}}
			writePack(t, r, "packs/calico", "calico", "1.1.0", "cni", "")
			commit(t, r, "two")
			_, err := run(t, r.Dir, out, func(o *Options) { o.Signer = s })
			if !errors.Is(err, ErrOutLink) || !strings.Contains(err.Error(), planted) {
				t.Fatalf("err = %v, want ErrOutLink naming %s", err, planted)
			}
			if fi, err := os.Lstat(planted); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("the link was not planted mid-build: %v %v", fi, err)
			}
			if got, _ := os.ReadFile(victim); string(got) != "secret" {
				t.Errorf("written through the link: victim holds %q", got)
			}
			entries, _ := os.ReadDir(outside)
			if n := map[bool]int{false: 1, true: 2}[tc.dir]; len(entries) != n {
				t.Errorf("outside holds %v", entries)
			}
			if tc.dir {
				if d := treeDiff(dirTree(t, moved), want); d != nil {
					t.Errorf("written behind the directory link: %v", d)
				}
			}
		})
	}
}
