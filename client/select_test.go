package client

import (
	"errors"
	"strings"
	"testing"
)

func TestSelection(t *testing.T) {
	a, b := Registry{Name: "a", URL: "https://a"}, Registry{Name: "b", URL: "https://b"}
	cfgOf := func(regs ...Registry) func() (*Config, error) {
		return func() (*Config, error) { return &Config{Registries: regs}, nil }
	}
	broken := func() (*Config, error) { return nil, errors.New("config unreadable") }
	for _, tc := range []struct {
		name  string
		sel   Selection
		load  func() (*Config, error)
		one   string // registry name One returns, or the error's text
		all   string // names All returns, or the error's text
		usage bool   // the errors are ErrSelection
	}{
		{"url, config not read", Selection{URL: "https://x", Keys: []string{"pem"}}, broken, "url", "url", false},
		{"named", Selection{Name: "b"}, cfgOf(a, b), "b", "b", false},
		{"only one", Selection{}, cfgOf(a), "a", "a", false},
		{"several", Selection{}, cfgOf(a, b), "several registries are configured (a, b)", "a b", true},
		{"none", Selection{}, cfgOf(), "no registry configured", "no registry configured", true},
		{"unknown name", Selection{Name: "c"}, cfgOf(a, b), `registry "c" is not configured (configured: a, b)`, `registry "c" is not configured`, true},
		{"key without url", Selection{Keys: []string{"pem"}}, cfgOf(a), "--key goes with --url", "--key goes with --url", true},
	} {
		r, err := tc.sel.One(tc.load)
		got := r.Name
		if err != nil {
			got = err.Error()
			if errors.Is(err, ErrSelection) != tc.usage {
				t.Errorf("%s: One: %v, ErrSelection want %v", tc.name, err, tc.usage)
			}
		}
		if !strings.Contains(got, tc.one) {
			t.Errorf("%s: One = %q, want %q", tc.name, got, tc.one)
		}
		regs, err := tc.sel.All(tc.load, true)
		got = strings.Join(names(regs), " ")
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.all) {
			t.Errorf("%s: All = %q, want %q", tc.name, got, tc.all)
		}
	}
	if _, err := Lookup(nil, "x"); err == nil || !strings.Contains(err.Error(), "none is (packgen registry add x URL") {
		t.Errorf("Lookup in nothing: %v", err)
	}
}
