// Package oneproc sets `packgen fetch` up as the short process it is, from
// the start: one P (GOMAXPROCS 1) and a garbage collector that waits
// longer. Package main imports it; depending only on os and runtime, its
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
// at all). `packgen -q fetch` and the like are caught by the command,
// which calls Fetch.
//
// The package initialisers leave about 3 MiB of heap, nearly all of it
// live for the whole process, and Go's first collection is due at 4 MiB:
// a fetch from a registry of 1,000 releases collected once, about 1 ms of
// CPU spent marking that heap just before the process ends. GOGC=400 (as
// packgen-helm runs) puts the first collection at 16 MiB, more than a
// fetch allocates: archives stream through fixed buffers and metadata is
// read to bounded sizes. The heap still stays within five times what is
// live, so a large registry costs more collections, not unbounded memory.
// GOGC or GOMEMLIMIT in the environment is left alone.
package oneproc

import (
	"os"
	"runtime"
	"runtime/debug"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "fetch" {
		Fetch()
	}
}

// fetchGOGC is the GC percentage of a fetch (see the package doc).
const fetchGOGC = 400

// Fetch sets this process up for one fetch: one P, and GOGC=400 unless
// the environment sets GOGC or GOMEMLIMIT. Call it only in a process that
// runs one command and exits.
func Fetch() {
	runtime.GOMAXPROCS(1)
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(fetchGOGC)
	}
}
