package main

import (
	"os"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/sign"
)

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
