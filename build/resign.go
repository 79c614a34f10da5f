package build

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/packgen/packgen/index"
)

// rotatingSigner is a Signer that recognises its own signatures
// (sign.Signer does). With one, a build re-signs the releases it carries
// over when their signature is by another key (the registry's key was
// rotated) or missing (the registry started signing), so clients that
// trust only the new key can still fetch every release.
type rotatingSigner interface {
	Signer
	Signed(file string, sha256sum [32]byte, sigFile []byte) bool
	KeyID() string
}

// resign returns r, re-signed with the current key when needed. The new
// signature files get new names (<name>-<version>.<keyid>.tar.gz.sig):
// the old ones are immutable and cached for a year by CDNs, so the same
// name must never hold other bytes.
func resign(o Options, stage string, r index.Release) (index.Release, error) {
	rs, ok := o.Signer.(rotatingSigner)
	if !ok {
		return r, nil
	}
	file := filepath.Join(stage, filepath.FromSlash(r.Archive.Path))
	sum, err := hexSum(r.Archive.SHA256)
	if err != nil {
		return r, err
	}
	if r.Signature != "" {
		data, err := os.ReadFile(filepath.Join(stage, filepath.FromSlash(r.Signature)))
		if err == nil && rs.Signed(file, sum, data) {
			return r, nil
		}
	}
	// Sign through a link named for the key, so the signature files are
	// named after it; the link itself is removed.
	id := rs.KeyID()
	if len(id) > 12 {
		id = id[:12]
	}
	base := strings.TrimSuffix(path.Base(r.Archive.Path), ".tar.gz") + "." + id + ".tar.gz"
	link := filepath.Join(filepath.Dir(file), base)
	os.Remove(link)
	if err := linkOrCopy(file, link); err != nil {
		return r, err
	}
	defer os.Remove(link)
	sig, bundle, err := rs.SignFile(link, sum)
	if err != nil {
		return r, fmt.Errorf("re-sign %s with key %s: %w", r.Archive.Path, id, err)
	}
	dir := path.Dir(r.Archive.Path)
	r.Signature, r.Bundle = path.Join(dir, sig), path.Join(dir, bundle)
	return r, nil
}
