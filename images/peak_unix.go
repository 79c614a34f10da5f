//go:build unix

package images

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSS is the most resident memory an exited process used, in bytes,
// as the kernel counted it (0 when unknown).
func peakRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" { // bytes there; KiB on Linux and the BSDs
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}
