package client

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/pack/meta"
)

// Seeds for these targets live in testdata/fuzz/<target>/ and f.Add below.

// FuzzParseRef: the NAME[@CONSTRAINT] argument of fetch. An accepted
// reference has a valid name and a constraint that parses.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"calico", "calico@^3.26", "prometheus-operator@>=57.0 <59.0", "a@~0.13", "x@1.2.3 || >=2", "Bad@1", "a@^^1", "a@", "@1", "a@1@2", "a@>=1.0.0-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, cons, err := ParseRef(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if !meta.ValidName(name) {
			t.Fatalf("invalid name %q accepted", name)
		}
		if cons != "" {
			c, err := semver.NewConstraint(cons)
			if err != nil {
				t.Fatalf("constraint %q accepted but does not parse: %v", cons, err)
			}
			for _, v := range []string{"0.0.1", "1.2.3", "2.0.0-rc.1", "99999.0.0"} {
				c.Check(semver.MustParse(v))
			}
		}
	})
}

// FuzzParseConfig: registries.yaml written by hand or by an attacker with
// write access to the config directory.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("registries:\n  - name: acme\n    url: https://packs.acme.example\n    keys:\n      - |\n        -----BEGIN PUBLIC KEY-----\n        AAAA\n        -----END PUBLIC KEY-----\n    tokenEnv: T\n"))
	f.Add([]byte("registries:\n  - name: x\n    url: y\n    bogus: 1\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("registries: [{name: a, url: ./site, key: k}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("registries.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "registries.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range c.Registries {
			if !meta.ValidName(r.Name) || r.URL == "" {
				t.Fatalf("registry %+v accepted", r)
			}
			_, _ = r.Verifier()
		}
	})
}
