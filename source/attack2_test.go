package source

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
)

// Attacker's-eye review of the git integrity check (issue 13 item 1):
// the blob check covers what a blob's ID names; these cases damage what
// names the blobs.

// rewriteLooseTree replaces, in the loose tree object id, the entry
// hash old by new (keeping zlib and the header valid), as disk damage or
// a broken object store could: the tree's ID no longer matches its
// content.
func rewriteLooseTree(t *testing.T, dir, id, old, new string) {
	t.Helper()
	content := testutil.Git(t, dir, "cat-file", "tree", id)
	o, _ := hex.DecodeString(old)
	n, _ := hex.DecodeString(new)
	if !bytes.Contains(content, o) {
		t.Fatalf("tree %s does not hold %s", id, old)
	}
	testutil.CorruptLoose(t, dir, id, bytes.Replace(content, o, n, 1))
}

// walkDamaged walks the repository at dir whose tree object tree is
// damaged: a walk that fails must fail as ErrCorruptObject naming the
// tree (then nil, the damage found); else it returns what it found.
func walkDamaged(t *testing.T, dir, tree string) *Result {
	t.Helper()
	repo, err := Open(dir)
	must(t, err)
	res, err := repo.Releases(context.Background(), Options{})
	if err != nil {
		if !errors.Is(err, ErrCorruptObject) || !strings.Contains(err.Error(), tree) {
			t.Fatalf("walk: %v, want ErrCorruptObject naming tree %s", err, tree)
		}
		t.Log(err)
		return nil
	}
	return res
}

// TestAttackCorruptTreeSwapsBlob: the pack dir's tree object is damaged
// so that values.yaml's entry names another blob of the repository
// (every blob read then hashes to the ID it was asked for). The release
// keeps its genuine tree ID, so an archive of the wrong files would be
// recorded under the right tree and pass the rebuild check of any clone
// with the same damage: the read must fail as corrupt instead.
func TestAttackCorruptTreeSwapsBlob(t *testing.T) {
	r := newRepo(t)
	dir := r.Dir
	writePack(t, r, "packs/a", "calico", "1.0.0")
	must(t, r.Write("other/evil.yaml", []byte("pack: {evil: true}\n")))
	commit(t, r, "one")
	rev := func(spec string) string { return testutil.RevParse(t, dir, spec) }
	tree, values, evil := rev("HEAD:packs/a"), rev("HEAD:packs/a/values.yaml"), rev("HEAD:other/evil.yaml")
	rewriteLooseTree(t, dir, tree, values, evil)

	res := walkDamaged(t, dir, tree)
	if res == nil {
		return
	}
	fsys, done, err := res.Releases[0].Open()
	if err != nil {
		if !errors.Is(err, ErrCorruptObject) {
			t.Fatalf("open: %v, want ErrCorruptObject", err)
		}
		return
	}
	defer done()
	data, rerr := fs.ReadFile(fsys, "values.yaml")
	ierr := IntegrityError(fsys)
	if ierr == nil && rerr == nil {
		t.Fatalf("release %s (tree %s) read values.yaml as %q: the damaged tree went unnoticed", res.Releases[0].Name, res.Releases[0].TreeHash, data)
	}
	if !errors.Is(ierr, ErrCorruptObject) || !strings.Contains(ierr.Error(), tree) {
		t.Fatalf("IntegrityError = %v (read: %v), want ErrCorruptObject naming tree %s", ierr, rerr, tree)
	}
	t.Log(ierr)
}

