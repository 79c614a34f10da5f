package index

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFileRefVerify(t *testing.T) {
	data := []byte("pinned content\n")
	ref := FileRef{Path: "packs/x/1.0.0/x-1.0.0.tar.gz", SHA256: Digest(data), Size: int64(len(data))}
	cases := []struct {
		name string
		in   []byte
		want error // for Verify
		str  error // for VerifyReader
	}{
		{"same", data, nil, nil},
		{"one byte changed", append([]byte("P"), data[1:]...), ErrDigestMismatch, ErrDigestMismatch},
		{"shorter", data[:5], ErrDigestMismatch, ErrDigestMismatch},
		{"longer", append(append([]byte{}, data...), 'x'), ErrDigestMismatch, ErrTooLarge},
		{"empty", nil, ErrDigestMismatch, ErrDigestMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ref.Verify(c.in)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("Verify: %v, want %v", err, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), ref.Path+": expected sha256 "+ref.SHA256) {
				t.Errorf("Verify: %v does not name the file and what was expected", err)
			}
			var me *MismatchError
			if err != nil && (!errors.As(err, &me) || me.GotSize != int64(len(c.in)) || strings.Contains(me.Detail(), ref.Path)) {
				t.Errorf("Verify: %v: not a MismatchError with the size read and a detail without the path", err)
			}
			pr := ref.VerifyReader(bytes.NewReader(c.in))
			var out bytes.Buffer
			if _, err := io.Copy(&out, pr); err != nil {
				t.Fatal(err)
			}
			err = pr.Verify()
			if !errors.Is(err, c.str) || (c.str == nil) != (err == nil) {
				t.Errorf("VerifyReader: %v, want %v", err, c.str)
			}
			if c.str == nil && (pr.Len() != ref.Size || Digest(out.Bytes()) != ref.SHA256) {
				t.Errorf("VerifyReader passed %d bytes through, want the file", pr.Len())
			}
		})
	}
}

// TestVerifyReaderStopsEndlessData: a server sending forever is cut one
// byte past the recorded size, not read to the end.
func TestVerifyReaderStopsEndlessData(t *testing.T) {
	ref := FileRef{Path: "a", SHA256: Digest([]byte("abc")), Size: 3}
	pr := ref.VerifyReader(endless{})
	n, err := io.Copy(io.Discard, pr)
	if err != nil || n != 4 || !errors.Is(pr.Verify(), ErrTooLarge) {
		t.Fatalf("read %d (%v), verify %v", n, err, pr.Verify())
	}
}

type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a'
	}
	return len(b), nil
}
