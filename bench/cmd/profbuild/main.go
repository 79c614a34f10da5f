// Command profbuild runs one packgen build in process under pprof, for
// finding hot spots: profbuild -repo R -out D [-key K] [-site] -cpu f -mem f.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/site"
)

func main() {
	repo := flag.String("repo", "", "git repository")
	out := flag.String("out", "", "output dir")
	key := flag.String("key", "", "signing key (password from PACKGEN_PASSWORD)")
	withSite := flag.Bool("site", false, "write the HTML catalogue")
	cpu := flag.String("cpu", "", "CPU profile file")
	mem := flag.String("mem", "", "heap profile file")
	cache := flag.String("cache", "", "the build machine's cache dir, as packgen build's: the catalogue reuses only pages it records (none without)")
	phases := flag.Bool("phases", false, "print when releases start and finish and when the catalogue runs")
	flag.Parse()
	t := time.Now()
	o := build.Options{Repo: *repo, Out: *out, PacksDir: "packs", History: true, Registry: "bench"}
	if *key != "" {
		s, err := sign.LoadSignerRef(*key, sign.StaticPass([]byte(os.Getenv("PACKGEN_PASSWORD"))))
		if err != nil {
			fail(err)
		}
		o.Signer = s
	}
	note := func(what string) {
		if *phases {
			fmt.Printf("%8.3fs %s\n", time.Since(t).Seconds(), what)
		}
	}
	if *withSite {
		o.Site = func(dir string, s *build.Snapshot) error {
			note("catalogue starts")
			defer note("catalogue done")
			return site.WriteOptions(dir, s.Root, s.Shards, site.Options{Previous: *out, Cache: *cache})
		}
	}
	o.Progress = func(done, total int) {
		if done == 1 || done == total {
			note(fmt.Sprintf("release %d/%d done", done, total))
		}
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	res, err := build.Run(context.Background(), o)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%v: %d archived, %d reused\n", time.Since(t), res.Archived, res.Reused)
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			fail(err)
		}
		runtime.GC()
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
