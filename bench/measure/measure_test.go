package measure

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildFlag {
		ChildMain()
	}
	os.Exit(m.Run())
}

// TestWrapperRSS checks that a child's peak RSS is its own, not its big
// parent's: this test process holds 256 MiB, the child about 32 MiB.
func TestWrapperRSS(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ballast := bytes.Repeat([]byte("x"), 256<<20)
	defer func() { Wrapper = "" }()
	Wrapper = os.Args[0]
	cmd := exec.Command("sh", "-c", `x=$(head -c 33554432 /dev/zero | tr '\0' x); printf %s "${#x}"`)
	r, err := Exec(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stdout != "33554432" || r.MaxRSS < 32<<20 || r.MaxRSS > 200<<20 || r.Wall <= 0 || r.CPU <= 0 {
		t.Fatalf("run = %d bytes out, RSS %d, wall %v, CPU %v (parent holds %d)", len(r.Stdout), r.MaxRSS, r.Wall, r.CPU, len(ballast))
	}
	if _, err := Exec(exec.Command("sh", "-c", "echo boom >&2; exit 3")); err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("failing command through the wrapper: %v", err)
	}
	runtime.KeepAlive(ballast)
}

// TestCounter counts body bytes a real client receives over loopback,
// through http.FileServer's sendfile path, split into metadata and
// archives, and nothing for a 304.
func TestCounter(t *testing.T) {
	dir := t.TempDir()
	files := map[string]int{"index.json": 5000, "packs/a/1.0.0/a-1.0.0.tar.gz": 20000, "charts/a-1.0.0.tgz": 7000, "index.json.sig": 96}
	for name, size := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &Counter{Next: http.FileServer(http.Dir(dir))}
	srv := httptest.NewServer(c)
	defer srv.Close()
	var got int64
	for name := range files {
		resp, err := http.Get(srv.URL + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got += n
	}
	if got != 32096 {
		t.Fatalf("client read %d bytes", got)
	}
	if all, meta := c.Bytes(nil), c.Bytes(Metadata); all != got || meta != 5096 {
		t.Fatalf("counted %d bytes (%d metadata), want %d (5096)", all, meta, got)
	}
	if c.Requests() != 4 || strings.Join(c.Paths(), " ") != "/charts/a-1.0.0.tgz /index.json /index.json.sig /packs/a/1.0.0/a-1.0.0.tar.gz" {
		t.Fatalf("requests %d, paths %v", c.Requests(), c.Paths())
	}

	// A revalidation answered 304 sends no body.
	c.Reset()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/index.json", nil)
	req.Header.Set("If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || c.Bytes(nil) != 0 || c.Requests() != 1 {
		t.Fatalf("304: status %d, %d bytes, %d requests", resp.StatusCode, c.Bytes(nil), c.Requests())
	}
}

func TestExecAndBest(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	// The child touches 64 MiB: its peak RSS must show it, the parent's must not count.
	r, err := Exec(exec.Command("sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' x > /dev/null; printf ok"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Stdout != "ok" || r.Wall <= 0 || r.MaxRSS <= 0 {
		t.Fatalf("run = %+v", r)
	}
	big, err := Exec(exec.Command("sh", "-c", `x=$(head -c 33554432 /dev/zero | tr '\0' x); printf %s "${#x}"`))
	if err != nil {
		t.Fatal(err)
	}
	if big.MaxRSS < 32<<20 {
		t.Fatalf("a child holding 32 MiB reported a peak RSS of %d bytes", big.MaxRSS)
	}
	if _, err := Exec(exec.Command("sh", "-c", "echo boom >&2; exit 3")); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing command: %v", err)
	}

	walls := []time.Duration{30, 10, 20}
	preps := 0
	best, err := Best(3, func(int) error { preps++; return nil }, func(i int) (Run, error) { return Run{Wall: walls[i]}, nil })
	if err != nil || best.Wall != 10 || preps != 3 {
		t.Fatalf("best = %v (%v), %d preps", best.Wall, err, preps)
	}
	boom := errors.New("boom")
	if _, err := Best(3, nil, func(i int) (Run, error) { return Run{}, boom }); err != boom {
		t.Fatalf("error not passed on: %v", err)
	}
}

func TestTable(t *testing.T) {
	var tb Table
	tb.Add("fast", 0.2, Dur(200*time.Millisecond), AtMost(0.5, "0.5 s"))
	tb.Add("slow", 2, Dur(2*time.Second), AtMost(0.5, "0.5 s"))
	tb.Add("info", 1, Size(1536), Goal{})
	if tb.Failed() != 1 {
		t.Fatalf("failed = %d", tb.Failed())
	}
	var b strings.Builder
	tb.Markdown(&b)
	want := "| figure | measured | goal | |\n|---|---:|---|---|\n| fast | 200 ms | ≤ 0.5 s | pass |\n| slow | 2.00 s | ≤ 0.5 s | FAIL |\n| info | 1.5 KiB |  |  |\n"
	if b.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	for n, s := range map[int64]string{512: "512 B", 16 << 10: "16 KiB", 3 << 20: "3.0 MiB", 300 << 20: "300 MiB"} {
		if Size(n) != s {
			t.Errorf("Size(%d) = %s, want %s", n, Size(n), s)
		}
	}
}

func TestMedian(t *testing.T) {
	walls := []time.Duration{5, 1, 9, 3}
	r, err := Median(len(walls), nil, func(i int) (Run, error) { return Run{Wall: walls[i]}, nil })
	if err != nil || r.Wall != 3 {
		t.Fatalf("median of %v = %v, %v; want 3 (the lower middle)", walls, r.Wall, err)
	}
	r, err = Median(3, nil, func(i int) (Run, error) { return Run{Wall: walls[i]}, nil })
	if err != nil || r.Wall != 5 {
		t.Fatalf("median of %v = %v, %v; want 5", walls[:3], r.Wall, err)
	}
	if _, err := Median(3, func(int) error { return errors.New("prep") }, nil); err == nil {
		t.Fatal("prep error not returned")
	}
}

func TestParseAccess(t *testing.T) {
	lines := `time="2026-12-06T04:13:16Z" level=error msg="response completed with error" http.request.method=HEAD http.response.status=404
127.0.0.1 - - [06/Dec/2026:04:13:16 +0000] "HEAD /v2/b/spectro-packs/archive/a/blobs/sha256:98ea HTTP/1.1" 404 157 "" "oras/1.3.6"
127.0.0.1 - - [06/Dec/2026:04:13:16 +0000] "PUT /v2/b/spectro-packs/archive/a/manifests/1.0.0 HTTP/1.1" 201 0 "" "oras/1.3.6"
127.0.0.1 - - [06/Dec/2026:04:13:16 +0000] "GET /v2/b/spectro-packs/archive/a/manifests/1.0.0 HTTP/1.1" 200 530 "" "oras/1.3.6"
127.0.0.1 - - [06/Dec/2026:04:13:16 +0000] "GET /v2/ HTTP/1.1" 200 - "" "Go-http-client/1.1"
`
	want := []Access{
		{"HEAD", "/v2/b/spectro-packs/archive/a/blobs/sha256:98ea", 404, 157},
		{"PUT", "/v2/b/spectro-packs/archive/a/manifests/1.0.0", 201, 0},
		{"GET", "/v2/b/spectro-packs/archive/a/manifests/1.0.0", 200, 530},
		{"GET", "/v2/", 200, 0},
	}
	// The first line is not a request: passed over.
	var got []Access
	for _, line := range strings.Split(strings.TrimSuffix(lines, "\n"), "\n") {
		if a, ok := ParseAccess(line); ok {
			got = append(got, a)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("requests:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"", `x] "GET /v2/ HTTP/1.1"`, `x] "GET /v2/" 200 1`, `x] "GET /v2/ HTTP/1.1" two 1`} {
		if a, ok := ParseAccess(bad); ok {
			t.Errorf("ParseAccess(%q) = %+v, want not ok", bad, a)
		}
	}
}
