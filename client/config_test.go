package client

import (
	"errors"
	"strings"
	"testing"
)

func TestRegistryToken(t *testing.T) {
	t.Setenv("PACKGEN_TEST_TOKEN", "s3cret")
	t.Setenv("PACKGEN_TEST_EMPTY", "")
	for _, tc := range []struct {
		name, env string
		want      string
		err       string // the message a user reads, or "" for no error
	}{
		{name: "no variable", env: "", want: ""},
		{name: "set", env: "PACKGEN_TEST_TOKEN", want: "s3cret"},
		{name: "empty", env: "PACKGEN_TEST_EMPTY", err: "registry acme: environment variable PACKGEN_TEST_EMPTY (its token) is empty or unset"},
		{name: "unset", env: "PACKGEN_TEST_NOT_SET_ANYWHERE", err: "registry acme: environment variable PACKGEN_TEST_NOT_SET_ANYWHERE (its token) is empty or unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Registry{Name: "acme", URL: "https://packs.acme.example", TokenEnv: tc.env}
			got, err := r.Token()
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || !errors.Is(err, ErrTokenUnset) {
					t.Fatalf("Token() = %q, %v; want error %q matching ErrTokenUnset", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Token() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestPinnedSignedName(t *testing.T) {
	cfg := &Config{Registries: []Registry{
		{Name: "acme", URL: "https://packs.acme.example", SignedName: "acme-packs"},
		{Name: "bare", URL: "https://bare.example"},
	}}
	for _, tc := range []struct {
		name string
		reg  Registry
		want string
	}{
		{name: "same name and URL keeps the pin", reg: Registry{Name: "acme", URL: "https://packs.acme.example"}, want: "acme-packs"},
		{name: "new URL pins afresh", reg: Registry{Name: "acme", URL: "https://mirror.acme.example"}, want: ""},
		{name: "new name", reg: Registry{Name: "other", URL: "https://packs.acme.example"}, want: ""},
		{name: "nothing pinned yet", reg: Registry{Name: "bare", URL: "https://bare.example"}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cfg.PinnedSignedName(tc.reg); got != tc.want {
				t.Errorf("PinnedSignedName(%s %s) = %q, want %q", tc.reg.Name, tc.reg.URL, got, tc.want)
			}
		})
	}
}

// TestParseRef: NAME[@CONSTRAINT] as users type it: @latest is the
// newest release (NAME alone); a capitalised name says the lowercase one.
func TestParseRef(t *testing.T) {
	for _, c := range []struct {
		in, name, cons, err string
	}{
		{in: "calico", name: "calico"},
		{in: "calico@^3.26", name: "calico", cons: "^3.26"},
		{in: "calico@latest", name: "calico"},
		{in: "calico@ Latest ", name: "calico"},
		{in: "Calico", err: `"Calico" is not a pack name (lowercase letters, digits and '-'): did you mean calico?`},
		{in: "Calico@^3", err: "did you mean calico@^3?"},
		{in: "cal_ico", err: `"cal_ico" is not a pack name (lowercase letters, digits and '-', e.g. calico@^3.26)`},
		{in: "calico@newest", err: `version constraint "newest"`},
	} {
		name, cons, err := ParseRef(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseRef(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || cons != c.cons {
			t.Errorf("ParseRef(%q) = %q, %q, %v; want %q, %q", c.in, name, cons, err, c.name, c.cons)
		}
	}
}
