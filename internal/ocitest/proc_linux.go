package ocitest

import (
	"os/exec"
	"syscall"
)

// dieWithTest kills the registry when the test process dies without its
// cleanup (a timeout panic, kill -9), so no registry outlives its test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
