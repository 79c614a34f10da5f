package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/testutil/filetest"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/witness"
)

// relabel rewrites the signature line of signer from in msg (a signed
// note) to name to, key hash hash: an ed25519 note signature and a
// cosignature/v1 do not sign the signer's name, so the relabelled line
// still verifies under a key with the same key material and another
// name.
func relabel(t *testing.T, msg []byte, from, to string, hash uint32) []byte {
	t.Helper()
	var out bytes.Buffer
	found := false
	for _, line := range strings.SplitAfter(string(msg), "\n") {
		if rest, ok := strings.CutPrefix(line, "\u2014 "+from+" "); ok {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(rest, "\n"))
			if err != nil || len(raw) < 4 {
				t.Fatalf("signature line %q: %v", line, err)
			}
			binary.BigEndian.PutUint32(raw, hash)
			line = "\u2014 " + to + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
			found = true
		}
		out.WriteString(line)
	}
	if !found {
		t.Fatalf("no signature by %s in\n%s", from, msg)
	}
	return out.Bytes()
}

func keyHash(t *testing.T, vkey string) uint32 {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		v, err = translog.NewWitnessVerifier(vkey)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v.KeyHash()
}

// cosign runs the witness of skey, named name, over the site in dir and
// returns the cosignature it wrote there.
func cosign(t *testing.T, dir, skey, name string) []byte {
	t.Helper()
	if _, err := witness.Run(context.Background(), witness.Options{Site: dir, Key: skey, StateDir: t.TempDir(), Out: dir}); err != nil {
		t.Fatal(err)
	}
	return testutil.ReadFile(t, filepath.Join(dir, translog.WitnessPath(name)))
}

// witnessClient is a client of dir's registry (served over loopback
// HTTP) requiring quorum of the witness keys.
func witnessClient(t *testing.T, f *fixture, dir string, quorum int, keys ...string) (*Client, error) {
	t.Helper()
	srv := newServer(t, dir)
	e := newEnv(t)
	return New(Registry{Name: "test", URL: srv.URL, Keys: []string{string(f.pub)}, Witnesses: keys, WitnessQuorum: quorum}, Options{CacheDir: e.cache, StateDir: e.state, Timeout: 5 * time.Second})
}

