// Package stale lets a process mark a temporary file or directory as its
// own while it works, so that a later run can tell the leftovers of a
// process that was killed (kill -9, OOM, a cancelled CI job) from the
// work of one still running, and remove them: the build's stages, the
// profile fetch's, the client's partial downloads and extraction
// directories. The mark is an advisory lock (flock; LockFileEx on
// Windows) that the kernel drops when the owner dies, however it dies:
// on a file, the file itself (HoldFile); on a directory, a lock file
// beside it (Hold, MkdirTemp).
package stale

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/packgen/packgen/internal/safefile"
)

// LockSuffix names the lock file beside a marked directory.
const LockSuffix = ".lock"

// Hold marks dir as in use by this process until release is called.
func Hold(dir string) (release func(), err error) {
	f, err := os.OpenFile(dir+LockSuffix, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := Lock(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		os.Remove(dir + LockSuffix)
		Unlock(f)
		f.Close()
	}, nil
}

// Sweep removes the directories in parent whose names match pattern
// (filepath.Match) and that no live process holds, with their lock
// files. It returns what it removed. Errors are ignored: a leftover that
// cannot be removed now is tried again next time.
func Sweep(parent, pattern string) []string { return SweepOlder(parent, pattern, 0, time.Time{}) }

// SweepOlder is Sweep for what was made without a lock first (a file
// from os.CreateTemp, locked once open; a directory held after it was
// made): only what was last modified minAge before now is considered,
// so that another process's work made a moment ago and not locked yet
// is spared. A regular file is held by a lock on itself (HoldFile).
func SweepOlder(parent, pattern string, minAge time.Duration, now time.Time) []string {
	matches, _ := filepath.Glob(filepath.Join(parent, pattern))
	var removed []string
	for _, m := range matches {
		if strings.HasSuffix(m, LockSuffix) {
			continue
		}
		if minAge > 0 {
			info, err := os.Lstat(m)
			if err != nil || now.Sub(info.ModTime()) < minAge || !(info.IsDir() || info.Mode().IsRegular()) {
				continue
			}
			if info.Mode().IsRegular() {
				if removeUnheldFile(m) {
					removed = append(removed, m)
				}
				continue
			}
		}
		f, err := os.OpenFile(m+LockSuffix, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			continue
		}
		if !TryLock(f) {
			f.Close() // held: its owner is running
			continue
		}
		if os.RemoveAll(m) == nil {
			removed = append(removed, m)
		}
		os.Remove(m + LockSuffix)
		Unlock(f)
		f.Close()
	}
	// Lock files whose directory is gone (removed by its owner's
	// ReplaceDir after the lock was dropped, say).
	locks, _ := filepath.Glob(filepath.Join(parent, pattern+LockSuffix))
	for _, l := range locks {
		if _, err := os.Lstat(strings.TrimSuffix(l, LockSuffix)); os.IsNotExist(err) {
			if f, err := os.OpenFile(l, os.O_RDWR, 0); err == nil {
				if TryLock(f) {
					os.Remove(l)
					Unlock(f)
				}
				f.Close()
			}
		}
	}
	return removed
}

// HoldFile locks f, an open file of this process's, for as long as f
// stays open, so that SweepOlder leaves it alone; false if it cannot
// (the sweep then relies on age alone).
func HoldFile(f *os.File) bool { return TryLock(f) }

// removeUnheldFile removes the regular file m when no process holds it.
func removeUnheldFile(m string) bool {
	f, err := safefile.OpenAny(m)
	if err != nil {
		return false
	}
	defer f.Close()
	if !TryLock(f) {
		return false
	}
	defer Unlock(f)
	return os.Remove(m) == nil
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
		if err := Lock(f); err != nil {
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
			Unlock(f)
			f.Close()
			continue
		}
		beforeMkdir(dir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			os.Remove(dir + LockSuffix)
			Unlock(f)
			f.Close()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", nil, err
		}
		return dir, func() {
			os.Remove(dir + LockSuffix)
			Unlock(f)
			f.Close()
		}, nil
	}
	return "", nil, &os.PathError{Op: "mkdirtemp", Path: filepath.Join(parent, pattern), Err: fs.ErrExist}
}

// beforeMkdir is a seam for tests: called with the lock held and the
// directory not made yet.
var beforeMkdir = func(string) {}
