// Package privkey tells a PEM private key by its armour and the file
// names worth reading for one: the rule the build applies to a commit
// (package gitsafe) and pack validation to a pack's files, so the PR
// check refuses what the build would. A leaf: it imports nothing of
// packgen's.
package privkey

import (
	"bytes"
	"path"
	"strings"
)

// MaxScan bounds how much of a suspicious file is read: keys are small.
const MaxScan = 64 << 10

// markers are the PEM armour lines of private keys: cosign's and
// packgen's ("ENCRYPTED SIGSTORE PRIVATE KEY"), PKCS#8, RSA, EC, OpenSSH.
var markers = [][]byte{[]byte("PRIVATE KEY-----")}

// IsPEM reports whether data holds a PEM private key block.
func IsPEM(data []byte) bool {
	return Begin(data) >= 0
}

// Begin is the offset of the "-----BEGIN " line of the first private key
// block in data, -1 when there is none.
func Begin(data []byte) int {
	for _, m := range markers {
		if i := bytes.Index(data, m); i >= 0 {
			return bytes.LastIndex(data[:i], []byte("-----BEGIN "))
		}
	}
	return -1
}

// LikelyName: file names worth reading for a private key. Reading every
// blob of a large repository on each build would cost seconds; keys are
// named like keys.
func LikelyName(name string) bool {
	n := strings.ToLower(path.Base(name))
	switch path.Ext(n) {
	case ".key", ".pem", ".p8", ".pk8", ".priv", ".private", ".sec", ".asc":
		return true
	}
	return strings.HasPrefix(n, "id_") || strings.Contains(n, "key") || strings.Contains(n, "secret")
}
