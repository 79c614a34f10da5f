package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/pack/meta"
	"github.com/spf13/cobra"
)

// siteRef is what a SITE argument (list SITE, info --site, verify
// --site) names: a configured registry, or a location read directly.
type siteRef struct {
	reg   client.Registry
	named bool   // reg is the configured registry SITE names
	clash string // a warning to give: SITE is also a path here
}

// resolveSite is the one rule for a SITE that may be a configured
// registry's name or a location (flag names it in messages: "SITE",
// "--site"). A URL is a location. A configured name wins over a file or
// directory of the same name in the working directory: the user named a
// registry they configured (verified with its keys), and which registry a
// word means must not depend on where the command runs; the clash is
// said, and ./NAME reads the directory. A name that is neither is the
// user's to correct (a usage error naming the configured ones).
func resolveSite(g *globalOptions, flag, loc string) (siteRef, error) {
	if strings.Contains(loc, "://") || !meta.ValidName(loc) {
		return siteRef{}, nil // a URL or a path: no registry has such a name
	}
	fi, statErr := os.Stat(loc)
	exists := statErr == nil
	cfg, err := g.loadConfig()
	if err != nil {
		if exists {
			return siteRef{}, nil // a directory needs no config
		}
		return siteRef{}, err
	}
	r, err := cfg.Get(loc)
	if err != nil {
		if exists {
			return siteRef{}, nil
		}
		return siteRef{}, neitherErr(flag, loc, cfg)
	}
	ref := siteRef{reg: *r, named: true}
	if exists && !sameLocation(r.URL, loc) {
		kind := "directory"
		if !fi.IsDir() {
			kind = "file"
		}
		ref.clash = fmt.Sprintf("%s is both a configured registry (%s) and a %s here: reading the configured registry; write ./%s to read the %s",
			esc(loc), esc(r.URL), kind, esc(loc), kind)
	}
	return ref, nil
}

// neitherErr: loc, a word, names neither a configured registry nor a
// path.
func neitherErr(flag, loc string, cfg *client.Config) error {
	what := esc(loc)
	if strings.HasPrefix(flag, "-") {
		what = flag + " " + what
	}
	configured := "none is configured"
	if len(cfg.Registries) > 0 {
		configured = "configured: " + configuredNames(cfg)
	}
	return usageErr("%s is neither a configured registry (%s) nor a directory: give a configured registry's name, a built site's directory or a URL (packgen registry add %s URL --key registry.pub configures one)", what, configured, esc(loc))
}

// sameLocation reports whether a configured registry's URL is the
// directory loc names, however loc is spelled.
func sameLocation(url, loc string) bool {
	l, err := location.Parse(loc)
	if err != nil || !l.Local() {
		return false
	}
	abs, err := l.Abs()
	return err == nil && abs.Dir == url
}

// configuredNames lists the configured registries' names, for messages.
func configuredNames(cfg *client.Config) string {
	var names []string
	for _, r := range cfg.Registries {
		names = append(names, esc(r.Name))
	}
	return strings.Join(names, ", ")
}

// siteCompletion completes a --site flag (info, verify) as list's SITE.
func siteCompletion(g *globalOptions) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return g.completeSites(toComplete)
	}
}

// completeSites completes a SITE: the configured registries' names and
// the directories (a built site is one) that start with prefix. The
// shell's own file completion would offer files too, and only when no
// name matched, so the directories are listed here. After a directory
// alone no space is added, so that one below it can follow.
func (g *globalOptions) completeSites(prefix string) ([]string, cobra.ShellCompDirective) {
	names, _ := g.completeRegistries(nil, nil, prefix)
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	named := len(out)
	dir, base := filepath.Split(prefix)
	entries, _ := os.ReadDir(cmp.Or(dir, "."))
	for _, e := range entries {
		if isDir(dir, e) && strings.HasPrefix(e.Name(), base) && (strings.HasPrefix(base, ".") || !strings.HasPrefix(e.Name(), ".")) {
			out = append(out, dir+e.Name()+"/")
		}
	}
	if named == 0 && len(out) > 0 {
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// isDir reports whether entry e of dir is a directory, or a link to one.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	fi, err := os.Stat(filepath.Join(cmp.Or(dir, "."), e.Name()))
	return err == nil && fi.IsDir()
}
