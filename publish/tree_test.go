package publish

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/packgen/packgen/internal/s3test"
)

// TestPublishDeepTree publishes registries whose bucket tree has three
// levels: the site check walks interior nodes, and prune deletes the old
// generation's interior nodes while keeping every node of the one live
// before the switch.
func TestPublishDeepTree(t *testing.T) {
	srv := s3test.Start(t, "packs")
	f := newFixture(t)
	f.shape = func(int) (int, int) { return 2, 3 }
	site1 := f.twoPacks(t)
	ctx := context.Background()
	target := newS3(t, srv, "deep")
	base := srv.URL() + "/deep"
	if _, err := Publish(ctx, site1, target, Options{}); err != nil {
		t.Fatal(err)
	}
	if r := verifyRemote(t, f, base, 2); r.Levels() != 3 {
		t.Fatalf("published depth %d", r.Levels())
	}
	f.pack("calico", "1.1.0", "a: 2\n")
	site2 := f.build(t)
	if _, err := Publish(ctx, site2, target, Options{}); err != nil {
		t.Fatal(err)
	}
	f.pack("metallb", "0.14.0", "b: 2\n")
	site3 := f.build(t)
	gen1, gen2, gen3 := metadata(t, site1), metadata(t, site2), metadata(t, site3)
	res, err := Publish(ctx, site3, target, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	nodes := 0
	for k := range gen1 {
		if strings.HasPrefix(k, "index/") && !gen2[k] && !gen3[k] {
			nodes++
			if !slices.Contains(res.Deleted, k) {
				t.Errorf("prune kept generation 1's node %s", k)
			}
		}
	}
	if nodes < 3 {
		t.Fatalf("generation 1 had only %d nodes of its own: the test shows nothing", nodes)
	}
	for k := range gen2 {
		if slices.Contains(res.Deleted, k) {
			t.Errorf("prune deleted %s of the previous live generation", k)
		}
	}
	stillServed(t, base, gen2)
	verifyRemote(t, f, base, 4)
}
