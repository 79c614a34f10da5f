// Package oneproc runs `packgen fetch` on one P (GOMAXPROCS 1) from the
// start. Package main imports it; depending only on os and runtime, its
// initialiser runs before most of the binary's (about 200 packages,
// ≈ 4 ms) and long before cobra parses the command line, so it looks at
// os.Args itself.
//
// A fetch is a short chain of small dependent downloads, then hashing and
// extraction: a second P has nothing to do but spin and wake threads at
// every hand-off between goroutines (package initialisers' and net/http's),
// CPU taken from the server on a small or loopback machine. Lowering
// GOMAXPROCS stops the world; this early, that is cheaper than in the
// command (measured on 2 CPUs: ≈ 0.5 ms less wall time and 0.7 ms less CPU
// per fetch than doing it in the command, itself ≈ 0.6 ms better than not
// at all). `packgen -q fetch` and the like are caught by the command.
package oneproc

import (
	"os"
	"runtime"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "fetch" {
		runtime.GOMAXPROCS(1)
	}
}
