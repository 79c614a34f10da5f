package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// TestCorruptPackedBlob flips a byte inside a packed, zlib-compressed
// blob: reading the release fails with ErrCorruptObject naming it.
func TestCorruptPackedBlob(t *testing.T) {
	r := newRepo(t)
	writePack(t, r, "packs/a", "calico", "1.0.0")
	big := crdYAML("Big", 1200, 0)
	must(t, r.Write("packs/a/crds/big.yaml", big))
	commit(t, r, "one")
	testutil.Git(t, r.Dir, "gc", "--aggressive", "--prune=now", "--quiet")
	id := testutil.RevParse(t, r.Dir, "HEAD:packs/a/crds/big.yaml")
	packs, _ := filepath.Glob(filepath.Join(r.Dir, ".git/objects/pack/*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs: %v", packs)
	}
	// verify-pack: "<id> blob <size> <size-in-pack> <offset>"
	var off, n int64
	for _, l := range strings.Split(string(testutil.Git(t, r.Dir, "verify-pack", "-v", strings.TrimSuffix(packs[0], ".pack")+".idx")), "\n") {
		if f := strings.Fields(l); len(f) >= 5 && f[0] == id {
			n, _ = strconv.ParseInt(f[3], 10, 64)
			off, _ = strconv.ParseInt(f[4], 10, 64)
		}
	}
	if n == 0 {
		t.Fatal("blob not in the pack")
	}
	data, err := os.ReadFile(packs[0])
	must(t, err)
	data[off+n/2] ^= 0x55
	must(t, os.Chmod(packs[0], 0o644))
	must(t, os.WriteFile(packs[0], data, 0o444))

	fsys, done := openFirst(t, r.Dir)
	defer done()
	_, rerr := readAllFilesErr(fsys)
	ierr := IntegrityError(fsys)
	t.Logf("read: %v\nintegrity: %v", rerr, ierr)
	if !errors.Is(ierr, ErrCorruptObject) || !strings.Contains(ierr.Error(), id) || !strings.Contains(ierr.Error(), "packs/a/crds/big.yaml") {
		t.Fatalf("IntegrityError = %v (read: %v)", ierr, rerr)
	}
}

func readAllFilesErr(fsys fs.FS) (int, error) {
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if _, err := fs.ReadFile(fsys, p); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}
