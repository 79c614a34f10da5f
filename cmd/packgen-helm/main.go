// Command packgen-helm renders Helm charts for packgen, which runs it
// beside itself (as git runs its git-* helpers) so that only processes
// that render charts pay for linking Helm. It speaks
// internal/chartproto over stdin and stdout: a handshake that refuses a
// packgen from another build, then one chart per request until stdin
// ends. It is not meant to be run by hand.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/packgen/packgen/internal/chartproto"
	"github.com/packgen/packgen/internal/chartrender"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version", "version":
			fmt.Printf("packgen-helm %s (protocol %d)\n", chartproto.BuildID(), chartproto.Protocol)
			return
		}
		fmt.Fprintf(os.Stderr, "packgen-helm: renders Helm charts for packgen over stdin and stdout; it takes no arguments (only --version) and is not meant to be run by hand\n")
		os.Exit(2)
	}
	// A helper's live heap is one chart at a time, so Go's default
	// (collect when the heap doubles) collects after nearly every chart:
	// with 400 a catalogue's 1,000 renders cost about a quarter less CPU
	// (docs/PERFORMANCE.md), for a peak of about five charts' worth.
	debug.SetGCPercent(400)
	go watchParent(os.Getppid())
	// PACKGEN_HELM_CPUPROFILE=DIR: each helper writes a CPU profile
	// there (helm-*.pprof) as its stdin ends, beside what
	// PACKGEN_CPUPROFILE gives of packgen (docs/PERFORMANCE.md, "F4").
	if d := os.Getenv("PACKGEN_HELM_CPUPROFILE"); d != "" {
		if f, err := os.CreateTemp(d, "helm-*.pprof"); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := chartproto.Serve(os.Stdin, os.Stdout, chartproto.BuildID(), limitMemory, chartrender.Render); err != nil {
		fmt.Fprintf(os.Stderr, "packgen-helm: %v\n", err)
		pprof.StopCPUProfile()
		os.Exit(3)
	}
}

// watchParent ends the helper once packgen is gone. packgen closes its
// helpers' stdin as it exits, but one that is killed, or exits when a
// signal's grace runs out, while a chart renders leaves its helper
// rendering: a runaway template, which packgen's timeout would have
// killed, would run on unwatched. Once
// its parent ends a process is given another (init, a subreaper);
// where parents are not reassigned (Windows) this never fires.
func watchParent(ppid int) {
	for range time.Tick(time.Second) {
		if os.Getppid() != ppid {
			fmt.Fprintf(os.Stderr, "packgen-helm: packgen (pid %d) is gone; exiting\n", ppid)
			os.Exit(4)
		}
	}
}
