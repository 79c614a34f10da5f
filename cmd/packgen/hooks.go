package main

import (
	"os"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/site"
)

// siteHook writes the HTML catalogue into a staged build.
func siteHook(dir string, s *build.Snapshot) error {
	return site.Write(dir, s.Root, s.Shards)
}

// loadSigner loads a signing key (file or env://VAR) for build.
func loadSigner(g *globalOptions, ref string) (build.Signer, error) {
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
