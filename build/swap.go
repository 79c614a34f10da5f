package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// swapDir puts the staged build at out in one step where the OS allows:
// readers of out see the old or the new build, never a mix, and a crash
// leaves at worst a stray staging dir beside it.
func swapDir(stage, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(stage, out); err != nil {
			return fmt.Errorf("move build into place: %w", err)
		}
		return nil
	}
	if err := exchange(stage, out); err == nil {
		return os.RemoveAll(stage) // stage now holds the old build
	}
	old := stage + ".old"
	if err := os.Rename(out, old); err != nil {
		return fmt.Errorf("move old build aside: %w", err)
	}
	if err := os.Rename(stage, out); err != nil {
		_ = os.Rename(old, out)
		return fmt.Errorf("move build into place: %w", err)
	}
	return os.RemoveAll(filepath.Clean(old))
}
