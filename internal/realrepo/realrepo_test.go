package realrepo

import (
	"testing"
	"time"
)

func TestGenerateSmoke(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	r, err := Generate(dir, Small)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d commits, %d releases in %v", dir, len(r.Commits), len(r.Releases), time.Since(start))
	for f, ids := range r.Features {
		t.Logf("%s: %d", f, len(ids))
	}
}
