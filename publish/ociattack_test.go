package publish

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/ocitest"
)

// TestOCITagRaceNeverOverwrites: a tag created by someone else between
// the publish's tags list (its plan) and its push is refused, never
// overwritten. The registry has no conditional tag write, so the
// publisher looks at the tag again right before its PUT.
func TestOCITagRaceNeverOverwrites(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Anonymous)
	f := newFixture(t)
	f.pack("hello", "1.0.0", "b: 1\n")
	site := f.build(t)
	ctx := context.Background()
	do := ociOptions(reg, true, f)
	dst, loc, err := lookup("oci://" + reg.Host() + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := dst.publisher(ctx, loc, do)
	if err != nil {
		t.Fatal(err)
	}
	d := pub.(*ociDest)
	s, err := d.readSite(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Releases: &ReleaseCounts{}}
	push, err := d.plan(ctx, s, Options{Jobs: 2}, res)
	if err != nil || len(push) != 1 {
		t.Fatalf("plan: %v %d", err, len(push))
	}
	// The race: another pusher creates hello:1.0.0 now.
	other := filepath.Join(t.TempDir(), "hello-1.0.0.tar.gz")
	os.WriteFile(other, []byte("someone else's release"), 0o644)
	ref := reg.Host() + "/acme/spectro-packs/archive/hello:1.0.0"
	cmd := exec.Command(ocitest.Tool(t, "oras"), "push", "--plain-http", ref, "hello-1.0.0.tar.gz")
	cmd.Dir, cmd.Env = filepath.Dir(other), append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	theirs := strings.TrimSpace(string(oras(t, reg, "resolve", ref)))
	err = d.pushRelease(ctx, s, push[0])
	if !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), theirs) {
		t.Fatalf("pushing over a tag created after the plan: %v", err)
	}
	if now := strings.TrimSpace(string(oras(t, reg, "resolve", ref))); now != theirs {
		t.Fatalf("the tag moved from %s to %s", theirs, now)
	}
}
