package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/sign"
)

// TestWalkerStopsAtFirst: the walker's stop-at-the-first-problem mode
// (what a build reading its previous build wants) visits every node and
// shard of a clean site, and stops with ErrDigestMismatch, naming the
// file, at a tampered shard; the archive step refuses a changed archive.
func TestWalkerStopsAtFirst(t *testing.T) {
	f := newFixture(t)
	site := f.latest(t)
	v, _ := sign.LoadPublicKey(f.pub)
	tr, err := NewTransport(site, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWalker(tr, v)
	ctx := context.Background()
	data, err := w.Get(ctx, index.RootFile, index.MaxRootSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RootSignature(ctx, data, nil); err != nil {
		t.Fatalf("root signature: %v", err)
	}
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	var nodes, packs int
	var rels []index.Release
	err = w.Tree(ctx, root, TreeVisitor{
		Node: func(index.FileRef) { nodes++ },
		Shard: func(s index.Summary, shard *index.Shard) error {
			packs++
			rels = append(rels, shard.Releases...)
			return nil
		},
	})
	if err != nil || nodes == 0 || packs != 3 || len(rels) != 9 {
		t.Fatalf("clean site: %v, %d nodes, %d packs, %d releases", err, nodes, packs, len(rels))
	}
	var buf bytes.Buffer
	sum, err := w.Archive(ctx, rels[0].Archive, &buf)
	if err != nil || int64(buf.Len()) != rels[0].Archive.Size || index.Digest(buf.Bytes()) != rels[0].Archive.SHA256 {
		t.Fatalf("archive: %v, %d bytes", err, buf.Len())
	}
	raw, err := w.Get(ctx, rels[0].Signature, sign.MaxSigFileSize)
	if err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	if err := w.ArchiveSignature(&rels[0], raw, sum, open); err != nil {
		t.Fatalf("archive signature: %v", err)
	}

	flipByte(t, filepath.Join(site, filepath.FromSlash(rels[0].Archive.Path)))
	if _, err := w.Archive(ctx, rels[0].Archive, io.Discard); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered archive: %v", err)
	}
	var shard string
	_ = w.Tree(ctx, root, TreeVisitor{Shard: func(s index.Summary, _ *index.Shard) error {
		shard = s.Shard.Path
		return errors.New("stop")
	}})
	flipByte(t, filepath.Join(site, filepath.FromSlash(shard)))
	err = w.Tree(ctx, root, TreeVisitor{Shard: func(index.Summary, *index.Shard) error { return nil }})
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), shard) {
		t.Fatalf("tampered shard %s: want ErrDigestMismatch naming it, got %v", shard, err)
	}
}

// hashFile returns a file's SHA-256 and size (the tests' own check of
// what the cache holds, independent of the client's).
func hashFile(path string) ([32]byte, int64, error) {
	data, err := os.ReadFile(path)
	return sha256.Sum256(data), int64(len(data)), err
}
