package main

import (
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
)

// Witnesses end to end, through the binary, over HTTP on loopback: a
// witness cosigns the registry's log; a client requiring one witness
// fetches; a client requiring two with one cosignature refuses; a
// cosignature by a key the client does not know is not counted; a fork
// served to the witness is refused with its evidence kept; a split view
// (the fork served to a client with the genuine cosignature beside it) is
// refused by the client.
func TestWitnessEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	r := testutil.NewRunner(t, tmp, testutil.Now())
	repo := examplesRepo(t, filepath.Join(tmp, "repo"))
	site := filepath.Join(tmp, "site")
	r.Want(0, "key", "generate", "--prefix", "reg")
	for _, w := range []string{"w1", "w2", "w3"} {
		out, _ := r.Want(0, "key", "generate", "--witness", w+".example", "--prefix", w)
		if !strings.Contains(out, "registry add NAME URL --key registry.pub --witness "+w+".pub") {
			t.Fatalf("key generate --witness says:\n%s", out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "w1.pub")); !strings.HasPrefix(string(b), "w1.example+") {
		t.Fatalf("w1.pub = %q", b)
	}
	r.Want(0, "build", "--repo", repo.Dir, "--out", site, "--key", "reg.key")
	srv := httptest.NewServer(serve.Handler(site))
	defer srv.Close()

	// The witness cosigns (first run: the log key is pinned from index.json).
	// With the registry's key given, the index's signature is checked
	// before its log key is pinned: under another key, nothing is written.
	r.Want(0, "key", "generate", "--prefix", "other")
	_, errs := r.Want(1, "log", "witness", srv.URL, "--key", "w1.key", "--registry-key", "other.pub", "--out", "bad-out", "--state", "bad-state")
	if !strings.Contains(errs, "index.json") || !strings.Contains(errs, "signature") {
		t.Fatalf("index.json under another key:\n%s", errs)
	}
	// The registry's own keys, or the witness's public one, as --key: the
	// user gave the wrong file (2). An unsigned registry keeps no log:
	// what was checked is bad, nothing to witness (1, as verify --site
	// of an unsigned site).
	r.Want(0, "build", "--repo", repo.Dir, "--out", "unsigned")
	for _, tc := range []struct {
		site, key string
		code      int
		want      []string
	}{
		{srv.URL, "reg.key", 2, []string{"--key reg.key: not a witness private key", "never the registry's", "packgen key generate --witness NAME", "Run 'packgen log witness --help'"}},
		{srv.URL, "reg.pub", 2, []string{"--key reg.pub: not a witness private key", "never the registry's"}},
		{srv.URL, "w1.pub", 2, []string{"--key w1.pub: not a witness private key", "witness's public key", "give its private key (.key)"}},
		{"unsigned", "w1.key", 1, []string{"nothing to witness", "index.json of unsigned names no transparency log", "unsigned", "build it with --key"}},
	} {
		_, errs := r.Want(tc.code, "log", "witness", tc.site, "--key", tc.key, "--out", "bad-out", "--state", "bad-state")
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("log witness %s --key %s: want %q in\n%s", tc.site, tc.key, w, errs)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "bad-out")); !os.IsNotExist(err) {
		t.Fatalf("a refused witness run wrote its output: %v", err)
	}
	out, errs := r.Want(0, "log", "witness", srv.URL, "--key", "w1.key", "--registry-key", "reg.pub", "--out", site, "--state", "w1-state")
	if !strings.Contains(errs, "pinned") || !strings.Contains(out, "w1.example cosigned") || !strings.Contains(out, "at 10 entries") {
		t.Fatalf("log witness:\n%s\n%s", out, errs)
	}
	if _, err := os.Stat(filepath.Join(site, "log", "witness", "w1.example")); err != nil {
		t.Fatal(err)
	}
	out, _ = r.Want(0, "log", "witness", srv.URL, "--key", "w1.key", "--out", site, "--state", "w1-state", "-o", "json")
	if !strings.Contains(out, `"previous": 10`) || !strings.Contains(out, `"warnings": []`) {
		t.Fatalf("log witness -o json:\n%s", out)
	}

	// A client requiring that witness fetches.
	r.Want(0, "registry", "add", "one", srv.URL, "--key", "reg.pub", "--witness", "w1.pub", "--witnesses", "1")
	r.Want(0, "fetch", "calico@3.27.3", "--registry", "one", "-d", "calico")

	// Requiring two witnesses with one cosignature: refused, naming both.
	r.Want(0, "registry", "add", "two", srv.URL, "--key", "reg.pub", "--witness", "w1.pub", "--witness", "w2.pub")
	out, _ = r.Want(0, "registry", "list", "-o", "json")
	if !strings.Contains(out, `"witnessQuorum": 2`) || !strings.Contains(out, `"w2.example"`) {
		t.Fatalf("registry list -o json:\n%s", out)
	}
	if out, _ = r.Want(0, "registry", "list"); !strings.Contains(out, "2 of witnesses w1.example, w2.example") {
		t.Fatalf("registry list:\n%s", out)
	}
	_, errs = r.Want(1, "fetch", "calico@3.27.3", "--registry", "two", "-d", "calico2")
	for _, want := range []string{"2 required, 1 valid (signed by w1.example)", "missing: w2.example: no cosigned checkpoint at log/witness/w2.example", "packgen log witness"} {
		if !strings.Contains(errs, want) {
			t.Fatalf("two witnesses required, one signed: want %q in\n%s", want, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "calico2")); !os.IsNotExist(err) {
		t.Fatalf("refused fetch wrote its destination: %v", err)
	}

	// w3, unknown to the client, cosigns; its checkpoint put where w2's
	// belongs is not w2's cosignature.
	r.Want(0, "log", "witness", srv.URL, "--key", "w3.key", "--out", tmp+"/w3-out", "--state", "w3-state")
	w3, err := os.ReadFile(filepath.Join(tmp, "w3-out", "log", "witness", "w3.example"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site, "log", "witness", "w2.example"), w3, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs = r.Want(1, "fetch", "calico@3.27.3", "--registry", "two", "-d", "calico2")
	if !strings.Contains(errs, "w2.example: log/witness/w2.example holds no cosignature by this witness's key") {
		t.Fatalf("unknown witness counted?\n%s", errs)
	}
	// Once w2 cosigns too, two of two.
	r.Want(0, "log", "witness", srv.URL, "--key", "w2.key", "--out", site, "--state", "w2-state")
	r.Want(0, "fetch", "calico@3.27.3", "--registry", "two", "-d", "calico2")

	// verify --site and log audit check the witnesses: a configured
	// registry's, or those the flags name; a quorum not met is a problem.
	out, _ = r.Want(0, "verify", "--site", "two", "-o", "json")
	if !strings.Contains(out, `"witnesses": {`) || !strings.Contains(out, `"required": 2,`) || !strings.Contains(out, `"valid": 2,`) || !strings.Contains(out, `"name": "w2.example"`) {
		t.Fatalf("verify --site two -o json:\n%s", out)
	}
	out, _ = r.Want(1, "verify", "--site", srv.URL, "--key", "reg.pub", "--witness", "w1.pub", "--witness", "w3.pub")
	if !strings.Contains(out, "log/witness: not enough witness cosignatures: 2 required, 1 valid; w3.example: no cosigned checkpoint at log/witness/w3.example") || !strings.Contains(out, "witnesses: 1 of 2 valid, 2 required (w1.example at 10 entries)") {
		t.Fatalf("verify --site with a witness that did not cosign:\n%s", out)
	}
	out, _ = r.Want(0, "log", "audit", srv.URL, "--repo", repo.Dir, "--key", "reg.pub", "--witness", "w1.pub", "--witness", "w3.pub", "--witnesses", "1", "--witness-max-age", "1h", "-o", "json")
	if !strings.Contains(out, `"maxAge": "1h0m0s"`) || !strings.Contains(out, `"valid": 1,`) {
		t.Fatalf("log audit -o json with witnesses:\n%s", out)
	}
	_, errs = r.Want(2, "verify", "--site", "two", "--witness", "w1.pub")
	if !strings.Contains(errs, "registry two has its witnesses in the config") {
		t.Fatalf("verify --site NAME --witness:\n%s", errs)
	}

	// A witness given the registry's key compares the checkpoint's origin
	// with the registry index.json names: a checkpoint of another
	// registry (same key, another --name), its signature line relabelled
	// to this log key's name (a note signature does not sign the name),
	// served beside this index.json is refused, the evidence kept.
	r.Want(0, "build", "--repo", repo.Dir, "--name", "staging", "--out", "staging", "--key", "reg.key")
	mixed := filepath.Join(tmp, "mixed")
	testutil.Must(t, os.CopyFS(mixed, os.DirFS(site)))
	staging, err := os.ReadFile(filepath.Join(tmp, "staging", "log", "checkpoint"))
	testutil.Must(t, err)
	own, err := os.ReadFile(filepath.Join(site, "log", "checkpoint"))
	testutil.Must(t, err)
	testutil.Must(t, os.WriteFile(filepath.Join(mixed, "log", "checkpoint"), relabelNote(t, staging, own), 0o644))
	_, errs = r.Want(1, "log", "witness", mixed, "--key", "w1.key", "--registry-key", "reg.pub", "--out", "origin-out", "--state", "origin-state")
	if !strings.Contains(errs, `the checkpoint is of another registry's log: not cosigned`) || !strings.Contains(errs, `of the log "staging"`) || !strings.Contains(errs, "evidence (index.json") {
		t.Fatalf("a checkpoint of another registry:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(tmp, "origin-out")); !os.IsNotExist(err) {
		t.Fatalf("a refused witness run wrote its output: %v", err)
	}
	if ev, _ := filepath.Glob(filepath.Join(tmp, "origin-state", "origin-*", "checkpoint")); len(ev) != 1 {
		t.Fatalf("origin evidence: %v", ev)
	}

	// A fork: another history of the same registry, signed by the same
	// key (a compromised CI), served to the witness.
	other := anotherHistory(t, filepath.Join(tmp, "other"))
	fork := filepath.Join(tmp, "fork")
	r.Want(0, "build", "--repo", other.Dir, "--name", "repo", "--out", fork, "--key", "reg.key")
	forkSrv := httptest.NewServer(serve.Handler(fork))
	defer forkSrv.Close()
	_, errs = r.Want(1, "log", "witness", forkSrv.URL, "--key", "w1.key", "--out", fork, "--state", "w1-state")
	if !strings.Contains(errs, "the log forked: not cosigned") || !strings.Contains(errs, "evidence of the fork") {
		t.Fatalf("fork served to the witness:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(fork, "log", "witness")); !os.IsNotExist(err) {
		t.Fatalf("the witness cosigned a fork: %v", err)
	}
	ev, _ := filepath.Glob(filepath.Join(tmp, "w1-state", "fork-*", "seen-now"))
	if len(ev) != 1 {
		t.Fatalf("fork evidence: %v", ev)
	}

	// A split view: a client that never saw the genuine log is served
	// the fork with the genuine cosignature copied beside it.
	b, err := os.ReadFile(filepath.Join(site, "log", "witness", "w1.example"))
	testutil.Must(t, err)
	testutil.Must(t, os.MkdirAll(filepath.Join(fork, "log", "witness"), 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(fork, "log", "witness", "w1.example"), b, 0o644))
	fresh := &testutil.Runner{T: t, Bin: r.Bin, Dir: tmp, Env: testutil.Env(filepath.Join(tmp, "victim"), testutil.Now())}
	fresh.Want(0, "registry", "add", "victim", forkSrv.URL, "--key", "reg.pub", "--witness", "w1.pub")
	_, errs = fresh.Want(1, "fetch", "calico@3.27.3", "--registry", "victim", "-d", "victim-calico")
	if !strings.Contains(errs, "split view") {
		t.Fatalf("split view:\n%s", errs)
	}
	// Without witnesses the same client would have taken the fork: what
	// witnesses are for.
	fresh.Want(0, "registry", "add", "nowitness", forkSrv.URL, "--key", "reg.pub")
	fresh.Want(0, "fetch", "calico@3.27.3", "--registry", "nowitness", "-d", "victim-calico")

	// The registry publishes a new release: the witnesses have not seen
	// it yet, so it is refused (older ones are still used) until they run.
	testutil.WritePack(t, repo, "packs/witnessed-0.1.0", "witnessed", "0.1.0", "addon", "")
	testutil.Commit(t, repo, "witnessed 0.1.0")
	r.Want(0, "build", "--repo", repo.Dir, "--out", site, "--key", "reg.key")
	r.Want(0, "fetch", "calico@3.27.3", "--registry", "one", "-d", "calico3")
	_, errs = r.Want(1, "fetch", "witnessed@0.1.0", "--registry", "one", "-d", "witnessed")
	if !strings.Contains(errs, "witnessed@0.1.0 is log entry 10, and 1 of the witnesses (w1.example) have cosigned only the first 10 entries") {
		t.Fatalf("a release newer than the witnessed checkpoint:\n%s", errs)
	}
	r.Want(0, "log", "witness", srv.URL, "--key", "w1.key", "--out", site, "--state", "w1-state")
	r.Want(0, "fetch", "witnessed@0.1.0", "--registry", "one", "-d", "witnessed")

	// The registry rotates its key (docs/SECURITY.md), and the log key
	// with it. Not given the registry's keys, the witness refuses and
	// says how to follow; given the old and the new one, it follows, and
	// a client holding both keys and requiring that witness fetches what
	// the rotated registry publishes.
	r.Want(0, "key", "generate", "--prefix", "new")
	testutil.WritePack(t, repo, "packs/rotated-0.1.0", "rotated", "0.1.0", "addon", "")
	testutil.Commit(t, repo, "rotated 0.1.0")
	r.Want(0, "build", "--repo", repo.Dir, "--out", site, "--key", "new.key", "--previous-key", "reg.pub")
	if _, errs = r.Want(1, "log", "witness", srv.URL, "--key", "w1.key", "--out", site, "--state", "w1-state"); !strings.Contains(errs, "the registry rotated its key, or someone replaced its log") || !strings.Contains(errs, "--registry-key") {
		t.Fatalf("a rotation without the registry's keys:\n%s", errs)
	}
	if _, errs = r.Want(0, "log", "witness", srv.URL, "--key", "w1.key", "--registry-key", "reg.pub", "--registry-key", "new.pub", "--out", site, "--state", "w1-state"); !strings.Contains(errs, "followed the registry's key rotation") {
		t.Fatalf("following the rotation:\n%s", errs)
	}
	r.Want(0, "registry", "add", "rotated", srv.URL, "--key", "reg.pub", "--key", "new.pub", "--witness", "w1.pub")
	r.Want(0, "fetch", "rotated@0.1.0", "--registry", "rotated", "-d", "rotated")

	// Bad input to registry add.
	_, errs = r.Want(2, "registry", "add", "bad", srv.URL, "--key", "reg.pub", "--witness", "w1.pub", "--witnesses", "2")
	if !strings.Contains(errs, "2 witness cosignatures required but 1 witness keys given") {
		t.Fatalf("quorum above the keys:\n%s", errs)
	}
	_, errs = r.Want(2, "registry", "add", "bad", srv.URL, "--key", "reg.pub", "--witness", "reg.pub")
	if !strings.Contains(errs, "witness key") {
		t.Fatalf("a PEM as a witness key:\n%s", errs)
	}
}

// relabelNote gives the one signature line of the signed note msg the
// name and key hash of the one in like's: what the holder of a key that
// signs two logs under two names can do, since a note signature signs
// neither.
func relabelNote(t *testing.T, msg, like []byte) []byte {
	t.Helper()
	sigLine := func(b []byte) (name string, raw []byte) {
		_, line, ok := strings.Cut(string(b), "\n\n\u2014 ")
		if !ok {
			t.Fatalf("no signature line in\n%s", b)
		}
		name, b64, _ := strings.Cut(strings.TrimSpace(line), " ")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) < 4 {
			t.Fatalf("signature line %q: %v", line, err)
		}
		return name, raw
	}
	name, raw := sigLine(msg)
	toName, toRaw := sigLine(like)
	copy(raw[:4], toRaw[:4])
	text, _, _ := strings.Cut(string(msg), "\n\n\u2014 ")
	if name == toName {
		t.Fatalf("both notes are signed by %s", name)
	}
	return []byte(text + "\n\n\u2014 " + toName + " " + base64.StdEncoding.EncodeToString(raw) + "\n")
}

// TestWitnessOCI: witnesses of a registry published to a real OCI
// registry (CNCF distribution), through the binary: the witness reads
// the log from oci://, publish pushes its cosignature (tag
// witness-NAME in packgen/index, never a version of a pack), a client
// requiring it fetches and one requiring a second witness is refused,
// verify --site reports both, and --prune keeps the tag.
func TestWitnessOCI(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	tmp := t.TempDir()
	r := testutil.NewRunner(t, tmp, testutil.Now())
	repo := examplesRepo(t, filepath.Join(tmp, "repo"))
	site := filepath.Join(tmp, "site")
	dest := "oci://" + reg.Host() + "/acme"
	r.Want(0, "key", "generate", "--prefix", "reg")
	r.Want(0, "key", "generate", "--witness", "w1.example", "--prefix", "w1")
	r.Want(0, "key", "generate", "--witness", "w2.example", "--prefix", "w2")
	r.Want(0, "build", "--repo", repo.Dir, "--out", site, "--key", "reg.key")
	r.Want(0, "publish", site, dest, "--key", "reg.key", "--plain-http")

	// Before any cosignature is published a client requiring one refuses.
	r.Want(0, "registry", "add", "one", dest, "--key", "reg.pub", "--witness", "w1.pub", "--plain-http")
	_, errs := r.Want(1, "fetch", "calico@3.27.3", "--registry", "one", "-d", "calico0")
	if !strings.Contains(errs, "1 required, 0 valid") || !strings.Contains(errs, "w1.example: no cosigned checkpoint at log/witness/w1.example") {
		t.Fatalf("no cosignature yet:\n%s", errs)
	}

	out, _ := r.Want(0, "log", "witness", dest, "--key", "w1.key", "--registry-key", "reg.pub", "--out", site, "--state", "w1-state", "--plain-http")
	if !strings.Contains(out, "w1.example cosigned") {
		t.Fatalf("log witness oci://:\n%s", out)
	}
	out, _ = r.Want(0, "publish", site, dest, "--key", "reg.key", "--plain-http", "-o", "json")
	if !strings.Contains(out, reg.Host()+`/acme/packgen/index:witness-w1.example"`) {
		t.Fatalf("publish did not push the witness file:\n%s", out)
	}

	r.Want(0, "fetch", "calico@3.27.3", "--registry", "one", "-d", "calico")
	r.Want(0, "registry", "add", "two", dest, "--key", "reg.pub", "--witness", "w1.pub", "--witness", "w2.pub", "--witness-max-age", "168h", "--plain-http")
	if out, _ = r.Want(0, "registry", "list", "-o", "json"); !strings.Contains(out, `"witnessMaxAge": "168h0m0s"`) {
		t.Fatalf("registry list -o json:\n%s", out)
	}
	_, errs = r.Want(1, "fetch", "calico@3.27.3", "--registry", "two", "-d", "calico2")
	if !strings.Contains(errs, "2 required, 1 valid (signed by w1.example)") || !strings.Contains(errs, "w2.example: no cosigned checkpoint at log/witness/w2.example") {
		t.Fatalf("a second witness required:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(tmp, "calico2")); !os.IsNotExist(err) {
		t.Fatalf("a refused fetch wrote its destination: %v", err)
	}
	out, _ = r.Want(1, "verify", "--site", "two")
	if !strings.Contains(out, "witnesses: 1 of 2 valid, 2 required (w1.example at 10 entries)") {
		t.Fatalf("verify --site two:\n%s", out)
	}

	// The tag is never a version, and prune keeps it.
	r.Want(0, "publish", site, dest, "--key", "reg.key", "--plain-http", "--prune")
	idx, err := ocireg.Repository(t.Context(), reg.Host()+"/acme/packgen/index", ocireg.Options{PlainHTTP: true})
	testutil.Must(t, err)
	if _, err := idx.Resolve(t.Context(), "witness-w1.example"); err != nil {
		t.Fatalf("after publish --prune: %v", err)
	}
	calico, err := ocireg.Repository(t.Context(), reg.Host()+"/acme/spectro-packs/archive/calico", ocireg.Options{PlainHTTP: true})
	testutil.Must(t, err)
	testutil.Must(t, calico.Tags(t.Context(), "", func(tags []string) error {
		for _, tag := range tags {
			if strings.HasPrefix(tag, "witness-") {
				t.Errorf("a witness tag among calico's versions: %v", tags)
			}
		}
		return nil
	}))
	r.Want(0, "fetch", "calico@3.27.3", "--registry", "one", "-d", "calico3")
}
