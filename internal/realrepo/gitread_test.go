package realrepo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// catFile reads objects with one `git cat-file --batch` process, so
// tests can compare thousands of files with git without a fork each.
type catFile struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func newCatFile(t testing.TB, dir string) *catFile {
	t.Helper()
	cmd := exec.Command(gitBin(), "cat-file", "--batch")
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &catFile{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return c
}

// show is `git show REV:PATH` for a blob; ok is false when it is missing.
func (c *catFile) show(rev, p string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintf(c.in, "%s:%s\n", rev, p); err != nil {
		return nil, false, err
	}
	head, err := c.out.ReadString('\n')
	if err != nil {
		return nil, false, err
	}
	f := strings.Fields(head)
	if len(f) == 2 && f[1] == "missing" || len(f) < 3 {
		return nil, false, nil
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, false, fmt.Errorf("cat-file header %q", head)
	}
	data := make([]byte, n+1)
	if _, err := io.ReadFull(c.out, data); err != nil {
		return nil, false, err
	}
	if f[1] != "blob" {
		return nil, false, nil
	}
	return data[:n], true, nil
}

func gitBin() string {
	if _, err := os.Stat("/usr/bin/git"); err == nil {
		return "/usr/bin/git"
	}
	return "git"
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gitBin(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// lsTree lists the files under rev:dir, relative to dir, with their modes.
func lsTree(t testing.TB, repo, rev, dir string) map[string]string {
	t.Helper()
	out := git(t, repo, "ls-tree", "-r", "-z", rev+":"+dir)
	files := map[string]string{}
	for _, rec := range strings.Split(out, "\x00") {
		if rec == "" {
			continue
		}
		meta, name, _ := strings.Cut(rec, "\t")
		files[name] = strings.Fields(meta)[0]
	}
	return files
}
