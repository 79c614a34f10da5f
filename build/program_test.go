package build

import (
	"strings"
	"testing"
)

// The stamp names this program and the key, the same on every call; a
// release version goes in it, and another key changes it.
func TestProgramStamp(t *testing.T) {
	signer, _ := testKey(t)
	dev := ProgramStamp("", signer)
	if dev == "" {
		t.Skip("no build information in this binary")
	}
	if dev != ProgramStamp("", signer) {
		t.Error("stamp differs between calls")
	}
	if !strings.Contains(dev, "key="+signer.KeyID()) {
		t.Errorf("stamp %q lacks the key", dev)
	}
	other, _ := testKey(t)
	if ProgramStamp("", other) == dev || ProgramStamp("", nil) == dev {
		t.Error("the key does not change the stamp")
	}
	if rel := ProgramStamp("v1.2.3", signer); !strings.Contains(rel, "packgen v1.2.3 ") {
		t.Errorf("release stamp %q lacks the version", rel)
	}
}
