//go:build !linux

package main

import "os"

func startWriteback(f *os.File, off, n int64) {}
