// Package client is packgen's verifying client: the registries a user
// trusts, transports (HTTP, file), a cache, resolution by semver
// constraint, and the chain of checks from the signed index down to a
// safely extracted pack.
package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/safefile"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/sign"
	"gopkg.in/yaml.v3"

	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocireg"
)

// Registry is one configured registry.
type Registry struct {
	Name string `yaml:"name" json:"name"`
	URL  string `yaml:"url" json:"url"`
	// Keys are public key PEMs; any may verify (key rotation). Empty
	// means the registry is not verified, which fetch warns about.
	Keys []string `yaml:"keys,omitempty" json:"keys,omitempty"`
	// Key is a single public key PEM, for hand-written configs; it is
	// trusted together with Keys.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// TokenEnv names an environment variable holding a bearer token.
	TokenEnv string `yaml:"tokenEnv,omitempty" json:"tokenEnv,omitempty"`
	// SignedName is the registry's own name, the "registry" field of its
	// signed index.json (Name is only the local alias). When set, an
	// index signed for another registry is refused (ErrWrongRegistry):
	// the same key may sign several registries. registry add records it.
	SignedName string `yaml:"signedName,omitempty" json:"signedName,omitempty"`
	// PlainHTTP reads an oci:// registry over plain HTTP (loopback only);
	// CAFile adds a CA bundle for its TLS. Credentials come from the
	// docker config (or REGISTRY_AUTH_FILE), as for every OCI tool.
	PlainHTTP bool   `yaml:"plainHTTP,omitempty" json:"plainHTTP,omitempty"`
	CAFile    string `yaml:"caFile,omitempty" json:"caFile,omitempty"`
	// Username and Password are one run's OCI credentials for a registry
	// named by URL (--url oci://… --username): never written to the
	// config, whose registries take theirs from the docker config.
	Username string `yaml:"-" json:"-"`
	Password string `yaml:"-" json:"-"`
	// Witnesses are the verifier keys (NAME+HASH+KEY, C2SP
	// tlog-cosignature) of the log witnesses this machine trusts; with
	// WitnessQuorum > 0 a release is used only when at least that many of
	// them cosigned a checkpoint of the registry's log that holds it
	// (client/witness.go).
	Witnesses     []string `yaml:"witnesses,omitempty" json:"witnesses,omitempty"`
	WitnessQuorum int      `yaml:"witnessQuorum,omitempty" json:"witnessQuorum,omitempty"`
	// WitnessMaxAge (a Go duration, "168h") is how old a cosignature may
	// be and still count; empty: no limit (an old cosigned tree still
	// rules out a split view of what it covers, see docs/SECURITY.md).
	WitnessMaxAge string `yaml:"witnessMaxAge,omitempty" json:"witnessMaxAge,omitempty"`
}

// OCI is how an oci:// registry is reached.
func (r *Registry) OCI() ocireg.Options {
	return ocireg.Options{PlainHTTP: r.PlainHTTP, CAFile: r.CAFile, Username: r.Username, Password: r.Password}
}

// Verifier returns the registry's key set, or nil when it has none.
func (r *Registry) Verifier() (*sign.Verifier, error) {
	keys := r.TrustedKeys()
	if len(keys) == 0 {
		return nil, nil
	}
	var pems [][]byte
	for _, k := range keys {
		pems = append(pems, []byte(k))
	}
	v, err := sign.NewVerifierSet(pems...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", r.Name, err)
	}
	return v, nil
}

// TrustedKeys returns every key that may sign the registry: Key, then Keys.
func (r *Registry) TrustedKeys() []string {
	if strings.TrimSpace(r.Key) == "" {
		return r.Keys
	}
	return append([]string{r.Key}, r.Keys...)
}

// ErrTokenUnset: a registry's token variable (TokenEnv) is empty or unset.
var ErrTokenUnset = errors.New("token variable empty or unset")

