package client

import (
	"errors"
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
