package walk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/walk"
)

// TestRootSigned: the root step for a reader that may take an unsigned
// registry (a build reading its previous build), on a real signed site
// whose root files are swapped per case. Each of its three choices has
// its rows: (a) a site that signs nothing is read, unsigned, with or
// without a key, and a read failure is never taken for "unsigned" (nor
// by RootSignature, which refuses an unsigned one: each row with a key
// is asked of it too); (b)
// without a key the tamper check still runs; (c) the digest-named
// signature decides, index.json.sig is read only when it is missing.
func TestRootSigned(t *testing.T) {
	dir, v := site(t)
	other, err := sign.LoadPublicKey(testutil.NewKey(t).Pub)
	if err != nil {
		t.Fatal(err)
	}
	base := newWalker(t, dir, v)
	ctx := context.Background()
	data := rootData(t, base)
	named := index.RootSignaturePath(index.Digest(data))
	liveSig := index.RootFile + index.SignatureExt
	goodSig, err := base.Get(ctx, named, sign.MaxSigFileSize)
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]byte(nil), data...)
	changed[len(changed)/2] ^= 1
	changedNamed := index.RootSignaturePath(index.Digest(changed))
	// A signature by the registry's key over other bytes (an archive's):
	// what index.json.sig holds while a publish switches generations.
	root, err := index.ParseRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	staleSig, err := base.Get(ctx, releases(t, base, root)[0].Signature, sign.MaxSigFileSize)
	if err != nil {
		t.Fatal(err)
	}
	missing := func(p string) error { return fmt.Errorf("%s: %w", p, index.ErrNotFound) }
	broken := errors.New("503 Service Unavailable")

	type file struct {
		data []byte
		err  error
	}
	for _, tc := range []struct {
		name    string
		key     *sign.Verifier
		root    []byte          // index.json's bytes (data when nil)
		files   map[string]file // what the site serves instead
		signed  bool
		wantErr error  // nil: no error
		errFile string // the file a FileError names
		noLive  bool   // index.json.sig must not be read
		// liveSigns: index.json.sig signs index.json, which a reader
		// handed it (the client's RootSignature) takes.
		liveSigns bool
	}{
		{name: "signed, trusted key", key: v, signed: true, noLive: true},
		{name: "signed, another key", key: other, wantErr: walk.ErrBadSignature, errFile: index.RootFile},
		{name: "signed, no key: nothing verified, nothing contradicts", noLive: true},

		{name: "a/unsigned, key", key: v, files: map[string]file{named: {err: missing(named)}, liveSig: {err: missing(liveSig)}}},
		{name: "a/unsigned, no key", files: map[string]file{named: {err: missing(named)}, liveSig: {err: missing(liveSig)}}},
		{name: "a/index.json.sig unreadable is not unsigned", key: v, files: map[string]file{named: {err: missing(named)}, liveSig: {err: broken}}, wantErr: broken, errFile: liveSig},
		{name: "a/index.json.sig unreadable is not unsigned, no key", files: map[string]file{named: {err: missing(named)}, liveSig: {err: broken}}, wantErr: broken, errFile: liveSig},
		{name: "a/digest-named signature unreadable", key: v, files: map[string]file{named: {err: broken}}, wantErr: broken, errFile: named, liveSigns: true},

		{name: "b/changed after signing, key", key: v, root: changed, files: map[string]file{changedNamed: {err: missing(changedNamed)}}, wantErr: walk.ErrBadSignature, errFile: index.RootFile},
		{name: "b/changed after signing, no key", root: changed, files: map[string]file{changedNamed: {err: missing(changedNamed)}}, wantErr: walk.ErrBadSignature, errFile: index.RootFile},

		{name: "c/stale index.json.sig, digest-named verifies", key: v, files: map[string]file{liveSig: {data: staleSig}}, signed: true, noLive: true},
		{name: "c/digest-named missing, index.json.sig verifies", key: v, files: map[string]file{named: {err: missing(named)}, liveSig: {data: goodSig}}, wantErr: walk.ErrUnsigned, errFile: named, liveSigns: true},
		{name: "c/digest-named by another key's bytes", key: v, files: map[string]file{named: {data: staleSig}}, wantErr: walk.ErrBadSignature, errFile: index.RootFile, liveSigns: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bytes := data
			if tc.root != nil {
				bytes = tc.root
			}
			liveRead := false
			w := &walk.Walker{Verifier: tc.key, Get: func(ctx context.Context, p string, max int64) ([]byte, error) {
				if p == liveSig {
					liveRead = true
				}
				if f, ok := tc.files[p]; ok {
					return f.data, f.err
				}
				return base.Get(ctx, p, max)
			}}
			signed, err := w.RootSigned(ctx, bytes)
			if signed != tc.signed {
				t.Errorf("signed = %v, want %v", signed, tc.signed)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("RootSigned: %v", err)
				}
			} else {
				var fe *walk.FileError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &fe) || fe.Path != tc.errFile {
					t.Fatalf("RootSigned = %v, want %v in %s", err, tc.wantErr, tc.errFile)
				}
			}
			if tc.noLive && liveRead {
				t.Errorf("%s was read although the digest-named signature decides", liveSig)
			}
			if tc.key == nil {
				return
			}
			// A reader that takes no unsigned registry (RootSignature:
			// the client, which hands it index.json.sig as read with
			// index.json, and the witness, which does not) decides the
			// same, an unsigned one refused: a signature that cannot be
			// read is that error, never "unsigned".
			live := &walk.Fetched{}
			live.Data, live.Err = w.Get(ctx, liveSig, sign.MaxSigFileSize)
			for _, live := range []*walk.Fetched{nil, live} {
				err := w.RootSignature(ctx, bytes, live)
				var fe *walk.FileError
				switch {
				case live != nil && tc.liveSigns, tc.signed:
					if err != nil {
						t.Errorf("RootSignature (index.json.sig given: %v): %v", live != nil, err)
					}
				case tc.wantErr == nil:
					if !errors.Is(err, walk.ErrUnsigned) {
						t.Errorf("RootSignature (index.json.sig given: %v) = %v, want ErrUnsigned", live != nil, err)
					}
				case !errors.Is(err, tc.wantErr) || !errors.As(err, &fe) || fe.Path != tc.errFile:
					t.Errorf("RootSignature (index.json.sig given: %v) = %v, want %v in %s", live != nil, err, tc.wantErr, tc.errFile)
				}
			}
		})
	}
}

// TestRootSignatureUnsignedRefused: a client with a key refuses what
// RootSigned reads as unsigned.
func TestRootSignatureUnsignedRefused(t *testing.T) {
	dir, v := site(t)
	for _, f := range []string{index.RootFile + index.SignatureExt, "signatures"} {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	w := newWalker(t, dir, v)
	ctx := context.Background()
	data := rootData(t, w)
	if signed, err := w.RootSigned(ctx, data); signed || err != nil {
		t.Fatalf("RootSigned = %v, %v; want unsigned", signed, err)
	}
	if err := w.RootSignature(ctx, data, nil); !errors.Is(err, walk.ErrUnsigned) {
		t.Fatalf("RootSignature = %v, want ErrUnsigned", err)
	}
}
