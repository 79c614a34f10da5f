// Package oneproc runs `packgen fetch` on one P (GOMAXPROCS 1) from the
// start. Package main imports it; depending only on os and runtime, its
// initialiser runs before most of the binary's (about 200 packages,
// ≈ 4 ms) and long before cobra parses the command line, so it looks at
// os.Args itself. (Importing anything initialised later, runtime/debug
// or strings, moves it after about 140 other initialisers: what a fetch
// sets up beside GOMAXPROCS is set in main, docs/PERFORMANCE.md.)
//
// A fetch is a short chain of small dependent downloads, then hashing and
// extraction: a second P has nothing to do but spin and wake threads at
// every hand-off between goroutines (package initialisers' and net/http's),
// CPU taken from the server on a small or loopback machine. Lowering
// GOMAXPROCS stops the world; this early, that is cheaper than in the
// command (measured on 2 CPUs: ≈ 0.5 ms less wall time and 0.7 ms less CPU
// per fetch than doing it in the command, itself ≈ 0.6 ms better than not
// at all). The command does it too, for what Command misreads.
package oneproc

import (
	"os"
	"runtime"
)

func init() {
	if Command(os.Args) == "fetch" {
		runtime.GOMAXPROCS(1)
	}
}

// Command is the subcommand args name: the first argument that is not a
// flag, past the global flags (-q, --quiet, --config FILE), so `packgen
// -q fetch` is caught too. Misreading it only costs a process the
// settings of a fetch, or leaves them to the command.
func Command(args []string) string {
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--config":
			i++
		case a == "--" || a == "" || a[0] != '-':
			return a
		}
	}
	return ""
}
