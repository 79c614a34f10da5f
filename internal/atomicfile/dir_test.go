package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceDir(t *testing.T) {
	for _, tc := range []struct {
		name              string
		existing          bool
		overwrite         bool
		wantErr           error
		wantNew, wantGone bool
	}{
		{name: "new dest", wantNew: true, wantGone: true},
		{name: "replace", existing: true, overwrite: true, wantNew: true, wantGone: true},
		{name: "refuse", existing: true, wantErr: fs.ErrExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stage, dest := filepath.Join(dir, ".stage"), filepath.Join(dir, "dest")
			if err := os.MkdirAll(stage, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(stage, "f"), []byte("new"), 0o644)
			if tc.existing {
				os.MkdirAll(dest, 0o755)
				os.WriteFile(filepath.Join(dest, "f"), []byte("old"), 0o644)
			}
			err := ReplaceDir(stage, dest, tc.overwrite)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, _ := os.ReadFile(filepath.Join(dest, "f"))
			if want := map[bool]string{true: "new", false: "old"}[tc.wantNew]; string(got) != want {
				t.Errorf("dest holds %q, want %q", got, want)
			}
			if _, err := os.Lstat(stage); errors.Is(err, fs.ErrNotExist) != tc.wantGone {
				t.Errorf("stage left behind: %v", err)
			}
			entries, _ := os.ReadDir(dir)
			if want := map[bool]int{true: 1, false: 2}[tc.wantGone]; len(entries) != want {
				t.Errorf("%d entries beside dest, want %d", len(entries), want)
			}
		})
	}
}