// TestAttackWitnessOneKeyTwoNames: the same witness key given twice
// under two names (a witness operator posing as two, or a key pasted
// twice). A cosignature/v1 does not sign the witness's name, so the
// registry copies witness a's cosignature to log/witness/b relabelled:
// without a check, one witness meets a quorum of two. The configuration
// is refused (ErrWitnessConfig), naming both; so is the same key line
// given twice.
func TestAttackWitnessOneKeyTwoNames(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	skey, vkeyA, err := translog.GenerateWitnessKey(rand.Reader, "wit-a")
	if err != nil {
		t.Fatal(err)
	}
	// The same public key under the name wit-b.
	raw, err := base64.StdEncoding.DecodeString(strings.SplitN(vkeyA, "+", 3)[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize {
		t.Fatalf("witness key %q: %v", vkeyA, err)
	}
	plainB, err := note.NewEd25519VerifierKey("wit-b", ed25519.PublicKey(raw[1:]))
	if err != nil {
		t.Fatal(err)
	}
	vkeyB, err := fnote.VKeyToCosignatureV1(plainB)
	if err != nil {
		t.Fatal(err)
	}
	cosA := cosign(t, site, skey, "wit-a")
	cosB := relabel(t, cosA, "wit-a", "wit-b", keyHash(t, vkeyB))
	filetest.WriteFile(t, filepath.Join(site, translog.WitnessPath("wit-b")), cosB)
	// The forgery is a valid cosignature under wit-b's key on its own.
	root := testutil.ReadRoot(t, site)
	vb, _ := translog.NewWitnessVerifier(vkeyB)
	if _, names, err := translog.OpenCosigned(cosB, root.Log.Key, []note.Verifier{vb}); err != nil || len(names) != 1 {
		t.Fatalf("the relabelled cosignature does not verify under wit-b's key (%v %v): the test proves nothing", names, err)
	}
	dest := filepath.Join(t.TempDir(), "pack")
	c, err := witnessClient(t, f, site, 2, vkeyA, vkeyB)
	if err == nil {
		_, err = c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
	}
	if !errors.Is(err, ErrWitnessConfig) || !strings.Contains(err.Error(), "wit-a") || !strings.Contains(err.Error(), "wit-b") {
		t.Fatalf("one key under two names, quorum 2: got %v, want ErrWitnessConfig naming wit-a and wit-b", err)
	}
	if _, serr := os.Stat(dest); serr == nil {
		t.Fatal("installed with one witness counted twice")
	}
	// The registry config check refuses it too (registry add, config load).
	if err := checkRegistry(Registry{Name: "test", URL: "https://x", Witnesses: []string{vkeyA, vkeyB}, WitnessQuorum: 1}); !errors.Is(err, ErrWitnessConfig) {
		t.Fatalf("checkRegistry: %v", err)
	}
	// The same key line given twice, quorum two: the file of wit-a would
	// be counted twice.
	c, err = witnessClient(t, f, site, 2, vkeyA, " "+vkeyA)
	if err == nil {
		_, err = c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
	}
	if !errors.Is(err, ErrWitnessConfig) || !strings.Contains(err.Error(), "wit-a") {
		t.Fatalf("one key given twice, quorum 2: got %v, want ErrWitnessConfig naming wit-a", err)
	}
}

// TestAttackWitnessOtherRegistryCheckpoint: one registry key signs two
// registries (staging and prod, as TestAttackOtherRegistrySameKey), so
// their logs have the same log key material and, built from the same
// repository, the same entries. A witness that watches only "staging"
// cosigns its checkpoint; the key holder relabels the log's signature
// line to prod's log key name (a note signature does not sign the name)
// and serves it at prod's log/witness/NAME. The checkpoint's origin is
// staging's: it is no checkpoint of this registry's log, and the witness
// is not counted.
func TestAttackWitnessOtherRegistryCheckpoint(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	staging := filepath.Join(t.TempDir(), "staging")
	if _, err := build.Run(context.Background(), build.Options{Repo: f.repo.Dir, Out: staging, History: true, Registry: "staging", Signer: f.signer, GeneratedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	prod, stag := testutil.ReadRoot(t, site), testutil.ReadRoot(t, staging)
	if prod.Log == nil || stag.Log == nil || prod.Log.Hash != stag.Log.Hash {
		t.Fatalf("staging's log (%+v) is not prod's (%+v): the test proves nothing", stag.Log, prod.Log)
	}
	skey, vkey, err := translog.GenerateWitnessKey(rand.Reader, "wit-a")
	if err != nil {
		t.Fatal(err)
	}
	cos := cosign(t, staging, skey, "wit-a")
	prodName := prod.Log.Key[:strings.Index(prod.Log.Key, "+")]
	stagName := stag.Log.Key[:strings.Index(stag.Log.Key, "+")]
	forged := relabel(t, cos, stagName, prodName, keyHash(t, prod.Log.Key))
	filetest.WriteFile(t, filepath.Join(site, translog.WitnessPath("wit-a")), forged)
	wv, _ := translog.NewWitnessVerifier(vkey)
	if cp, names, err := translog.OpenCosigned(forged, prod.Log.Key, []note.Verifier{wv}); err != nil || len(names) != 1 || cp.Origin != "staging" {
		t.Fatalf("the relabelled checkpoint does not open under prod's log key (%v %v %+v): the test proves nothing", names, err, cp)
	}
	dest := filepath.Join(t.TempDir(), "pack")
	c, err := witnessClient(t, f, site, 1, vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
	if !errors.Is(err, ErrNotWitnessed) || !strings.Contains(err.Error(), "staging") {
		t.Fatalf("a witness of another registry's log counted: got %v, want ErrNotWitnessed naming the origin staging", err)
	}
	if _, serr := os.Stat(dest); serr == nil {
		t.Fatal("installed on another registry's cosignature")
	}
}

// TestAttackWitnessFileHostile: the registry serves a witness's file
// hostile: endless, stalled, a huge Content-Length, another witness's
// cosignature (its line repeated). The other witness still counts; the
// hostile one never does, and never hangs or fills memory: a quorum of
// one is met, a quorum of two is refused naming the witness, within the
// deadlines.
func TestAttackWitnessFileHostile(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	var vkeys []string
	var cosA []byte // wit-a's cosignature
	for _, name := range []string{"wit-a", "wit-b"} {
		skey, vkey, err := translog.GenerateWitnessKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		if cos := cosign(t, site, skey, name); cosA == nil {
			cosA = cos
		}
		vkeys = append(vkeys, vkey)
	}
	sigLine := string(cosA[bytes.LastIndex(cosA[:len(cosA)-1], []byte("\n"))+1:])
	for _, mode := range []string{"endless", "stall", "content-length huge", "another witness's cosignature, repeated"} {
		t.Run(mode, func(t *testing.T) {
			srv := newServer(t, site)
			srv.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/"+translog.WitnessPath("wit-b") {
					return false
				}
				switch mode {
				case "endless":
					chunk := bytes.Repeat([]byte("x"), 32<<10)
					for {
						if _, err := w.Write(chunk); err != nil {
							return true
						}
					}
				case "stall":
					w.Write(cosA[:10])
					w.(http.Flusher).Flush()
					<-r.Context().Done()
				case "content-length huge":
					w.Header().Set("Content-Length", "1099511627776")
					w.Write(cosA)
				default:
					w.Write([]byte(string(cosA) + strings.Repeat(sigLine, 20)))
				}
				return true
			}
			for _, quorum := range []int{1, 2} {
				e := newEnv(t)
				c, err := New(Registry{Name: "test", URL: srv.URL, Keys: []string{string(f.pub)}, Witnesses: vkeys, WitnessQuorum: quorum},
					Options{CacheDir: e.cache, StateDir: e.state, Timeout: 5 * time.Second, StallTimeout: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				dest := filepath.Join(t.TempDir(), "pack")
				start := time.Now()
				_, err = c.Fetch(context.Background(), FetchOptions{Name: "calico", Dest: dest})
				if took := time.Since(start); took > 8*time.Second {
					t.Errorf("quorum %d took %v", quorum, took)
				}
				if quorum == 1 && err != nil {
					t.Fatalf("quorum 1, wit-a genuine: %v", err)
				}
				if quorum == 2 {
					if !errors.Is(err, ErrNotWitnessed) || !strings.Contains(err.Error(), "wit-b:") || !strings.Contains(err.Error(), "signed by wit-a") {
						t.Fatalf("quorum 2: got %v, want ErrNotWitnessed counting wit-a only and naming wit-b", err)
					}
					if _, serr := os.Stat(dest); serr == nil {
						t.Fatal("installed below the quorum")
					}
				}
			}
		})
	}
}
