//go:build unix

package images

import "syscall"

func init() { mkfifo = syscall.Mkfifo }
