package sign

import (
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// The log key is a function of the registry key: the same key (loaded
// again, either algorithm) gives the same note key, another key another;
// and what it signs verifies under the verifier key it names.
func TestLogKeyDerived(t *testing.T) {
	for _, alg := range []Algorithm{ECDSAP256, Ed25519} {
		t.Run(string(alg), func(t *testing.T) { testLogKeyDerived(t, alg) })
	}
}

func testLogKeyDerived(t *testing.T, alg Algorithm) {
	{
		priv, _ := plainPEM(t, alg)
		a, _ := LoadSigner(priv, nil)
		b, _ := LoadSigner(priv, nil)
		other, _ := plainPEM(t, alg)
		c, _ := LoadSigner(other, nil)
		skA, vkA, err := a.LogKey("acme")
		if err != nil {
			t.Fatal(err)
		}
		skB, vkB, _ := b.LogKey("acme")
		_, vkC, _ := c.LogKey("acme")
		if skA != skB || vkA != vkB {
			t.Fatal("the same registry key gave two log keys")
		}
		if vkA == vkC {
			t.Fatal("two registry keys gave one log key")
		}
		s, err := note.NewSigner(skA)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := note.Sign(&note.Note{Text: "acme\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, s)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.LogKey("bad name"); err == nil {
			t.Fatal("a note key name with a space was accepted")
		}
	}
}
