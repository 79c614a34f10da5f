//go:build unix && !darwin

package images

// maxrssBytes: Linux and the BSDs count ru_maxrss in KiB.
const maxrssBytes = false
