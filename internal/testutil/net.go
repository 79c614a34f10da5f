package testutil

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback host:port that nothing listens on when it
// returns: a registry or server that is down, or a port for a child
// process to take.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
