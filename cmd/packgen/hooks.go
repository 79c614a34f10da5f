package main

import (
	"os"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/site"
)

// siteHook writes the HTML catalogue into a staged build, reusing pages of
// the previous build's catalogue (a local directory: --previous, else
// --out) whose inputs did not change.
func siteHook(previous, out string) func(dir string, s *build.Snapshot) error {
	if previous == "" {
		previous = out
	}
	if l, err := location.Parse(previous); err != nil || !l.Local() {
		previous = "" // a published registry: nothing local to reuse
	} else {
		previous = l.Dir
	}
	return func(dir string, s *build.Snapshot) error {
		return site.WriteOptions(dir, s.Root, s.Shards, site.Options{Previous: previous})
	}
}

// loadSigner loads a signing key (file or env://VAR) for build.
func loadSigner(g *globalOptions, ref string) (build.Signer, error) {
	if l := sign.NewLazy(ref, passFunc(g)); l != nil {
		return l, nil
	}
	s, err := sign.LoadSignerRef(ref, passFunc(g))
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return s, nil
}

func passFunc(g *globalOptions) sign.PassFunc {
	in, _ := g.stdin.(*os.File)
	return sign.EnvOrPrompt(in, g.stderr)
}
