// Command packgen builds a static, signed registry of Kubernetes packs
// from a git repository, and is the client that fetches and verifies them.
package main

import (
	"os"
	"runtime/pprof"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/oneproc" // one P for fetch, set early: see its doc
)

// standalone is true when this process runs one command and exits (not
// when tests call execute), so a command may change process-wide settings.
var standalone bool

func main() {
	standalone = true
	if oneproc.Command(os.Args) == "fetch" {
		fetchProcess() // before the heap reaches Go's first collection
	}
	// PACKGEN_CPUPROFILE=FILE profiles one command, for make bench's
	// investigations (docs/PERFORMANCE.md).
	if f := os.Getenv("PACKGEN_CPUPROFILE"); f != "" {
		if w, err := os.Create(f); err == nil {
			pprof.StartCPUProfile(w)
			code := execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			images.CloseRenderer()
			pprof.StopCPUProfile()
			w.Close()
			os.Exit(code)
		}
	}
	code := execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	images.CloseRenderer() // chart renderers this command started, if any
	os.Exit(code)
}
