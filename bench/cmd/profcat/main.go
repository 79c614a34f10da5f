// Command profcat writes the HTML catalogue of a built registry again,
// alone, for profiling and timing the catalogue apart from the rest of
// a build (issue 20): the pages are rendered from scratch (no previous
// pages reused, an empty image cache, so every newest release's charts
// are rendered again), as in a cold build, through the build's hook.
//
//	profcat -dir OUT [-cpu f] [-mem f]
//
// OUT is a site built by `packgen build` (its index is read without
// checking its signature: this is a measuring tool). The pages are
// written into OUT. packgen-helm is found as packgen finds it: beside
// this executable, then on PATH, and must come from the same build. It
// prints the wall time and this process's CPU; run it under
// /usr/bin/time to count the chart renderers too (they are waited for).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/site"
)

func main() {
	dir := flag.String("dir", "", "a built site (written into)")
	cpu := flag.String("cpu", "", "CPU profile file")
	mem := flag.String("mem", "", "allocation profile file")
	flag.Parse()
	if *dir == "" {
		fail(fmt.Errorf("usage: profcat -dir OUT [-cpu f] [-mem f]"))
	}
	ctx := context.Background()
	fetch := index.DirFetcher(*dir)
	root, _, sums, err := index.ReadCatalog(ctx, fetch)
	if err != nil {
		fail(err)
	}
	shards := make([]*index.Shard, 0, len(sums))
	for _, s := range sums {
		sh, err := index.ReadShard(ctx, fetch, s)
		if err != nil {
			fail(err)
		}
		shards = append(shards, sh)
	}
	cache, err := os.MkdirTemp("", "profcat-cache-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(cache)
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
	}
	t := time.Now()
	// As the build writes it (its hook), with nothing to reuse.
	none, err := os.MkdirTemp("", "profcat-previous-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(none)
	err = site.CachedBuildHook(none, none, cache)(*dir, &build.Snapshot{Root: root, Shards: shards})
	images.CloseRenderer()
	wall := time.Since(t)
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fail(err)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// Allocation and collections are the figures a loaded machine does
	// not disturb; CPU is what they cost.
	fmt.Printf("catalogue of %d packs: %v wall, process CPU %.2fs, %d MB allocated, %d collections\n", len(shards), wall.Round(time.Millisecond),
		time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), ms.TotalAlloc>>20, ms.NumGC)
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			fail(err)
		}
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fail(err)
		}
		f.Close()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "profcat:", err)
	os.Exit(1)
}
