package profile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/synth"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
)

// BenchmarkFetch fetches a 16-layer profile (2 MiB chart per pack) from a
// signed registry on loopback with a cold cache each time: the whole chain
// (index signature, buckets, shards, archive digests and signatures,
// extraction, staging), sequentially and in parallel, with and without a
// simulated round-trip time.
func BenchmarkFetch(b *testing.B) {
	const packs = 16
	tmp := b.TempDir()
	repo := filepath.Join(tmp, "repo.git")
	testutil.SynthRepo(b, repo, synth.Full(packs, 1, 2<<20, packs, false))
	k := testutil.NewKey(b)
	signer, pub := k.Signer, k.Pub
	site := filepath.Join(tmp, "site")
	if _, err := build.Run(context.Background(), build.Options{Repo: repo, Out: site, Registry: "bench", Signer: signer, GeneratedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	// latency models a round trip to a CDN; loopback has none.
	var latency atomic.Int64
	h := serve.Handler(site)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(latency.Load()))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var y strings.Builder
	y.WriteString("name: bench\ncloudType: aws\nlayers:\n")
	for i := 0; i < packs; i++ {
		fmt.Fprintf(&y, "  - {pack: %s, version: \"*\"}\n", synth.Name(i))
	}
	p, err := Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	state := b.TempDir()
	env := func() *Env {
		return &Env{Registries: []client.Registry{{Name: "bench", URL: srv.URL, Keys: []string{string(pub)}}},
			Client: client.Options{CacheDir: filepath.Join(b.TempDir(), "cache"), StateDir: state}}
	}
	res, err := Resolve(context.Background(), p, env(), ResolveOptions{Partial: true})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, l := range res.Lock.Layers {
		size += l.Archive.Size
	}
	for _, bc := range []struct {
		jobs int
		rtt  time.Duration
	}{{1, 0}, {4, 0}, {1, 20 * time.Millisecond}, {4, 20 * time.Millisecond}} {
		jobs := bc.jobs
		b.Run(fmt.Sprintf("rtt=%s/jobs=%d", bc.rtt, jobs), func(b *testing.B) {
			latency.Store(int64(bc.rtt))
			b.SetBytes(size)
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				e := env()
				b.StartTimer()
				if _, err := Fetch(context.Background(), res.Lock, e, FetchOptions{Dest: filepath.Join(b.TempDir(), "out"), Jobs: jobs}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
			}
		})
	}
}
