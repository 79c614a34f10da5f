//go:build !unix

package publish

import "io/fs"

// exposed: outside Unix a file's mode bits and owner say little (Windows
// reports 0666 for any writable file), and nothing is checked.
func exposed(_, _ fs.FileInfo) string { return "" }
