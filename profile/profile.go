// Package profile combines packs into a cluster profile: a profile.yaml
// names one pack per core layer (os, k8s, cni, csi) plus add-ons, each
// with a version constraint and optional values overrides. Resolving it
// against the configured registries checks the combination (core layers,
// cloud types, constraints.dependencies) and pins every layer in a lock
// file (exact version, archive sha256, signature digest), which fetch,
// outdated and render then work from.
package profile

import (
	_ "embed"

	"github.com/packgen/packgen/profile/spec"
	"gopkg.in/yaml.v3"
)

// SchemaJSON is the JSON Schema (draft 2020-12) of profile.yaml.
//
//go:embed profile.schema.json
var SchemaJSON []byte

// Parsing of profile.yaml and lock files, and the values merge, live in
// profile/spec, a leaf package whose fuzz targets link none of what
// resolution and fetching need. The types other packages name through
// profile are re-exported here; profile's own code names the rest by
// spec.
type (
	Profile      = spec.Profile
	Lock         = spec.Lock
	LockedPack   = spec.LockedPack
	LockRegistry = spec.LockRegistry
)

// ErrInvalid marks a profile.yaml or lock file that cannot be read.
var ErrInvalid = spec.ErrInvalid

// ErrNoProfile: the profile file a lock names cannot be read (see
// Lock.LoadProfile).
var ErrNoProfile = spec.ErrNoProfile

// ErrAliases: overrides change a pack's values that too many of its YAML
// aliases name (render's merge, see Merge).
var ErrAliases = spec.ErrAliases

// Load reads and parses a profile file.
func Load(path string) (*Profile, error) { return spec.Load(path) }

// Parse parses profile.yaml. It reports every problem with its line and
// column, and refuses unknown fields, duplicate keys and anchors.
func Parse(file string, data []byte) (*Profile, error) { return spec.Parse(file, data) }

// LoadLock reads and checks a lock file.
func LoadLock(path string) (*Lock, error) { return spec.LoadLock(path) }

// ParseLock decodes a lock file strictly and checks every field a fetch
// will trust.
func ParseLock(file string, data []byte) (*Lock, error) { return spec.ParseLock(file, data) }

// DefaultLockPath is the lock file beside a profile: aws.yaml -> aws.lock.
func DefaultLockPath(profilePath string) string { return spec.DefaultLockPath(profilePath) }

// MergeValues deep-merges overrides into the YAML document base.
func MergeValues(base []byte, overrides *yaml.Node) ([]byte, error) {
	return spec.MergeValues(base, overrides)
}

// Merge deep-merges the mapping src into the mapping dst, in place.
func Merge(dst, src *yaml.Node) error { return spec.Merge(dst, src) }
