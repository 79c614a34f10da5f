package transport

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	n := parseNetrc(strings.NewReader("machine a.example login u1 password p1\ndefault login du password dp\n"), "a.example")
	if n == nil || n.login != "u1" || n.password != "p1" {
		t.Errorf("%+v", n)
	}
	n = parseNetrc(strings.NewReader("machine a.example login u1 password p1\ndefault login du password dp\n"), "b.example")
	if n == nil || n.login != "du" {
		t.Errorf("default: %+v", n)
	}
	if parseNetrc(strings.NewReader("machine a login u password p"), "z") != nil {
		t.Error("unrelated host matched")
	}
}

// FuzzParseNetrc: credentials files are outside input too.
func FuzzParseNetrc(f *testing.F) {
	f.Add([]byte("machine a.example login u1 password p1\ndefault login du password dp\n"), "a.example")
	f.Add([]byte("machine"), "")
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		parseNetrc(bytes.NewReader(data), host)
	})
}
