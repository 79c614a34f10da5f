//go:build darwin

package images

// maxrssBytes: darwin's getrusage counts ru_maxrss in bytes.
const maxrssBytes = true
