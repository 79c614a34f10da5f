package stale

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSweepSparesLiveWork: a directory held by a live process (another
// process: flock is per open file, so a child holding the lock is the
// real case) survives a sweep; once that process is killed with SIGKILL
// its directory is removed.
func TestSweepSparesLiveWork(t *testing.T) {
	if os.Getenv("STALE_CHILD") != "" {
		dir := os.Getenv("STALE_CHILD")
		if _, err := Hold(dir); err != nil {
			os.Exit(2)
		}
		os.WriteFile(os.Getenv("STALE_READY"), nil, 0o644)
		time.Sleep(time.Minute)
		return
	}
	parent := t.TempDir()
	live := filepath.Join(parent, ".packgen-build-live")
	dead := filepath.Join(parent, ".packgen-build-dead")
	other := filepath.Join(parent, "keep-me")
	for _, d := range []string{live, dead, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepSparesLiveWork$")
	ready := filepath.Join(t.TempDir(), "ready")
	cmd.Env = append(os.Environ(), "STALE_CHILD="+live, "STALE_READY="+ready)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if i > 200 {
			t.Fatal("child never took its lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := Sweep(parent, ".packgen-build-*")
	if len(got) != 1 || got[0] != dead {
		t.Fatalf("swept %v, want only %s", got, dead)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("live work removed: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("a directory of another name was removed")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got := Sweep(parent, ".packgen-build-*"); len(got) != 1 || got[0] != live {
		t.Fatalf("after SIGKILL swept %v, want %s", got, live)
	}
	if _, err := os.Stat(live + LockSuffix); !os.IsNotExist(err) {
		t.Error("lock file left behind")
	}
}

// SweepOlder, as the client uses it: old leftovers that nobody holds go
// (a file, a directory with or without its lock file); held ones stay
// however old, and fresh ones stay (made and not locked yet).
func TestSweepOlder(t *testing.T) {
	parent := t.TempDir()
	now := time.Now()
	old := now.Add(-time.Hour)
	path := func(n string) string { return filepath.Join(parent, n) }
	mk := func(n string, dir bool, mtime time.Time) {
		t.Helper()
		if dir {
			must(t, os.Mkdir(path(n), 0o755))
		} else {
			must(t, os.WriteFile(path(n), []byte("partial"), 0o644))
		}
		must(t, os.Chtimes(path(n), mtime, mtime))
	}
	mk(".download-dead", false, old)
	mk(".download-fresh", false, now)
	mk(".download-live", false, old)
	live, err := os.OpenFile(path(".download-live"), os.O_RDWR, 0)
	must(t, err)
	defer live.Close()
	if !HoldFile(live) {
		t.Fatal("HoldFile failed")
	}
	mk(".extract-dead", true, old)
	mk(".extract-fresh", true, now)
	mk(".extract-live", true, old)
	release, err := Hold(path(".extract-live"))
	must(t, err)
	defer release()
	must(t, os.WriteFile(path(".extract-killed.lock"), nil, 0o600)) // its owner was killed
	mk(".extract-killed", true, old)

	got := append(SweepOlder(parent, ".download-*", 10*time.Minute, now), SweepOlder(parent, ".extract-*", 10*time.Minute, now)...)
	want := map[string]bool{".download-dead": true, ".extract-dead": true, ".extract-killed": true}
	if len(got) != len(want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	for _, n := range []string{".download-dead", ".download-fresh", ".download-live", ".extract-dead", ".extract-fresh", ".extract-live", ".extract-killed", ".extract-killed.lock"} {
		_, err := os.Lstat(path(n))
		gone := want[n] || n == ".extract-killed.lock"
		if (err != nil) != gone {
			t.Errorf("%s: exists %v, want %v", n, err == nil, !gone)
		}
	}
}
