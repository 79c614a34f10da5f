package sign

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestAttackImageBundleSubjects: cosign v3 image signatures whose
// in-toto statement is not the one-subject statement cosign writes. A
// statement naming several images signs each of them (in-toto's
// meaning, and sigstore-go's check: one subject must match), so it
// binds to any it names and to no other; a subject under another
// algorithm only, or in upper-case hex, names nothing; a bundle over
// the size bound is refused before it is parsed, whatever it holds.
func TestAttackImageBundleSubjects(t *testing.T) {
	ctx := context.Background()
	s, v := plainKey(t, false)
	a := strings.TrimPrefix(imageDigest, "sha256:")
	b := strings.Repeat("b", 64)
	two := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + b + `"}},{"digest":{"sha256":"` + a + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`
	sha512 := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha512":"` + a + a + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`
	huge := imageBundle(t, s, InTotoPayloadType, statement(a)+strings.Repeat(" ", MaxBundleSize))
	for _, c := range []struct {
		name   string
		bundle []byte
		digest string
		want   string // "" accepted
	}{
		{"two subjects, the image first named second", imageBundle(t, s, InTotoPayloadType, two), imageDigest, ""},
		{"two subjects, the other one", imageBundle(t, s, InTotoPayloadType, two), "sha256:" + b, ""},
		{"two subjects, a third image", imageBundle(t, s, InTotoPayloadType, two), "sha256:" + strings.Repeat("c", 64), "do not name"},
		{"sha512 only", imageBundle(t, s, InTotoPayloadType, sha512), imageDigest, "do not name"},
		{"upper-case hex", imageBundle(t, s, InTotoPayloadType, statement(strings.ToUpper(a))), imageDigest, "do not name"},
		{"larger than the bound", huge, imageDigest, "larger than"},
	} {
		err := CheckImageBundle(ctx, c.bundle, c.digest, v)
		if c.want == "" && err != nil || c.want != "" && (!errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
