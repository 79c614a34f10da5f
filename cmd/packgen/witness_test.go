package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
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

	// A fork: another history of the same registry, signed by the same
	// key (a compromised CI), served to the witness.
	other, err := gitfixture.Init(filepath.Join(tmp, "other"))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../examples/packs")
	testutil.Must(t, other.CopyDir(abs, "packs"))
	testutil.Must(t, other.Write("README.md", []byte("another history\n")))
	if _, err := other.Commit("another history"); err != nil {
		t.Fatal(err)
	}
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
