package build

import (
	"fmt"

	"github.com/packgen/packgen/internal/progid"
)

// ProgramStamp identifies what shapes a build's output beyond its
// options, for Options.Stamp: this program (its version, and what
// progid names it by) and the signing key. A build records it so that
// building the same again can return at once; "" (no identity to be sure
// of) turns that off.
func ProgramStamp(version string, signer Signer) string {
	id := progid.Name()
	if id == "" {
		return ""
	}
	s := fmt.Sprintf("packgen %s %s", version, id)
	if signer != nil {
		s += " key=" + signer.KeyID()
	}
	return s
}
