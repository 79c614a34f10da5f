package privkey

import "testing"

func TestBegin(t *testing.T) {
	begin := "-----BEGIN "
	for _, tc := range []struct {
		name string
		data string
		want int
	}{
		{"ec key", begin + "EC PRIVATE KEY-----\nMHc\n", 0},
		{"after a comment", "# test\n" + begin + "PRIVATE KEY-----\n", 7},
		{"sigstore", begin + "ENCRYPTED SIGSTORE PRIVATE KEY-----\n", 0},
		{"public key", begin + "PUBLIC KEY-----\n", -1},
		{"certificate then key", begin + "CERTIFICATE-----\nx\n" + begin + "RSA PRIVATE KEY-----\n", 30},
		{"marker without armour", "PRIVATE KEY-----\n", -1},
		{"empty", "", -1},
	} {
		if got := Begin([]byte(tc.data)); got != tc.want {
			t.Errorf("%s: Begin = %d, want %d", tc.name, got, tc.want)
		}
		if got := IsPEM([]byte(tc.data)); got != (tc.want >= 0) {
			t.Errorf("%s: IsPEM = %v", tc.name, got)
		}
	}
}

func TestLikelyName(t *testing.T) {
	for name, want := range map[string]bool{
		"tls.key": true, "packs/a/server.PEM": true, "id_ed25519": true, "my-secret.txt": true,
		"values.yaml": false, "manifests/deploy.yaml": false, "README.md": false,
	} {
		if got := LikelyName(name); got != want {
			t.Errorf("LikelyName(%q) = %v, want %v", name, got, want)
		}
	}
}
