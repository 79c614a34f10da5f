// Package ref parses what the images package reads from outside: image
// references (Normalize) and the images named by rendered Kubernetes
// YAML (Scan). A leaf (yaml.v3 and distribution/reference), so its fuzz
// targets do not link Helm and client-go (ARCHITECTURE, "Parsers of
// outside input that are fuzzed stay leaves").
package ref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// ErrReference marks an image reference that does not parse.
var ErrReference = errors.New("invalid image reference")

// MaxLen bounds a reference: registries refuse repositories past 255
// characters, and a tag and a digest add less than 300.
const MaxLen = 1024

// Normalize parses an image reference as container runtimes do
// (distribution/reference, the parser containerd and Docker use) and
// returns its canonical form: the registry always named (docker.io for
// Docker Hub, library/ for its official images), the tag (latest when
// there is neither tag nor digest), and the digest when pinned:
// docker.io/library/nginx:1.25, registry.k8s.io/pause:3.9@sha256:….
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrReference)
	}
	if len(s) > MaxLen {
		return "", fmt.Errorf("%w: longer than %d characters", ErrReference, MaxLen)
	}
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrReference, s, err)
	}
	return reference.TagNameOnly(n).String(), nil
}
