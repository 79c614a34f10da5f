// Package stale lets a process mark a temporary directory as its own
// while it works, so that a later run can tell the leftovers of a
// process that was killed (kill -9, OOM, a cancelled CI job) from the
// work of one still running, and remove them. The mark is an advisory
// lock (flock) on a file beside the directory: the kernel drops it when
// the owner dies, however it dies.
package stale

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockSuffix names the lock file beside a marked directory.
const LockSuffix = ".lock"

// Hold marks dir as in use by this process until release is called.
func Hold(dir string) (release func(), err error) {
	f, err := os.OpenFile(dir+LockSuffix, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lock(f, true); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		os.Remove(dir + LockSuffix)
		unlock(f)
		f.Close()
	}, nil
}

// Sweep removes the directories in parent whose names match pattern
// (filepath.Match) and that no live process holds, with their lock
// files. It returns what it removed. Errors are ignored: a leftover that
// cannot be removed now is tried again next time.
func Sweep(parent, pattern string) []string {
	matches, _ := filepath.Glob(filepath.Join(parent, pattern))
	var removed []string
	for _, m := range matches {
		if strings.HasSuffix(m, LockSuffix) {
			continue
		}
		f, err := os.OpenFile(m+LockSuffix, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			continue
		}
		if lock(f, false) != nil {
			f.Close() // held: its owner is running
			continue
		}
		if os.RemoveAll(m) == nil {
			removed = append(removed, m)
		}
		os.Remove(m + LockSuffix)
		unlock(f)
		f.Close()
	}
	// Lock files whose directory is gone (removed by its owner's
	// ReplaceDir after the lock was dropped, say).
	locks, _ := filepath.Glob(filepath.Join(parent, pattern+LockSuffix))
	for _, l := range locks {
		if _, err := os.Lstat(strings.TrimSuffix(l, LockSuffix)); os.IsNotExist(err) {
			if f, err := os.OpenFile(l, os.O_RDWR, 0); err == nil {
				if lock(f, false) == nil {
					os.Remove(l)
					unlock(f)
				}
				f.Close()
			}
		}
	}
	return removed
}

// MkdirTemp creates a new directory in parent, named as os.MkdirTemp
// names it from pattern, already held as Hold holds it. The lock comes
// first and the directory second: made the other way round (os.MkdirTemp,
// then Hold), a Sweep by a concurrent run in between (two builds whose
// out dirs share a parent) saw an unheld directory matching its pattern
// and removed the new one from under its owner.
func MkdirTemp(parent, pattern string) (dir string, release func(), err error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for try := 0; try < 1000; try++ {
		dir = filepath.Join(parent, prefix+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		f, err := os.OpenFile(dir+LockSuffix, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if err := lock(f, true); err != nil {
			f.Close()
			os.Remove(dir + LockSuffix)
			return "", nil, err
		}
		// A Sweep may have taken the fresh lock file for an orphan and
		// removed it before it was locked here: then it is not this
		// file any more, and another name is tried.
		held, serr := f.Stat()
		named, nerr := os.Stat(dir + LockSuffix)
		if serr != nil || nerr != nil || !os.SameFile(held, named) {
			unlock(f)
			f.Close()
			continue
		}
		beforeMkdir(dir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			os.Remove(dir + LockSuffix)
			unlock(f)
			f.Close()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", nil, err
		}
		return dir, func() {
			os.Remove(dir + LockSuffix)
			unlock(f)
			f.Close()
		}, nil
	}
	return "", nil, &os.PathError{Op: "mkdirtemp", Path: filepath.Join(parent, pattern), Err: fs.ErrExist}
}

// beforeMkdir is a seam for tests: called with the lock held and the
// directory not made yet.
var beforeMkdir = func(string) {}
