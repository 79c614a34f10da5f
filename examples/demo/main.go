// Command demo makes a throwaway git repository from examples/packs in two
// commits, so the registry built from it shows history at work: the first
// commit holds every example pack with calico at its previous version, the
// second bumps calico in place. `make demo` runs it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/packgen/packgen/internal/gitfixture"
)

func main() {
	packs := flag.String("packs", "examples/packs", "directory of example packs")
	out := flag.String("out", "", "where to create the repository (must not exist)")
	flag.Parse()
	if err := run(*packs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

var versionRE = regexp.MustCompile(`"version"\s*:\s*"([^"]+)"`)

func run(packs, out string) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists", out)
	}
	repo, err := gitfixture.Init(out)
	if err != nil {
		return err
	}
	if err := repo.CopyDir(packs, "packs"); err != nil {
		return err
	}
	// Find a pack to bump: the first one named calico-*, else any.
	dirs, _ := filepath.Glob(filepath.Join(out, "packs", "calico-*"))
	if len(dirs) == 0 {
		return fmt.Errorf("no calico-* pack in %s", packs)
	}
	pj := filepath.Join(dirs[0], "pack.json")
	cur, err := os.ReadFile(pj)
	if err != nil {
		return err
	}
	m := versionRE.FindSubmatch(cur)
	if m == nil {
		return fmt.Errorf("%s has no version", pj)
	}
	older := bytes.Replace(cur, m[0], []byte(`"version": "`+string(m[1])+`-rc.1"`), 1)
	if err := os.WriteFile(pj, older, 0o644); err != nil {
		return err
	}
	c1, err := repo.Commit("Add example packs")
	if err != nil {
		return err
	}
	if err := os.WriteFile(pj, cur, 0o644); err != nil {
		return err
	}
	c2, err := repo.Commit("Release calico " + string(m[1]))
	if err != nil {
		return err
	}
	fmt.Printf("created %s: %s (calico %s-rc.1), %s (calico %s)\n", out, c1[:12], m[1], c2[:12], m[1])
	return nil
}
