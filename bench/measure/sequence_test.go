package measure

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSequence(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	// The second command holds 32 MiB: the sequence's peak RSS is its,
	// its wall time both together.
	seq, err := Sequence([]*exec.Cmd{
		exec.Command("sh", "-c", "sleep 0.05"),
		exec.Command("sh", "-c", `x=$(head -c 33554432 /dev/zero | tr '\0' x); printf %s "${#x}"`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if seq.MaxRSS < 32<<20 || seq.CPU <= 0 || seq.Wall < 50*time.Millisecond {
		t.Fatalf("sequence = %+v", seq)
	}
	// A failure stops the sequence: the command after it never runs.
	marker := filepath.Join(t.TempDir(), "ran")
	_, err = Sequence([]*exec.Cmd{exec.Command("sh", "-c", "echo boom >&2; exit 3"), exec.Command("touch", marker)})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing command: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command after a failure ran")
	}
}
