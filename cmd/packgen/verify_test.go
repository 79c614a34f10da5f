package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifySiteTokenEnv: verify --site NAME reads the configured
// registry's token variable as fetch does (client.Registry.Token), and an
// empty or unset one is a usage error naming the registry and variable,
// before anything is read.
func TestVerifySiteTokenEnv(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "registries.yaml")
	site := t.TempDir() // no index.json: reading it is the next error
	if code, _, errs := run(t, "registry", "add", "private", site, "--token-env", "PACKGEN_TEST_SITE_TOKEN", "--config", cfg); code != 0 {
		t.Fatalf("registry add: %d %s", code, errs)
	}
	for _, tc := range []struct {
		name, token string
		code        int
		want        string // in stderr
	}{
		{name: "unset", code: 2, want: "registry private: environment variable PACKGEN_TEST_SITE_TOKEN (its token) is empty or unset"},
		{name: "set", token: "s3cret", code: 1, want: "read index.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PACKGEN_TEST_SITE_TOKEN", tc.token)
			code, _, errs := run(t, "verify", "--site", "private", "--insecure-skip-verify", "--config", cfg)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("verify --site private: exit %d, want %d; stderr %s", code, tc.code, errs)
			}
			if tc.token != "" && strings.Contains(errs, "its token") {
				t.Fatalf("token set but refused: %s", errs)
			}
		})
	}
}
