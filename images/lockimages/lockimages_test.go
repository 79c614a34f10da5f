package lockimages

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/ocitest"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/profile"
)

// TestCheckPins checks a lock's pinned images against the real
// registry: pins that hold, a tag moved, an image gone, a registry down
// (one error), and a lock with no pins.
func TestCheckPins(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := ocitest.Start(t, ocitest.Anonymous)
	h := reg.Host()
	a := reg.PushImage(t, "acme/a:1", "a")
	b := reg.PushImage(t, "acme/b:1", "b")
	dead := testutil.FreeAddr(t)
	o := lookup.Options{OCI: ocireg.Options{PlainHTTP: true}}
	lock := func(pins ...map[string]string) *profile.Lock {
		lk := &profile.Lock{}
		for i, p := range pins {
			lk.Layers = append(lk.Layers, profile.LockedPack{Pack: []string{"one", "two"}[i], Version: "1.0.0", Images: p})
		}
		return lk
	}
	for _, tc := range []struct {
		name string
		lock *profile.Lock
		errs []error
		msg  []string
	}{
		{"pins hold", lock(map[string]string{h + "/acme/a:1": a}, map[string]string{h + "/acme/a:1": a, h + "/acme/b:1": b}), nil, nil},
		{"tag moved", lock(map[string]string{h + "/acme/a:1": b}), []error{ErrPinMoved, profile.ErrLockMismatch},
			[]string{"one@1.0.0: image " + h + "/acme/a:1: the lock pins " + b + ", its registry now serves " + a}},
		{"gone", lock(nil, map[string]string{h + "/acme/c:1": a}), []error{lookup.ErrMissing}, []string{"pack two: " + h + "/acme/c:1: image does not exist"}},
		{"registry down", lock(map[string]string{dead + "/x:1": a, dead + "/y:1": b}), []error{lookup.ErrRegistry, ocireg.ErrUnreachable}, []string{"2 images of " + dead + " not checked"}},
		{"no pins", lock(nil, nil), []error{ErrNoPins}, []string{"--pin-images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPins(o, nil, nil)(context.Background(), tc.lock)
			if (err == nil) != (tc.errs == nil) {
				t.Fatalf("err = %v", err)
			}
			for _, e := range tc.errs {
				if !errors.Is(err, e) {
					t.Errorf("%v is not %v", err, e)
				}
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%v lacks %q", err, m)
				}
			}
			if err != nil && strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("one error expected:\n%v", err)
			}
		})
	}
}

// TestUnpinned: every image a locked pack declares or deploys must be
// pinned by its layer; one only "maybe" deployed need not be.
func TestUnpinned(t *testing.T) {
	reports := []*images.Report{
		{Pack: "web", Images: []images.Image{{Image: "r/web:1", Deployed: true}, {Image: "r/side:1", Declared: true}, {Image: "r/op:1", Maybe: true}}},
		{Pack: "api", Images: []images.Image{{Image: "r/api:2", Declared: true, Deployed: true}}},
		{Pack: "api", Images: []images.Image{{Image: "r/api:2", Deployed: true}}}, // a second pack dir in the archive
	}
	lock := func(web, api map[string]string) *profile.Lock {
		return &profile.Lock{Layers: []profile.LockedPack{{Pack: "web", Version: "1.0.0", Images: web}, {Pack: "api", Version: "2.0.0", Images: api}}}
	}
	d := "sha256:" + strings.Repeat("a", 64)
	for _, c := range []struct {
		name string
		lock *profile.Lock
		want []string
	}{
		{"all pinned", lock(map[string]string{"r/web:1": d, "r/side:1": d}, map[string]string{"r/api:2": d}), nil},
		{"one deleted", lock(map[string]string{"r/web:1": d}, map[string]string{"r/api:2": d}), []string{"web@1.0.0: image r/side:1 is declared or deployed by the pack but not pinned"}},
		{"a layer without pins", lock(map[string]string{"r/web:1": d, "r/side:1": d}, nil), []string{"api@2.0.0: image r/api:2"}},
	} {
		errs := unpinned(c.lock, reports)
		if len(errs) != len(c.want) {
			t.Errorf("%s: %v, want %d errors", c.name, errs, len(c.want))
			continue
		}
		for i, err := range errs {
			if !errors.Is(err, ErrNotPinned) || !errors.Is(err, profile.ErrLockMismatch) || !strings.Contains(err.Error(), c.want[i]) || !strings.Contains(err.Error(), "--pin-images") {
				t.Errorf("%s: %v, want %q", c.name, err, c.want[i])
			}
		}
	}
}