// Token returns the registry's bearer token, read from its TokenEnv
// variable ("" without one). A named variable that is empty is an error
// (ErrTokenUnset): sending no token would fail later, less clearly.
func (r *Registry) Token() (string, error) {
	if r.TokenEnv == "" {
		return "", nil
	}
	token := os.Getenv(r.TokenEnv)
	if token == "" {
		return "", errmark.New(ErrTokenUnset, "registry %s: environment variable %s (its token) is empty or unset", r.Name, r.TokenEnv)
	}
	return token, nil
}

// Config is registries.yaml.
type Config struct {
	Registries []Registry `yaml:"registries"`
}

// xdg returns $VAR or $HOME/fallback.
func xdg(env, fallback string) string {
	if v := os.Getenv(env); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "packgen")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, fallback, "packgen")
}

// DefaultConfigPath is $XDG_CONFIG_HOME/packgen/registries.yaml.
func DefaultConfigPath() string {
	return filepath.Join(xdg("XDG_CONFIG_HOME", ".config"), "registries.yaml")
}

// DefaultCacheDir is $XDG_CACHE_HOME/packgen.
func DefaultCacheDir() string { return xdg("XDG_CACHE_HOME", ".cache") }

// DefaultStateDir is $XDG_STATE_HOME/packgen.
func DefaultStateDir() string { return xdg("XDG_STATE_HOME", filepath.Join(".local", "state")) }

// LoadConfig reads a config file; a missing file is an empty config.
func LoadConfig(path string) (*Config, error) {
	data, err := safefile.ReadFile(path, maxConfigSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// maxConfigSize bounds registries.yaml (it holds a few URLs and keys).
const maxConfigSize = 1 << 20

// ParseConfig parses registries.yaml content; file names it in errors.
func ParseConfig(file string, data []byte) (*Config, error) {
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxConfigSize)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, errmark.New(ErrConfig, "%s: %s%s", file, yamlWording(err), configFix(file))
	}
	for i, r := range c.Registries {
		if err := checkRegistry(r); err != nil {
			return nil, errmark.Wrap(ErrConfig, fmt.Errorf("%s: %sregistries[%d]: %w%s", file, registryLine(data, i), i, err, configFix(file)))
		}
	}
	return &c, nil
}

// configFix says what to do about a config that does not parse: the
// file is the user's (no command reads or rewrites it until it does).
func configFix(file string) string {
	return fmt.Sprintf(": edit %s to fix it (packgen registry add NAME URL --key KEY writes a valid entry once it parses), or name another file with --config", file)
}

// registryLine is "line N: " of registries[i] in data, as the YAML
// decoder's errors name a line, or "" when data does not say.
func registryLine(data []byte, i int) string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	m := doc.Content[0]
	for k := 0; m.Kind == yaml.MappingNode && k+1 < len(m.Content); k += 2 {
		if seq := m.Content[k+1]; m.Content[k].Value == "registries" && seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
			return fmt.Sprintf("line %d: ", seq.Content[i].Line)
		}
	}
	return ""
}

// ErrConfig marks a registries.yaml that does not parse or holds a bad
// registry: the user's input to fix (exit 2), not an operational failure.
var ErrConfig = errors.New("invalid registries config")

// registryFields is the YAML fields of a registry, as its struct tags
// name them, for the unknown-field message: it cannot leave one out.
var registryFields = sync.OnceValue(func() string {
	var names []string
	t := reflect.TypeFor[Registry]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
})

// yamlUnknownField is compiled on first use (a config error), not at
// every process's start.
var yamlUnknownField = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`field (\S+) not found in type client\.(Registry|Config)`)
})

// yamlWording puts the YAML decoder's Go-speak in the config's terms.
func yamlWording(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.Replace(msg, "unmarshal errors:\n  ", "", 1)
	re := yamlUnknownField()
	return re.ReplaceAllStringFunc(msg, func(m string) string {
		sub := re.FindStringSubmatch(m)
		if sub[2] == "Config" {
			return fmt.Sprintf("unknown field %q (the file holds one list, registries:)", sub[1])
		}
		return fmt.Sprintf("unknown field %q in a registry (known: %s)", sub[1], registryFields())
	})
}