// repackWithTree rewrites the repository's single, undeltified pack so
// that the object id holds content instead (a tree damaged on disk or by
// a faulty writer: valid zlib, valid pack and index checksums, the index
// still naming id). Offsets after it shift; the index is rewritten.
func repackWithTree(t *testing.T, dir, id string, content []byte) {
	t.Helper()
	testutil.Git(t, dir, "repack", "-a", "-d", "-f", "--window=0", "--depth=0", "-q")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs: %v", packs)
	}
	pack, idx := packs[0], strings.TrimSuffix(packs[0], ".pack")+".idx"
	pdata, err := os.ReadFile(pack)
	must(t, err)
	xdata, err := os.ReadFile(idx)
	must(t, err)
	// idx v2: magic, version, fanout[256], names[n], crc[n], off[n], ...
	n := int(binary.BigEndian.Uint32(xdata[8+255*4:]))
	names, crcs, offs := 8+256*4, 8+256*4+n*20, 8+256*4+n*24
	want, _ := hex.DecodeString(id)
	target := -1
	offsets := make([]int64, n)
	for i := 0; i < n; i++ {
		offsets[i] = int64(binary.BigEndian.Uint32(xdata[offs+i*4:]))
		if offsets[i]&0x80000000 != 0 {
			t.Fatal("large offsets")
		}
		if bytes.Equal(xdata[names+i*20:names+i*20+20], want) {
			target = i
		}
	}
	if target < 0 {
		t.Fatalf("%s not in the pack", id)
	}
	start := offsets[target]
	end := int64(len(pdata) - 20)
	for _, o := range offsets {
		if o > start && o < end {
			end = o
		}
	}
	// The object's header: type and size, varint; content's size is the same.
	hdr := 1
	for pdata[start+int64(hdr)-1]&0x80 != 0 {
		hdr++
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content)
	must(t, zw.Close())
	entry := append(bytes.Clone(pdata[start:start+int64(hdr)]), z.Bytes()...)
	shift := int64(len(entry)) - (end - start)
	out := append(append(bytes.Clone(pdata[:start]), entry...), pdata[end:len(pdata)-20]...)
	sum := sha1.Sum(out)
	out = append(out, sum[:]...)
	for i := range offsets {
		if offsets[i] > start {
			binary.BigEndian.PutUint32(xdata[offs+i*4:], uint32(offsets[i]+shift))
		}
	}
	binary.BigEndian.PutUint32(xdata[crcs+target*4:], crc32.ChecksumIEEE(entry))
	copy(xdata[len(xdata)-40:], sum[:])
	isum := sha1.Sum(xdata[:len(xdata)-20])
	copy(xdata[len(xdata)-20:], isum[:])
	for _, f := range []string{pack, idx} {
		must(t, os.Remove(f))
	}
	// A pack is named by its checksum.
	base := filepath.Join(filepath.Dir(pack), "pack-"+hex.EncodeToString(sum[:]))
	must(t, os.WriteFile(base+".pack", out, 0o444))
	must(t, os.WriteFile(base+".idx", xdata, 0o444))
}

// TestAttackCorruptLargePackedTree: the same damage in a packed tree
// larger than go-git's 16 KiB small-object threshold, which go-git hands
// out under the index's ID without hashing its content.
func TestAttackCorruptLargePackedTree(t *testing.T) {
	r := newRepo(t)
	dir := r.Dir
	writePack(t, r, "packs/a", "calico", "1.0.0")
	for i := 0; i < 600; i++ {
		must(t, r.Write(fmt.Sprintf("packs/a/manifests/m%04d.yaml", i), []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m%d\n", i))))
	}
	must(t, r.Write("other/evil.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n")))
	commit(t, r, "one")
	rev := func(spec string) string { return testutil.RevParse(t, dir, spec) }
	tree, victim, evil := rev("HEAD:packs/a/manifests"), rev("HEAD:packs/a/manifests/m0007.yaml"), rev("HEAD:other/evil.yaml")
	content := testutil.Git(t, dir, "cat-file", "tree", tree)
	if len(content) <= 16<<10 {
		t.Fatalf("tree is %d bytes, not over go-git's threshold", len(content))
	}
	v, _ := hex.DecodeString(victim)
	e, _ := hex.DecodeString(evil)
	repackWithTree(t, dir, tree, bytes.Replace(content, v, e, 1))
	// git itself sees the damage.
	if out, err := exec.Command("git", "-C", dir, "fsck", "--full").CombinedOutput(); err == nil {
		t.Fatalf("git fsck accepts the damaged pack:\n%s", out)
	}

	res := walkDamaged(t, dir, tree)
	if res == nil {
		return
	}
	fsys, done, err := res.Releases[0].Open()
	must(t, err)
	defer done()
	data, rerr := fs.ReadFile(fsys, "manifests/m0007.yaml")
	if _, err := fs.ReadDir(fsys, "manifests"); err != nil && rerr == nil {
		rerr = err
	}
	ierr := IntegrityError(fsys)
	if ierr == nil && rerr == nil {
		t.Fatalf("release %s (tree %s) read manifests/m0007.yaml as %q: the damaged tree went unnoticed", res.Releases[0].Name, res.Releases[0].TreeHash, data)
	}
	if !errors.Is(ierr, ErrCorruptObject) || !strings.Contains(ierr.Error(), tree) {
		t.Fatalf("IntegrityError = %v (read: %v), want ErrCorruptObject naming tree %s", ierr, rerr, tree)
	}
}
