package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
)

// TestConcurrentFetches runs 16 real `packgen fetch` processes at once,
// sharing one cache and one state directory, each into its own DEST, from
// 8 registry URLs (so 8 rollback-state entries are written concurrently).
// All must succeed with exactly the pack's files, the cache must hold
// only verified entries and the state must keep every registry's serial.
func TestConcurrentFetches(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	r := testutil.NewRunner(t, tmp, testutil.Now())
	pg := func(args ...string) (string, error) {
		cmd := exec.Command(r.Bin, args...)
		cmd.Env, cmd.Dir = r.Env, r.Dir
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("packgen %v: %v\n%s%s", args, err, out.String(), errb.String())
		}
		return out.String(), err
	}
	examplesRepo(t, filepath.Join(tmp, "repo"))
	for _, args := range [][]string{{"key", "generate", "--prefix", "reg"}, {"build", "--repo", "repo", "--out", "site", "--key", "reg.key", "--no-site"}} {
		if _, err := pg(args...); err != nil {
			t.Fatal(err)
		}
	}
	var urls []string
	for i := 0; i < 8; i++ {
		srv := httptest.NewServer(serve.Handler(filepath.Join(tmp, "site")))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	packs := map[string]string{"calico": "calico-3.27.3", "falco": "falco-4.2.5", "kubernetes": "kubernetes-1.29.4", "prometheus-operator": "prometheus-operator-58.2.1"}
	names := []string{"calico", "falco", "kubernetes", "prometheus-operator"}

	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			out, err := pg("fetch", names[i%len(names)], "--url", urls[i%len(urls)], "--key", "reg.pub", "-d", fmt.Sprintf("dest/%02d", i), "-o", "json")
			if err == nil {
				var res struct{ Verified bool }
				if jerr := json.Unmarshal([]byte(out), &res); jerr != nil || !res.Verified {
					err = fmt.Errorf("fetch %d: %v %s", i, jerr, out)
				}
			}
			errs[i] = err
		}(i)
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	// Each DEST holds exactly its pack's files, byte for byte.
	for i := 0; i < n; i++ {
		want := filepath.Join("../../examples/packs", packs[names[i%len(names)]])
		got := filepath.Join(tmp, "dest", fmt.Sprintf("%02d", i))
		if d := diffTrees(t, want, got); d != "" {
			t.Errorf("dest %02d differs from %s: %s", i, want, d)
		}
	}
	// The shared cache holds only complete, verified entries.
	filepath.WalkDir(filepath.Join(tmp, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("temp file left in the cache: %s", p)
		}
		return nil
	})
	archives, _ := filepath.Glob(filepath.Join(tmp, "cache", "packgen", "archives", "*.tar.gz"))
	if len(archives) != len(names) {
		t.Errorf("cache holds %d archives, want %d", len(archives), len(names))
	}
	// No registry's serial was lost by concurrent state updates.
	var state map[string]struct{ Serial int64 }
	data, _ := os.ReadFile(filepath.Join(tmp, "state", "packgen", "serials.json"))
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatalf("serials.json: %v\n%s", err, data)
	}
	for _, u := range urls {
		if state[u].Serial == 0 {
			t.Errorf("serial of %s lost: %s", u, data)
		}
	}
}

// diffTrees compares two directories' regular files; "" when equal.
func diffTrees(t *testing.T, want, got string) string {
	t.Helper()
	read := func(root string) map[string]string {
		m := map[string]string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				m[rel] = string(b)
			}
			return nil
		})
		return m
	}
	w, g := read(want), read(got)
	if len(w) == 0 {
		return "nothing to compare"
	}
	for k, v := range w {
		if g[k] != v {
			return "file " + k
		}
	}
	if len(w) != len(g) {
		return fmt.Sprintf("%d files, want %d", len(g), len(w))
	}
	return ""
}
