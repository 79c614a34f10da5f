package profile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/index"
)

// TestArchivesAndImageHooks: Archives gives each locked layer's verified
// archive (its bytes are the locked digest), and refuses a registry
// serving other bytes; Resolve hands the lock to PinImages and fails
// with its error; Fetch runs CheckImages before the destination is
// written and leaves it untouched when it fails.
func TestArchivesAndImageHooks(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	env := reg.env(t.TempDir())
	p, err := Load(filepath.Join(copyProfiles(t), "aws-prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pinned *Lock
	res, err := Resolve(ctx, p, env, ResolveOptions{PinImages: func(_ context.Context, l *Lock, e *Env) error {
		if e != env {
			t.Error("PinImages got another env")
		}
		pinned = l
		l.Layers[0].Images = map[string]string{"docker.io/library/a:1": "sha256:" + index.Digest(nil)}
		return nil
	}})
	if err != nil || pinned != res.Lock || res.Lock.Layers[0].Images == nil {
		t.Fatalf("PinImages: %v", err)
	}
	boom := errors.New("boom")
	if _, err := Resolve(ctx, p, env, ResolveOptions{PinImages: func(context.Context, *Lock, *Env) error { return boom }}); !errors.Is(err, boom) {
		t.Errorf("PinImages' error: %v", err)
	}

	paths, err := Archives(ctx, res.Lock, env, 2, false)
	if err != nil || len(paths) != len(res.Lock.Layers) {
		t.Fatalf("Archives: %v %d", err, len(paths))
	}
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil || index.Digest(data) != res.Lock.Layers[i].Archive.SHA256 {
			t.Errorf("%s: %s is not the locked archive (%v)", res.Lock.Layers[i].ID(), path, err)
		}
	}
	bad := *res.Lock
	bad.Layers = append([]LockedPack{}, res.Lock.Layers...)
	bad.Layers[1].Archive.SHA256 = index.Digest([]byte("other"))
	if _, err := Archives(ctx, &bad, env, 2, false); !errors.Is(err, ErrLockMismatch) {
		t.Errorf("a registry serving other bytes: %v", err)
	}

	dest := filepath.Join(t.TempDir(), "cluster")
	var checked *Lock
	_, err = Fetch(ctx, res.Lock, env, FetchOptions{Dest: dest, CheckImages: func(_ context.Context, l *Lock) error {
		checked = l
		return boom
	}})
	if !errors.Is(err, boom) || checked != res.Lock {
		t.Fatalf("CheckImages: %v", err)
	}
	if _, err := os.Lstat(dest); !os.IsNotExist(err) {
		t.Errorf("a failed image check wrote %s", dest)
	}
	if _, err := Fetch(ctx, res.Lock, env, FetchOptions{Dest: dest, CheckImages: func(context.Context, *Lock) error { return nil }}); err != nil {
		t.Fatal(err)
	}
}
