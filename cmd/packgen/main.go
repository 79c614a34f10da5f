// Command packgen builds a static, signed registry of Kubernetes packs
// from a git repository, and is the client that fetches and verifies them.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
