package main

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
)

// TestKeyRotationCLI follows docs/SECURITY.md's rotation procedure with
// the real binary: clients trust old+new, the registry is rebuilt with
// the new key, clients keep only the new key; every release stays
// fetchable and the old key alone is refused (exit 1).
func TestKeyRotationCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	r := testutil.NewRunner(t, tmp, "")
	epoch := time.Now().Unix()
	pg := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := r.Run([]string{fmt.Sprintf("SOURCE_DATE_EPOCH=%d", epoch)}, args...)
		if code != want {
			t.Fatalf("packgen %v: exit %d, want %d\n%s%s", args, code, want, out, errs)
		}
		return out + errs
	}
	repo, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Abs("../../examples/packs")
	if err := repo.CopyDir(filepath.Join(examples, "falco-4.2.5"), "packs/falco-4.2.5"); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("falco"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.Handler(filepath.Join(tmp, "site")))
	defer srv.Close()

	pg(0, "key", "generate", "--prefix", "old")
	pg(0, "key", "generate", "--prefix", "new")
	pg(0, "build", "--repo", "repo", "--out", "site", "--key", "old.key", "--no-site")
	pg(0, "registry", "add", "acme", srv.URL, "--key", "old.pub")
	pg(0, "fetch", "falco@4.2.5", "-d", "got/0")

	// 1. Clients add the new key beside the old one.
	pg(0, "registry", "add", "acme", srv.URL, "--key", "old.pub", "--key", "new.pub")
	pg(0, "fetch", "falco@4.2.5", "-d", "got/1")

	// 2. The registry is rebuilt with the new key (and gains a release).
	if err := repo.CopyDir(filepath.Join(examples, "prometheus-operator-58.2.1"), "packs/prometheus-operator-58.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("prometheus-operator"); err != nil {
		t.Fatal(err)
	}
	epoch++
	// The previous build is signed by the old key: without it among the
	// trusted keys the build refuses to take anything from it.
	if out := pg(1, "build", "--repo", "repo", "--out", "site", "--key", "new.key", "--no-site"); !strings.Contains(out, "--previous-key") {
		t.Fatalf("rotation without --previous-key: %s", out)
	}
	pg(0, "build", "--repo", "repo", "--out", "site", "--key", "new.key", "--previous-key", "old.pub", "--no-site")
	pg(0, "fetch", "falco@4.2.5", "-d", "got/2", "--force")
	pg(0, "fetch", "prometheus-operator", "-d", "got/3")

	// 3. Clients drop the old key: the release built before the rotation
	// still verifies, re-signed by the build.
	pg(0, "registry", "add", "acme", srv.URL, "--key", "new.pub")
	pg(0, "fetch", "falco@4.2.5", "-d", "got/4")
	pg(0, "verify", "--site", srv.URL, "--key", "new.pub")

	// The old key alone is refused.
	pg(0, "registry", "add", "acme", srv.URL, "--key", "old.pub")
	if out := pg(1, "fetch", "falco", "-d", "got/5"); !strings.Contains(out, "bad signature") {
		t.Fatalf("old key after rotation: %s", out)
	}
	pg(1, "verify", "--site", srv.URL, "--key", "old.pub")
}
