// Command packgen builds a static, signed registry of Kubernetes packs
// from a git repository, and is the client that fetches and verifies them.
package main

import (
	"os"

	_ "github.com/packgen/packgen/internal/oneproc" // one P for fetch, set early: see its doc
)

// standalone is true when this process runs one command and exits (not
// when tests call execute), so a command may change process-wide settings.
var standalone bool

func main() {
	standalone = true
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