// ParseRef splits a command-line "NAME[@CONSTRAINT]" and checks both parts.
// NAME@latest, which many type, is NAME alone: the newest release (a
// pre-release only with --pre), as "*" is.
func ParseRef(s string) (name, constraint string, err error) {
	name, constraint, at := strings.Cut(s, "@")
	if !meta.ValidName(name) {
		if lower := strings.ToLower(name); lower != name && meta.ValidName(lower) {
			if at {
				lower += "@" + constraint
			}
			return "", "", fmt.Errorf("%q is not a pack name (lowercase letters, digits and '-'): did you mean %s?", name, lower)
		}
		return "", "", fmt.Errorf("%q is not a pack name (lowercase letters, digits and '-', e.g. calico@^3.26)", name)
	}
	constraint = strings.TrimSpace(constraint)
	if strings.EqualFold(constraint, "latest") {
		constraint = ""
	}
	if constraint != "" {
		if _, err := semver.NewConstraint(constraint); err != nil {
			return "", "", fmt.Errorf("version constraint %q: %v (examples: ^1.2, ~0.13, >=1.0 <2.0, 1.2.3, latest)", constraint, err)
		}
	}
	return name, constraint, nil
}

func checkRegistry(r Registry) error {
	if !meta.ValidName(r.Name) {
		return fmt.Errorf("registry name %q must be lowercase letters, digits and '-'", r.Name)
	}
	if r.URL == "" {
		return fmt.Errorf("registry %s has no URL", r.Name)
	}
	if _, err := r.witnessVerifiers(); err != nil {
		return err
	}
	_, err := r.witnessMaxAge()
	return err
}

// Save writes the config atomically with mode 0600.
func (c *Config) Save(path string) error {
	sort.Slice(c.Registries, func(i, j int) bool { return c.Registries[i].Name < c.Registries[j].Name })
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return writeAtomic(path, data, 0o600)
}

// Get returns the registry named name (ErrSelection when there is none).
func (c *Config) Get(name string) (*Registry, error) { return Lookup(c.Registries, name) }

// Add adds or replaces a registry.
func (c *Config) Add(r Registry) error {
	if err := checkRegistry(r); err != nil {
		return err
	}
	// Refuse now what no fetch could read (an unsupported scheme, say).
	if _, err := r.Transport("", 0, 0); err != nil {
		return err
	}
	for _, k := range r.TrustedKeys() {
		if _, err := sign.LoadPublicKey([]byte(k)); err != nil {
			return fmt.Errorf("key: %w", err)
		}
	}
	for i := range c.Registries {
		if c.Registries[i].Name == r.Name {
			c.Registries[i] = r
			return nil
		}
	}
	c.Registries = append(c.Registries, r)
	return nil
}

// PinnedSignedName is the signed name (Registry.SignedName) already
// recorded for r's name, when that entry has r's URL too: re-adding a
// registry whose index cannot be read now keeps its pin, while a new URL
// is a new registry and pins afresh on its first fetch.
func (c *Config) PinnedSignedName(r Registry) string {
	old, err := c.Get(r.Name)
	if err != nil || old.URL != r.URL {
		return ""
	}
	return old.SignedName
}

// Remove deletes a registry; it is an error if it does not exist.
func (c *Config) Remove(name string) error {
	for i := range c.Registries {
		if c.Registries[i].Name == name {
			c.Registries = append(c.Registries[:i], c.Registries[i+1:]...)
			return nil
		}
	}
	_, err := c.Get(name)
	return err
}

// writeAtomic writes a file via a temp file and rename.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.WriteFile(path, data, mode)
}

// Transport opens the registry's transport: token, when set, is its
// bearer token; timeout bounds a request and stall a silence (0:
// defaults).
func (r *Registry) Transport(token string, timeout, stall time.Duration) (transport.Transport, error) {
	l, err := location.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("registry URL %q: %w", r.URL, err)
	}
	return transport.Open(l, transport.Config{Token: token, Timeout: timeout, Stall: stall, OCI: r.OCI()})
}
