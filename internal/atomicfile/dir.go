package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ReplaceDir puts the fully written directory stage at dest. Where the OS
// allows (Linux) an existing dest is exchanged with stage in one step, so
// readers of dest see the old tree or the new one, never a mix or nothing;
// elsewhere dest is moved aside for the instant of the second rename. A
// crash leaves at worst a stray directory beside dest. Without overwrite
// an existing dest is an error matching fs.ErrExist, and nothing moves.
func ReplaceDir(stage, dest string, overwrite bool) error {
	if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(stage, dest)
	} else if !overwrite {
		return fmt.Errorf("%s: %w", dest, fs.ErrExist)
	}
	if err := exchange(stage, dest); err == nil {
		return os.RemoveAll(stage) // stage now holds the old tree
	}
	old := stage + ".old"
	if err := os.Rename(dest, old); err != nil {
		return fmt.Errorf("move %s aside: %w", dest, err)
	}
	if err := os.Rename(stage, dest); err != nil {
		_ = os.Rename(old, dest)
		return err
	}
	return os.RemoveAll(old)
}
