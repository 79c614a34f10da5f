//go:build !unix

package stale

import (
	"errors"
	"os"
)

// Without flock a leftover cannot be told from live work: nothing is
// swept (Sweep sees every directory as held).
func lock(f *os.File, wait bool) error {
	if wait {
		return nil
	}
	return errors.New("locks not supported")
}

func unlock(f *os.File) {}
