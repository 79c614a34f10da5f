package profile

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/testutil"
)

// TestAttackLockCheckpointOtherRegistry: one registry key signs two
// registries built from one repository ("e2e" and "staging"), so their
// logs hold the same entries under the same log key material. A lock
// edited to carry staging's checkpoint, its signature line relabelled to
// e2e's log key name (a note signature does not sign the name), opened
// under e2e's log key and proved the entry: the lock's checkpoint must
// be of this registry's log (its origin), or the lock is refused.
func TestAttackLockCheckpointOtherRegistry(t *testing.T) {
	ctx := context.Background()
	reg, state, _, lockPath := lockedAWSProd(t)

	staging := filepath.Join(t.TempDir(), "staging")
	if _, err := build.Run(ctx, build.Options{Repo: reg.repo.Dir, PacksDir: "packs", Out: staging, Registry: "staging", Signer: reg.signer, GeneratedAt: reg.gen}); err != nil {
		t.Fatal(err)
	}
	prod, stag := testutil.ReadRoot(t, filepath.Join(reg.tmp, "site1")), testutil.ReadRoot(t, staging)
	if prod.Log == nil || stag.Log == nil || prod.Log.Hash != stag.Log.Hash {
		t.Fatalf("staging's log %+v is not e2e's %+v: the test proves nothing", stag.Log, prod.Log)
	}
	cp, err := os.ReadFile(filepath.Join(staging, index.LogCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	pv, err := note.NewVerifier(prod.Log.Key)
	if err != nil {
		t.Fatal(err)
	}
	stagName := stag.Log.Key[:strings.Index(stag.Log.Key, "+")]
	var forged bytes.Buffer
	for _, line := range strings.SplitAfter(string(cp), "\n") {
		if rest, ok := strings.CutPrefix(line, "\u2014 "+stagName+" "); ok {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(rest, "\n"))
			if err != nil || len(raw) < 4 {
				t.Fatalf("signature line %q: %v", line, err)
			}
			binary.BigEndian.PutUint32(raw, pv.KeyHash())
			line = "\u2014 " + pv.Name() + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
		}
		forged.WriteString(line)
	}
	if _, err := note.Open(forged.Bytes(), note.VerifierList(pv)); err != nil {
		t.Fatalf("the relabelled checkpoint does not open under e2e's log key (%v): the test proves nothing", err)
	}
	lock, err := LoadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	l := &lock.Layers[2]
	if l.Log == nil {
		t.Fatalf("%s: no log proof in the lock", l.ID())
	}
	l.Log.Checkpoint = forged.String()
	_, err = Fetch(ctx, lock, reg.env(state), FetchOptions{Dest: filepath.Join(t.TempDir(), "d")})
	if !errors.Is(err, ErrLockMismatch) || !strings.Contains(err.Error(), `"staging"`) || !strings.Contains(err.Error(), l.ID()) {
		t.Fatalf("a lock carrying another registry's checkpoint: got %v, want ErrLockMismatch naming the origin staging", err)
	}
}
