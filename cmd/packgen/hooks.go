package main

import (
	"github.com/packgen/packgen/build"
)

// siteHook writes the HTML catalogue into a staged build; nil until the
// catalogue exists.
var siteHook func(dir string, s *build.Snapshot) error

// loadSigner loads a signing key reference for build.
var loadSigner = func(g *globalOptions, ref string) (build.Signer, error) {
	return nil, usageErr("signing is not available in this build")
}
