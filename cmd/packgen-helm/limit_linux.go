package main

import (
	"runtime/debug"
	"syscall"
)

// limitMemory bounds the helper's data (RLIMIT_DATA: its private
// writable mappings, the Go heap included) to n bytes, or to a lower
// bound already set, hard and soft: a chart that makes Helm's engine
// allocate without end (a `repeat` of a billion, a string doubled in a
// loop) makes the Go runtime fail to map more and the helper exit with
// "fatal error: runtime: out of memory", which packgen reports as the
// chart's. Not RLIMIT_AS: the Go runtime reserves over a GiB of address
// space it never uses before main. The GC's own target is set a quarter
// below, so that a chart that fits is collected for rather than killed
// at GOGC=400's growth.
func limitMemory(n int64) (int64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_DATA, &rl); err != nil {
		return 0, err
	}
	lim := min(uint64(n), rl.Cur, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		return 0, err
	}
	if soft := int64(lim / 4 * 3); soft < debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(soft)
	}
	return int64(lim), nil
}
