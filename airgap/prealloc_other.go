//go:build !linux

package airgap

import "os"

// preallocate grows f to off+n if it is shorter (sparse where the file
// system allows): a full disk shows in the writes.
func preallocate(f *os.File, off, n int64) error { return grow(f, off+n) }
