package client

import (
	"errors"
	"strings"

	"github.com/packgen/packgen/internal/errmark"
)

// ErrSelection: the registries asked for cannot be chosen (none is
// configured, none by that name, several and none named, a key without
// a URL): the user's choice to make again.
var ErrSelection = errors.New("no registry chosen")

func selectionErr(format string, args ...any) error {
	return errmark.New(ErrSelection, format, args...)
}

// Lookup returns the registry named name among regs, the one lookup of a
// configured registry (Config.Get, the profile's locked registries).
func Lookup(regs []Registry, name string) (*Registry, error) {
	for i := range regs {
		if regs[i].Name == name {
			return &regs[i], nil
		}
	}
	if len(regs) == 0 {
		return nil, selectionErr("registry %q is not configured, and none is (packgen registry add %s URL --key pub.pem)", name, name)
	}
	return nil, selectionErr("registry %q is not configured (configured: %s)", name, strings.Join(names(regs), ", "))
}

func names(regs []Registry) []string {
	var out []string
	for _, r := range regs {
		out = append(out, r.Name)
	}
	return out
}

// Selection is how a client command names the registries it reads: a
// URL (or directory) with its keys, a configured registry by name, or
// none of these: every configured registry.
type Selection struct {
	Name string   // a configured registry
	URL  string   // a registry read directly, instead of a configured one
	Keys []string // with URL: the public key PEMs that may verify it
}

// Named reports whether the selection names one registry.
func (s Selection) Named() bool { return s.URL != "" || s.Name != "" || len(s.Keys) > 0 }

// noneConfigured is the error of a command given no registry.
func (s Selection) noneConfigured(orURL bool) error {
	if orURL {
		return selectionErr("no registry configured: packgen registry add NAME URL --key pub.pem, or pass --url")
	}
	return selectionErr("no registry configured: packgen registry add NAME URL --key pub.pem")
}

// One returns the registry a command that talks to one registry uses:
// the URL, the named one, or the only configured one. The config is
// loaded only when needed.
func (s Selection) One(load func() (*Config, error)) (Registry, error) {
	if s.URL != "" {
		return Registry{Name: "url", URL: s.URL, Keys: s.Keys}, nil
	}
	if len(s.Keys) > 0 {
		return Registry{}, selectionErr("--key goes with --url; a configured registry has its keys in the config")
	}
	cfg, err := load()
	if err != nil {
		return Registry{}, err
	}
	if s.Name != "" {
		r, err := cfg.Get(s.Name)
		if err != nil {
			return Registry{}, err
		}
		return *r, nil
	}
	switch len(cfg.Registries) {
	case 0:
		return Registry{}, s.noneConfigured(true)
	case 1:
		return cfg.Registries[0], nil
	}
	return Registry{}, selectionErr("several registries are configured (%s): choose one with --registry", strings.Join(names(cfg.Registries), ", "))
}

// All returns the registries a command that looks a pack up tries, in
// order: the one the selection names, else every configured one in the
// config's order; orURL says whether the command offers --url.
func (s Selection) All(load func() (*Config, error), orURL bool) ([]Registry, error) {
	if s.Named() {
		r, err := s.One(load)
		if err != nil {
			return nil, err
		}
		return []Registry{r}, nil
	}
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	if len(cfg.Registries) == 0 {
		return nil, s.noneConfigured(orURL)
	}
	return cfg.Registries, nil
}
