package main

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack"
)

// A full disk while extracting exits 3 (could not do the work), a bad
// archive 1 (issue 14 item 6): clientErr's mapping, read as execute does.
func TestClientErrExitCodes(t *testing.T) {
	code := func(err error) int {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return exitFailure
	}
	fullDisk := fmt.Errorf("calico@3.27.3: %w: %w", pack.ErrWrite, &fs.PathError{Op: "write", Path: "/x/pack.json", Err: syscall.ENOSPC})
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"full disk", fullDisk, exitFailure},
		{"full disk, wrapped with a verification sentinel too", fmt.Errorf("%w: %w", pack.ErrCorrupt, fullDisk), exitFailure},
		{"corrupt", fmt.Errorf("calico@3.27.3: %w: unexpected EOF", pack.ErrCorrupt), exitBad},
		{"empty", fmt.Errorf("%w: %w: no pack.json", pack.ErrCorrupt, pack.ErrEmpty), exitBad},
		{"unsafe", fmt.Errorf("%w: ../x", pack.ErrUnsafePath), exitBad},
		{"dest exists", fmt.Errorf("%w: x", pack.ErrDestExists), exitUsage},
		// A registry's metadata refused is a verdict on what was read,
		// a newer packgen's included: 1, not 3 (could not do the work).
		{"bad metadata", fmt.Errorf("read shard: %w: bucket: pack name \"..\" is invalid", index.ErrFormat), exitBad},
		{"newer format", fmt.Errorf("read index.json: %w: %w: index.json has field \"x\"", index.ErrFormat, index.ErrNewerFormat), exitBad},
	} {
		if got := code(clientErr(tc.err)); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}
