package walk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
)

// TestCopyPinnedSaysWhere: bytes other than the pinned ones are a digest
// mismatch (or too large), to which what the transport says about where
// it read them is added (an OCI release tag someone moved); a match, or
// an error of another kind, is left as it is.
func TestCopyPinnedSaysWhere(t *testing.T) {
	data := []byte("the release")
	sum := sha256.Sum256(data)
	ref := index.FileRef{Path: "packs/hello/0.1.0/hello-0.1.0.tar.gz", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	const where = "read as the release tag R/hello:0.1.0"
	for _, c := range []struct {
		name, body, mismatch string
		want                 error
		says                 bool
	}{
		{"pinned bytes", string(data), where, nil, false},
		{"other bytes, the tag said", "evil: true", where, ErrDigestMismatch, true},
		{"other bytes, nothing to say", "evil: true", "", ErrDigestMismatch, false},
		{"larger, announced", "the release, and more", where, ErrTooLarge, true},
	} {
		resp := &Response{Body: io.NopCloser(strings.NewReader(c.body)), Size: int64(len(c.body)), Mismatch: c.mismatch}
		var dst bytes.Buffer
		_, _, err := CopyPinned(ref, resp, &dst, nil)
		if c.want == nil {
			if err != nil || dst.String() != c.body {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || strings.Contains(err.Error(), where) != c.says || !strings.Contains(err.Error(), ref.Path) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
