package site

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/serve"
)

// chromium finds the browser; tests skip without one, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	// Debian's chromium (.ci/run), else a Chrome as on GitHub's runners.
	for _, p := range []string{os.Getenv("PACKGEN_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: CI must run the catalogue's browser tests (apt-get install chromium)")
	}
	t.Skip("chromium not installed")
	return ""
}

// buildExamples builds a real registry from examples/packs plus the XSS
// fixture pack, through build.Run with the catalogue hook.
func buildExamples(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	repo, err := gitfixture.Init(filepath.Join(tmp, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	// The showcase pack's first version lands weeks before everything
	// else, so its pages must show two different publication dates.
	abs, _ := filepath.Abs("testdata/showcase-1.0.0")
	if err := repo.CopyDir(abs, "packs/showcase-1.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("showcase 1.0.0"); err != nil {
		t.Fatal(err)
	}
	repo.Now = repo.Now.AddDate(0, 0, 40)
	for src, dst := range map[string]string{"../examples/packs": "packs", "testdata/xss-1.0.0": "packs/xss-1.0.0", "testdata/showcase-1.1.0": "packs/showcase-1.1.0"} {
		abs, _ := filepath.Abs(src)
		if err := repo.CopyDir(abs, dst); err != nil {
			t.Fatal(err)
		}
	}
	// prometheus-operator gets a third, oldest version, a long pre-release
	// one: its page has a change view closed at first (57.0.3's), and a
	// versions table that must still fit a laptop's window.
	prom, err := os.ReadFile("../examples/packs/prometheus-operator-57.0.3/pack.json")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ = filepath.Abs("../examples/packs/prometheus-operator-57.0.3")
	if err := repo.CopyDir(abs, "packs/prometheus-operator-rc"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Write("packs/prometheus-operator-rc/pack.json", bytes.Replace(prom, []byte(`"57.0.3"`), []byte(`"`+longVersion+`"`), 1)); err != nil {
		t.Fatal(err)
	}
	// A logo as packs ship them: 1200 px square and over a megabyte.
	if err := repo.Write("packs/showcase-1.1.0/logo.png", bigLogo(t, 1200)); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("packs"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "site")
	// Signed, so the pages carry key IDs and transparency log entries.
	_, err = build.Run(context.Background(), build.Options{
		Repo: repo.Dir, PacksDir: "packs", Out: out, Registry: "examples",
		RepoURL: "git@github.com:example/packs.git", History: true,
		Signer: testutil.NewKey(t).Signer,
		Site: func(dir string, s *build.Snapshot) error {
			return Write(dir, s.Root, s.Shards)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// longVersion is prometheus-operator's oldest version in buildExamples.
const longVersion = "56.0.0-rc.1.build.20240101.sha.0123456789abcdef0123456789abcdef01234567"

// bigLogo is a px-square PNG with enough detail not to compress away: a
// blue ring on transparent, over a noisy pattern.
func bigLogo(t *testing.T, px int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, px, px))
	c := float64(px) / 2
	seed := uint32(1)
	for y := 0; y < px; y++ {
		for x := 0; x < px; x++ {
			seed = seed*1664525 + 1013904223
			dx, dy := float64(x)-c, float64(y)-c
			d := math.Sqrt(dx*dx + dy*dy)
			switch {
			case d < c*0.55:
				img.SetNRGBA(x, y, color.NRGBA{29, 78, 216, 255})
			case d < c*0.95:
				img.SetNRGBA(x, y, color.NRGBA{uint8(seed >> 24), uint8(160 + seed>>28), 80, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 1<<20 || buf.Len() > maxLogo {
		t.Fatalf("test logo is %d bytes", buf.Len())
	}
	return buf.Bytes()
}

// serveDir serves a site with the project's server on loopback.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: serve.Handler(dir), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/"
}

func artifacts(t *testing.T) string {
	if d := os.Getenv("PACKGEN_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser records what must never happen on a catalogue page.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func (b *browser) problem(format string, a ...any) {
	b.mu.Lock()
	b.problems = append(b.problems, fmt.Sprintf(format, a...))
	b.mu.Unlock()
}

func (b *browser) check(t *testing.T, where string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("%s: %s", where, p)
	}
	b.problems = nil
}

func newBrowser(t *testing.T) *browser {
	exe := chromium(t)
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// A guard against a hung browser, not a speed check: a loaded CI
	// machine takes a minute over TestBrowser's pages.
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	b := &browser{ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning || e.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problem("console.%s: %s", e.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.problem("uncaught exception: %s", e.ExceptionDetails.Error())
		case *log.EventEntryAdded:
			// Errors only: CSP violations and failed loads are errors; the
			// browser's own warnings vary between Chromium versions.
			if e.Entry.Level == log.LevelError {
				b.problem("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		case *network.EventLoadingFailed:
			if !e.Canceled {
				b.problem("request failed: %s %s %s", e.Type, e.ErrorText, e.BlockedReason)
			}
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				b.problem("HTTP %d for %s", e.Response.Status, e.Response.URL)
			}
		case *page.EventJavascriptDialogOpening:
			b.problem("a %s dialog opened: %q", e.Type, e.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false))
		}
	})
	if err := chromedp.Run(ctx, log.Enable(), network.Enable(), runtime.Enable()); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) run(t *testing.T, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) eval(t *testing.T, js string, out any) {
	t.Helper()
	b.run(t, chromedp.Evaluate(js, out))
}

// groups returns the visible pack names per group title.
func (b *browser) groups(t *testing.T) map[string][]string {
	t.Helper()
	var g map[string][]string
	b.eval(t, visibleJS, &g)
	return g
}

func (b *browser) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	var buf []byte
	b.run(t, chromedp.FullScreenshot(&buf, 100)) // quality 100 means PNG
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// elementShot saves a screenshot of one element, for the views that are
// hard to see in a full-page shot.
func (b *browser) elementShot(t *testing.T, dir, name, sel string) {
	t.Helper()
	var buf []byte
	b.run(t, chromedp.Screenshot(sel, &buf, chromedp.ByQuery))
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// a11yJS lists basic accessibility faults: images without alt, controls
// without a label, nameless links and buttons, not exactly one h1,
// skipped heading levels, no lang or main landmark.
const a11yJS = `(() => {
  const out = [];
  document.querySelectorAll("img:not([alt])").forEach(e => out.push("img without alt: " + e.src));
  document.querySelectorAll("input, select, textarea").forEach(e => { if (e.type !== "checkbox" && (!e.labels || !e.labels.length) && !e.getAttribute("aria-label")) out.push("unlabelled " + e.tagName + "#" + e.id); });
  document.querySelectorAll("a[href], button").forEach(e => { if (!e.textContent.trim() && !e.getAttribute("aria-label") && !e.querySelector("img[alt]:not([alt=''])")) out.push("nameless " + e.tagName + " " + (e.getAttribute("href") || "")); });
  if (document.querySelectorAll("h1").length !== 1) out.push(document.querySelectorAll("h1").length + " h1 elements");
  let last = 0;
  document.querySelectorAll("h1, h2, h3, h4, h5, h6").forEach(h => { const l = +h.tagName[1]; if (l > last + 1) out.push("heading jumps to " + h.tagName + ": " + h.textContent.slice(0, 40)); last = l; });
  if (!document.documentElement.lang) out.push("no lang");
  if (!document.querySelector("main")) out.push("no main");
  return out;
})()`

// visible lists the names of the pack cards shown, per group title.
const visibleJS = `(() => {
  const out = {};
  for (const s of document.querySelectorAll("section.group")) {
    if (s.hidden) continue;
    const title = s.querySelector("h2").firstChild.textContent.trim();
    out[title] = [...s.querySelectorAll("li.card")].filter(li => !li.hidden).map(li => li.id.slice(5));
  }
  return out;
})()`

// setValue sets a form control as a user would, firing its events.
func setValue(id, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q;
  e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, id, value), nil)
}

// waitFrames lets the page's requestAnimationFrame-scheduled filter run.
var waitFrames = chromedp.Evaluate(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil,
	func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })

func TestBrowser(t *testing.T) {
	chromium(t)
	dir := buildExamples(t)
	base := serveDir(t, dir)
	shots := artifacts(t)
	b := newBrowser(t)

	// Index: grouped by layer, in layer order.
	var groups map[string][]string
	b.run(t, chromedp.Navigate(base), chromedp.WaitVisible("#q", chromedp.ByQuery))
	groups = b.groups(t)
	want := map[string][]string{
		"Operating systems":      {"ubuntu"},
		"Kubernetes":             {"kubernetes"},
		"Networking (CNI)":       {"calico"},
		"Storage (CSI)":          {"csi-aws-ebs"},
		"Add-ons: monitoring":    {"grafana-dashboards", "prometheus-operator"},
		"Add-ons: security":      {"xss", "falco"},
		"Add-ons: ingress":       {"ingress-nginx"},
		"Add-ons: load balancer": {"lb-metallb"},
		"Add-ons: app services":  {"showcase"}, // 1.0.0 says app-services
	}
	for g, names := range want {
		got := strings.Join(groups[g], ",")
		for _, n := range names {
			if !strings.Contains(","+got+",", ","+n+",") {
				t.Errorf("group %q = [%s], want %s in it", g, got, n)
			}
		}
	}
	var order []string
	b.eval(t, `[...document.querySelectorAll("section.group h2")].map(h => h.firstChild.textContent.trim())`, &order)
	if len(order) < 5 || order[0] != "Operating systems" || order[1] != "Kubernetes" || order[2] != "Networking (CNI)" || order[3] != "Storage (CSI)" {
		t.Errorf("group order %q", order)
	}
	var logoOK bool
	b.eval(t, `(() => { const i = document.querySelector("#pack-lb-metallb img.logo"); return !!i && i.complete && i.naturalWidth > 0 && i.loading === "eager"; })()`, &logoOK)
	if !logoOK {
		t.Error("MetalLB's logo is not shown, or not loaded eagerly above the fold")
	}
	// Published logos are the scaled ones: 144 px, not the 1200 px original.
	var showcaseLogo int
	b.eval(t, `document.querySelector("#pack-showcase img.logo").naturalWidth`, &showcaseLogo)
	if showcaseLogo != 144 {
		t.Errorf("showcase logo is %d px wide on the index", showcaseLogo)
	}
	b.screenshot(t, shots, "catalogue-desktop.png")

	// Search narrows; layer and cloud filters work; count follows.
	var count string
	b.run(t, chromedp.SendKeys("#q", "prometheus", chromedp.ByQuery), waitFrames)
	groups = b.groups(t)
	b.eval(t, `document.getElementById("count").textContent`, &count)
	if len(groups) != 1 || strings.Join(groups["Add-ons: monitoring"], ",") != "prometheus-operator" || count != "1 of 11 packs" {
		t.Errorf("search prometheus: %v (%q)", groups, count)
	}
	// Every version is searched, not only the latest: "57.0" finds
	// prometheus-operator (latest 58.2.1), and its card says which did.
	var hit string
	cardJS := `document.getElementById("count").textContent + "|" + document.querySelector("#pack-prometheus-operator .sub").textContent`
	for _, c := range [][2]string{
		{"57.0", "1 of 11 packs|prometheus-operator · 58.2.1 +2 older · matches 57.0.3"},
		{"prom rc.1.build", "1 of 11 packs|prometheus-operator · 58.2.1 +2 older · matches " + longVersion},
		{"prometheus", "1 of 11 packs|prometheus-operator · 58.2.1 +2 older"}, // the note goes
	} {
		q, want := c[0], c[1]
		b.run(t, setValue("q", q), waitFrames)
		groups = b.groups(t)
		b.eval(t, cardJS, &hit)
		if len(groups) != 1 || strings.Join(groups["Add-ons: monitoring"], ",") != "prometheus-operator" || hit != want {
			t.Errorf("search %q: %v, %q; want prometheus-operator alone, %q", q, groups, hit, want)
		}
	}
	b.run(t, setValue("q", "zzz-nothing"), waitFrames)
	var emptyShown bool
	b.eval(t, `!document.getElementById("empty").hidden`, &emptyShown)
	if !emptyShown {
		t.Error("no-match message not shown")
	}
	b.run(t, setValue("q", ""), setValue("layer", "cni"), waitFrames)
	groups = b.groups(t)
	if len(groups) != 1 || strings.Join(groups["Networking (CNI)"], ",") != "calico" {
		t.Errorf("layer cni: %v", groups)
	}
	b.run(t, setValue("layer", ""), setValue("cloud", "aws"), waitFrames)
	var shown []string
	b.eval(t, `[...document.querySelectorAll("li.card")].filter(li => !li.hidden && !li.closest("section").hidden).map(li => li.id.slice(5)).sort()`, &shown)
	if s := strings.Join(shown, ","); !strings.Contains(s, "csi-aws-ebs") || !strings.Contains(s, "xss") || !strings.Contains(s, "kubernetes") || strings.Contains(s, "lb-metallb") {
		t.Errorf("cloud aws shows %s", s)
	}
	var hash string
	b.eval(t, `location.hash`, &hash)
	if hash != "#cloud=aws" {
		t.Errorf("filters not kept in the URL: %q", hash)
	}
	// A shared link opens filtered.
	b.run(t, chromedp.Navigate(base+"index.html#q=prom&layer=addon"), chromedp.Reload(), chromedp.WaitVisible("#q", chromedp.ByQuery), waitFrames)
	groups = b.groups(t)
	if len(groups) != 1 || strings.Join(groups["Add-ons: monitoring"], ",") != "prometheus-operator" {
		t.Errorf("#q=prom&layer=addon: %v", groups)
	}
	b.check(t, "index")

	// Keyboard: the skip link, the search box and pack links are reachable.
	b.run(t, chromedp.Navigate(base), chromedp.WaitVisible("#q", chromedp.ByQuery))
	var seen []string
	for i := 0; i < 12; i++ {
		var id string
		b.run(t, chromedp.KeyEvent(kb.Tab))
		b.eval(t, `(() => { const a = document.activeElement; return a.id || a.className || a.tagName; })()`, &id)
		seen = append(seen, id)
	}
	s := strings.Join(seen, " ")
	if seen[0] != "skip" || !strings.Contains(s, "q") || !strings.Contains(s, "layer") || !strings.Contains(s, "cloud") {
		t.Errorf("tab order: %v", seen)
	}
	var focusedCard bool
	b.eval(t, `!!document.activeElement.closest("li.card")`, &focusedCard)
	if !focusedCard {
		t.Errorf("12 tabs never reached a pack: %v", seen)
	}

	// A pack page: every version, the fetch snippet, a linked dependency.
	b.run(t, chromedp.Navigate(base+"packs/prometheus-operator/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	var versions []string
	var fetch, dep, commit string
	b.eval(t, `[...document.querySelectorAll("table.versions tbody th .ver")].map(e => e.textContent)`, &versions)
	b.eval(t, `document.getElementById("fetch-cmd").textContent`, &fetch)
	b.eval(t, `document.querySelector(".deps a").getAttribute("href")`, &dep)
	b.eval(t, `document.querySelector("table.versions tbody a.mono").href`, &commit)
	if strings.Join(versions, ",") != "58.2.1,57.0.3,"+longVersion || fetch != "packgen fetch prometheus-operator@58.2.1" || dep != "../kubernetes/index.html" {
		t.Errorf("pack page: versions %v, fetch %q, dep %q", versions, fetch, dep)
	}
	if !strings.HasPrefix(commit, "https://github.com/example/packs/commit/") {
		t.Errorf("commit link %q", commit)
	}
	// Copy: with clipboard permission the command lands on the clipboard.
	var copied, clip string
	b.run(t, cdpbrowser.GrantPermissions([]cdpbrowser.PermissionType{cdpbrowser.PermissionTypeClipboardReadWrite, cdpbrowser.PermissionTypeClipboardSanitizedWrite}).WithOrigin(strings.TrimSuffix(base, "/")),
		chromedp.Click("button.copy", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("button.copy").textContent !== "Copy"`, nil, chromedp.WithPollingTimeout(3*time.Second)))
	b.eval(t, `document.querySelector("button.copy").textContent`, &copied)
	b.run(t, chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if copied != "Copied" || clip != fetch {
		t.Errorf("copy button says %q, clipboard holds %q", copied, clip)
	}
	b.changeLinks(t, base)
	b.run(t, chromedp.Navigate(base+"packs/kubernetes/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	b.screenshot(t, shots, "pack-desktop.png")
	for _, p := range []string{"", "packs/prometheus-operator/index.html", "packs/falco/index.html", "packs/xss/index.html", "packs/showcase/index.html"} {
		var faults []string
		b.run(t, chromedp.Navigate(base+p), chromedp.WaitReady("footer", chromedp.ByQuery))
		b.eval(t, a11yJS, &faults)
		for _, f := range faults {
			t.Errorf("%s: %s", p, f)
		}
	}
	b.check(t, "pack page")

	b.showcase(t, base, shots)

	// Contrast: every text on every page, in both themes (dark below).
	for _, p := range []string{"", "packs/showcase/index.html", "packs/prometheus-operator/index.html"} {
		b.contrast(t, base+p)
	}

	// XSS fixture: nothing runs, the text is shown escaped.
	for _, p := range []string{"", "packs/xss/index.html"} {
		b.run(t, chromedp.Navigate(base+p), chromedp.WaitReady("footer", chromedp.ByQuery), chromedp.Sleep(150*time.Millisecond))
		var xss any
		var scripts []string
		b.eval(t, `window.__xss === undefined ? null : String(window.__xss)`, &xss)
		// Data blocks (type application/json) are never run.
		b.eval(t, `[...document.scripts].filter(s => s.type !== "application/json").map(s => s.getAttribute("src") || "INLINE")`, &scripts)
		if xss != nil {
			t.Errorf("%s: the XSS fixture ran (%v)", p, xss)
		}
		for _, s := range scripts {
			if s != "assets/app.js" && s != "assets/catalog.js" && s != "../../assets/app.js" {
				t.Errorf("%s: unexpected script %q", p, s)
			}
		}
	}
	var h1 string
	var badLinks int
	b.eval(t, `document.querySelector("h1").textContent`, &h1)
	b.eval(t, `[...document.querySelectorAll("a[href]")].filter(a => !/^(https?:|mailto:|#|\.\.?\/|[a-z0-9.]+(\/|$))/i.test(a.getAttribute("href")) || /^javascript:/i.test(a.href)).length`, &badLinks)
	if !strings.Contains(h1, "<script>") || badLinks != 0 {
		t.Errorf("xss page: h1 %q, %d unsafe links", h1, badLinks)
	}
	b.check(t, "xss pages")

	// A laptop's 1366 px: the versions table fits, long versions, digests
	// and every column, without scrolling the page or the table itself;
	// a digest cut short keeps the whole in its title.
	b.run(t, chromedp.EmulateViewport(1366, 768))
	for _, p := range []string{"packs/prometheus-operator/index.html", "packs/showcase/index.html"} {
		var fit struct {
			Page   int      `json:"page"`
			Inner  int      `json:"inner"`
			Table  int      `json:"table"`
			Cols   []int    `json:"cols"`
			Titles []string `json:"titles"`
		}
		b.run(t, chromedp.Navigate(base+p), chromedp.WaitReady("footer", chromedp.ByQuery))
		b.eval(t, `(() => { const s = document.querySelector("table.versions").closest(".table-scroll");
  return {page: document.documentElement.scrollWidth, inner: innerWidth, table: s.scrollWidth - s.clientWidth,
    cols: [...document.querySelectorAll("table.versions thead th")].map(th => Math.round(th.getBoundingClientRect().width)),
    titles: [...document.querySelectorAll("table.versions code.digest")].filter(c => c.scrollWidth > c.clientWidth && c.title !== c.textContent).map(c => c.textContent)}; })()`, &fit)
		if fit.Page > fit.Inner || fit.Table > 0 || len(fit.Titles) > 0 {
			t.Errorf("%s at 1366px: page %d px wide in %d, versions table %d px over (columns %v), digests cut without a title %v", p, fit.Page, fit.Inner, fit.Table, fit.Cols, fit.Titles)
		}
		if p == "packs/prometheus-operator/index.html" {
			b.elementShot(t, shots, "versions-1366.png", "section[aria-labelledby=versions-h]")
		}
	}

	// Phone width: no horizontal scrolling, on the index and on the widest pages.
	b.run(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	for _, p := range []string{"", "packs/xss/index.html", "packs/prometheus-operator/index.html", "packs/ingress-nginx/index.html", "packs/showcase/index.html"} {
		var over int
		b.run(t, chromedp.Navigate(base+p), chromedp.WaitReady("footer", chromedp.ByQuery))
		b.eval(t, `document.documentElement.scrollWidth - document.documentElement.clientWidth`, &over)
		if over > 0 {
			t.Errorf("%s: %dpx of horizontal scroll at 390px", p, over)
		}
		if p == "" {
			b.screenshot(t, shots, "catalogue-phone.png")
		}
		if p == "packs/prometheus-operator/index.html" {
			b.screenshot(t, shots, "pack-phone.png")
		}
		if p == "packs/showcase/index.html" {
			b.screenshot(t, shots, "showcase-phone.png")
		}
	}
	b.check(t, "phone")

	// Dark mode follows the system.
	b.run(t, chromedp.EmulateViewport(1280, 900), emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
		chromedp.Navigate(base), chromedp.WaitVisible("#q", chromedp.ByQuery))
	var bg string
	b.eval(t, `getComputedStyle(document.body).backgroundColor`, &bg)
	if bg != "rgb(15, 18, 22)" {
		t.Errorf("dark mode background %q", bg)
	}
	b.screenshot(t, shots, "catalogue-dark.png")
	b.run(t, chromedp.Navigate(base+"packs/falco/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	b.screenshot(t, shots, "pack-dark.png")
	for _, p := range []string{"", "packs/showcase/index.html", "packs/falco/index.html"} {
		b.contrast(t, base+p)
	}
	b.run(t, chromedp.Navigate(base+"packs/showcase/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	b.screenshot(t, shots, "showcase-dark.png")
	b.run(t, emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}))
	b.check(t, "dark mode")

	// The same catalogue straight from disk: scripts, styles and search work.
	b.run(t, chromedp.Navigate("file://"+filepath.ToSlash(dir)+"/index.html"), chromedp.WaitVisible("#q", chromedp.ByQuery),
		chromedp.SendKeys("#q", "calico", chromedp.ByQuery), waitFrames)
	groups = b.groups(t)
	var styled string
	b.eval(t, `getComputedStyle(document.querySelector(".filters")).borderRadius`, &styled)
	if len(groups) != 1 || strings.Join(groups["Networking (CNI)"], ",") != "calico" || styled != "12px" {
		t.Errorf("file://: groups %v, style %q", groups, styled)
	}
	b.run(t, chromedp.Navigate("file://"+filepath.ToSlash(dir)+"/packs/lb-metallb/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	b.eval(t, `(() => { const i = document.querySelector("img.logo"); return !!i && i.complete && i.naturalWidth > 0; })()`, &logoOK)
	if !logoOK {
		t.Error("file://: MetalLB's logo is not shown")
	}
	b.check(t, "file://")
	t.Logf("screenshots in %s", shots)
}

// changeLinks follows the link of prometheus-operator's feed entry for
// 57.0.3 to that version's "What changed" view, closed at first (the
// newest view is the open one): the page opens it on load, and on a
// fragment change (the versions table's link); without JavaScript the
// link lands on the view's summary, which opens with a click.
func (b *browser) changeLinks(t *testing.T, base string) {
	t.Helper()
	feedURL, _ := url.Parse(base + "packs/prometheus-operator/feed.xml")
	resp, err := http.Get(feedURL.String())
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var f atomFeed
	if err == nil {
		err = xml.Unmarshal(body, &f)
	}
	if err != nil {
		t.Fatalf("%s: %v", feedURL, err)
	}
	var link *url.URL
	for _, e := range f.Entries {
		if strings.HasSuffix(e.Title, " 57.0.3") && len(e.Links) == 1 {
			link, err = feedURL.Parse(e.Links[0].Href)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.Summary.Body, "What changed since "+longVersion) {
				t.Errorf("57.0.3's entry: %q", e.Summary.Body)
			}
		}
	}
	if link == nil || link.Fragment != "changes-57.0.3" {
		t.Fatalf("feed entry of 57.0.3 links to %v", link)
	}
	type view struct {
		Open   bool    `json:"open"`
		Newest bool    `json:"newest"`
		Top    float64 `json:"top"`
		Height float64 `json:"height"`
	}
	const viewJS = `(() => { const d = document.getElementById("changes-57.0.3");
  return {open: d.open, newest: document.getElementById("changes-58.2.1").open, top: d.querySelector("summary").getBoundingClientRect().top, height: innerHeight}; })()`
	inView := func(v view) bool { return v.Top >= -1 && v.Top < v.Height/2 }
	var v view
	b.run(t, chromedp.Navigate(link.String()), chromedp.WaitReady("footer", chromedp.ByQuery), waitFrames)
	b.eval(t, viewJS, &v)
	if !v.Open || !v.Newest || !inView(v) {
		t.Errorf("the feed's link %s: %+v, want 57.0.3's view open and at the top", link, v)
	}
	b.run(t, chromedp.Evaluate(`document.getElementById("changes-57.0.3").open = false; location.hash = "#versions-h"; true`, nil),
		chromedp.Click(`table.versions a[href="#changes-57.0.3"]`, chromedp.ByQuery), waitFrames)
	b.eval(t, viewJS, &v)
	if !v.Open || !inView(v) {
		t.Errorf("the versions table's link: %+v, want 57.0.3's view open and at the top", v)
	}
	b.check(t, "change links")
	// Without JavaScript: app.js blocked (the page's only script).
	// (from another page, not a fragment change of this one, uncached).
	b.run(t, network.SetBlockedURLs([]string{"*/assets/app.js"}), network.SetCacheDisabled(true),
		chromedp.Navigate(base+"packs/falco/index.html"), chromedp.Navigate(link.String()), chromedp.WaitReady("footer", chromedp.ByQuery))
	v = view{}
	b.eval(t, viewJS, &v)
	if !v.Open { // a browser may open the target itself
		b.run(t, chromedp.Click(`details[id="changes-57.0.3"] > summary`, chromedp.ByQuery))
	}
	var text string
	var scripted bool
	b.eval(t, `(() => { const d = document.getElementById("changes-57.0.3"); return d.open ? d.innerText : ""; })()`, &text)
	b.eval(t, `document.getElementById("from").options.length > 0`, &scripted)
	b.run(t, network.SetBlockedURLs(nil), network.SetCacheDisabled(false))
	if !inView(v) || scripted || !strings.Contains(text, "pack.json") {
		t.Errorf("without JavaScript: %+v (script ran: %v), want 57.0.3's summary at the top, opening to its changes: %q", v, scripted, text)
	}
	b.forget("request failed: Script  " + string(network.BlockedReasonInspector))
}

// forget drops the problems that mention s: what a test caused on purpose.
func (b *browser) forget(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = slices.DeleteFunc(b.problems, func(p string) bool { return strings.Contains(p, s) })
}

// showcase checks the views of the showcase fixture's page: admonitions,
// presets, schema, constraints, snippets, trust, dates, the scaled logo.
func (b *browser) showcase(t *testing.T, base, shots string) {
	t.Helper()
	b.run(t, chromedp.Navigate(base+"packs/showcase/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	var res struct {
		Asides   []string `json:"asides"`
		Colours  int      `json:"colours"`
		Raw      bool     `json:"raw"`
		Presets  []string `json:"presets"`
		Groups   []string `json:"groups"`
		Schema   []string `json:"schema"`
		Required int      `json:"required"`
		Res      []string `json:"res"`
		Deps     []string `json:"deps"`
		Snips    []string `json:"snips"`
		Dates    []string `json:"dates"`
		Dep      []string `json:"dep"`
		Logo     []int    `json:"logo"`
		Eager    string   `json:"eager"`
		YAMLOver int      `json:"yamlOver"`
		Trust    string   `json:"trust"`
		Changes  []string `json:"changes"`
		ImgNote  string   `json:"imgNote"`
		DiffAdd  int      `json:"diffAdd"`
		DiffDel  int      `json:"diffDel"`
		Open     bool     `json:"open"`
		Logs     []string `json:"logs"`
		Ckpt     string   `json:"ckpt"`
		Key      string   `json:"key"`
		Images   []string `json:"images"`
		ImgWarn  []string `json:"imgWarn"`
		ImgSum   string   `json:"imgSum"`
	}
	b.eval(t, `(() => {
  const all = (q, f) => [...document.querySelectorAll(q)].map(f || (e => e.textContent.trim()));
  const asides = [...document.querySelectorAll(".readme aside.admonition")];
  const img = document.querySelector(".hero img.logo");
  const y = document.querySelector("section[aria-labelledby=values-h] pre.yaml");
  return {
    asides: asides.map(a => a.className.split(" ")[1] + ":" + a.querySelector(".admonition-title").textContent),
    colours: new Set(asides.map(a => getComputedStyle(a).borderLeftColor)).size,
    raw: document.querySelector(".readme").textContent.includes(":::"),
    presets: all(".preset .preset-name strong"),
    groups: all(".preset-group h3"),
    schema: all("table.schema tbody th code"),
    required: document.querySelectorAll("table.schema .tag.ok").length,
    res: all("table.resources tbody tr", tr => [...tr.children].map(c => c.textContent.trim()).join("|")),
    deps: all("table.deps tbody th", th => th.querySelector("a") ? "link:" + th.querySelector("a").getAttribute("href") : "external:" + th.textContent.trim()),
    snips: all(".snippet code", c => c.id),
    dates: all("table.versions tbody tr", tr => tr.querySelector(".ver").textContent + "@" + tr.children[1].textContent),
    dep: all("table.versions .tag.warn"),
    logo: img ? [img.naturalWidth, img.naturalHeight] : [],
    eager: img ? img.getAttribute("loading") : "",
    yamlOver: y.scrollWidth - y.clientWidth,
    trust: document.querySelector(".trust").textContent,
    changes: all("details.change .change-items li", li => li.textContent.replace(/\s+/g, " ").trim()),
    imgNote: (document.querySelector("details.change .images-note") || {textContent: ""}).textContent.replace(/\s+/g, " "),
    diffAdd: document.querySelectorAll("details.change pre.diff .da").length,
    diffDel: document.querySelectorAll("details.change pre.diff .dd").length,
    open: document.querySelector("details.change").open,
    logs: all("table.versions tbody tr", tr => tr.querySelector(".ver").textContent + " " + tr.children[4].querySelector(".small").textContent),
    ckpt: document.querySelector(".trust a[href$='log/checkpoint']").href,
    key: document.querySelector(".trust code.key").title,
    images: all("table.images tbody tr", tr => [...tr.children].slice(0, 3).map(c => c.textContent.trim()).join("|")),
    imgWarn: all("#images-warnings li"),
    imgSum: document.getElementById("images-summary").textContent.replace(/\s+/g, " ").trim(),
  };
})()`, &res)
	if strings.Join(res.Asides, ",") != "tip:Tip,warning:Upgrading from 1.0,info:Info,danger:Danger,note:Note" || res.Colours != 5 || res.Raw {
		t.Errorf("admonitions %v, %d colours, raw fences shown %v", res.Asides, res.Colours, res.Raw)
	}
	if strings.Join(res.Groups, ",") != "Size,Metrics" || strings.Join(res.Presets, ",") != "Small,Large,Disable metrics" {
		t.Errorf("presets %v in groups %v", res.Presets, res.Groups)
	}
	if len(res.Schema) != 5 || res.Schema[0] != "manifests.showcase.image" || res.Required != 3 {
		t.Errorf("schema rows %v, %d required", res.Schema, res.Required)
	}
	if strings.Join(res.Res, ";") != "CPU|2 cores (2000 m)|the minimum;Memory|4 GiB (4096 MiB)|the minimum;Disk|20 GB|on worker nodes, request at manifests.showcase.resources.requests.storage, × replicas at manifests.showcase.replicas" {
		t.Errorf("resources %q", res.Res)
	}
	if strings.Join(res.Deps, ",") != "link:../kubernetes/index.html,external:cert-manager external" {
		t.Errorf("dependencies %q", res.Deps)
	}
	if strings.Join(res.Snips, ",") != "fetch-cmd,profile-yaml,terraform-hcl" {
		t.Errorf("snippets %v", res.Snips)
	}
	if strings.Join(res.Dates, ",") != "1.1.0@2024-02-11,1.0.0@2024-01-02" || strings.Join(res.Dep, ",") != "deprecated" {
		t.Errorf("versions %v, badges %v", res.Dates, res.Dep)
	}
	if len(res.Logo) != 2 || res.Logo[0] != 144 || res.Logo[1] != 144 || res.Eager != "eager" {
		t.Errorf("hero logo %v, loading %q", res.Logo, res.Eager)
	}
	if res.YAMLOver > 0 {
		t.Errorf("values.yaml scrolls %dpx sideways", res.YAMLOver)
	}
	// Trust: signed by the registry's key (its ID), the digest, and the
	// release's entry in the transparency log, whose checkpoint is served.
	keyRE := regexp.MustCompile(`^[0-9a-f]{64}$`)
	logRE := regexp.MustCompile(`^(1\.1\.0|1\.0\.0) key ([0-9a-f]{16}) · log #([0-9]+)$`)
	idx := map[string]bool{}
	for _, l := range res.Logs {
		m := logRE.FindStringSubmatch(l)
		if m == nil || !strings.HasPrefix(res.Key, m[2]) {
			t.Errorf("versions row %q: want the key ID %.16s and a log index", l, res.Key)
			continue
		}
		idx[m[3]] = true
	}
	if !keyRE.MatchString(res.Key) || len(res.Logs) != 2 || len(idx) != 2 {
		t.Errorf("key %q, log entries %v", res.Key, res.Logs)
	}
	for _, want := range []string{"signed", "signed by the registry's key", "SHA-256", "logged", "Entry #", "published with key " + res.Key[:min(16, len(res.Key))], "packgen log show showcase --registry examples"} {
		if !strings.Contains(res.Trust, want) {
			t.Errorf("trust lacks %q: %q", want, res.Trust)
		}
	}
	if resp, err := http.Get(res.Ckpt); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("checkpoint link %s: %v %v", res.Ckpt, resp, err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "\n\n— ") { // a signed note
			t.Errorf("checkpoint link %s serves %q", res.Ckpt, body)
		}
	}
	// Images: declared against deployed, with both warnings shown.
	wantImages := "registry.example.com/showcase-agent:0.9.0 unused|declared|no;" +
		"registry.example.com/showcase-exporter:0.4.0 not declared|no|deployed;" +
		"registry.example.com/showcase:1.1.0|declared|deployed"
	if strings.Join(res.Images, ";") != wantImages {
		t.Errorf("images %q", res.Images)
	}
	if len(res.ImgWarn) != 2 || !strings.Contains(res.ImgWarn[0], "showcase-exporter:0.4.0 is deployed") || !strings.Contains(res.ImgWarn[1], "values.yaml:6: warning: image registry.example.com/showcase-agent:0.9.0 is declared") {
		t.Errorf("image warnings %q", res.ImgWarn)
	}
	if res.ImgSum != "2 declared in values.yaml pack.content.images (what the platform's air-gap tooling mirrors) · 2 deployed by the pack's manifests and charts, rendered as the platform renders them · 1 not declared · 1 unused" {
		t.Errorf("images summary %q", res.ImgSum)
	}
	indexChanges := "Manifests + manifests/metrics.yaml − manifests/legacy.yaml|" +
		"Dependencies + cert-manager (optional >= 1.14.0) kubernetes: required >= 1.25.0 → required >= 1.27.0, <= 1.31.0|" +
		"Resource constraints — → CPU 2 cores (2000 m), Memory 4 GiB (4096 MiB), Disk 20 GB (on worker nodes, request at manifests.showcase.resources.requests.storage, × replicas at manifests.showcase.replicas)|"
	wantChanges := indexChanges +
		"Files + README.md (23 lines) + logo.png (larger than 1 MiB) + manifests/metrics.yaml (4 lines) + presets.yaml (26 lines) + schema.yaml (10 lines) − manifests/legacy.yaml (4 lines) values.yaml: +12 −2 lines manifests/showcase.yaml: +20 −0 lines pack.json: +13 −6 lines|" +
		"Images + registry.example.com/showcase-agent:0.9.0 + registry.example.com/showcase-exporter:0.4.0 + registry.example.com/showcase:1.1.0 − registry.example.com/showcase:1.0.0"
	// The diffs of values.yaml (+12 −2), manifests/showcase.yaml and pack.json.
	if strings.Join(res.Changes, "|") != wantChanges || res.DiffAdd != 45 || res.DiffDel != 8 || !res.Open {
		t.Errorf("changes %q, values +%d −%d, open %v", res.Changes, res.DiffAdd, res.DiffDel, res.Open)
	}
	if want := "Images are compared by the names image: gives in values.yaml and the manifests; images that charts or templated manifests render are not compared here: the Images section lists those of the latest version."; res.ImgNote != want {
		t.Errorf("images note %q, want %q", res.ImgNote, want)
	}
	// Copy the profile snippet.
	var clip string
	b.run(t, chromedp.Click(`button[data-copy="profile-yaml"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('button[data-copy="profile-yaml"]').textContent === "Copied"`, nil, chromedp.WithPollingTimeout(3*time.Second)),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if clip != "  - pack: showcase\n    version: \"1.1.0\"\n    registry: examples\n" {
		t.Errorf("profile snippet copied as %q", clip)
	}
	// Compare any two versions, client-side, from a shared URL.
	var closed bool
	b.eval(t, `!document.getElementById("compare").open`, &closed)
	b.run(t, chromedp.Click(`#changes-h a[href="#compare"]`, chromedp.ByQuery), chromedp.WaitVisible("#compare-items li", chromedp.ByQuery))
	var cmp struct {
		Items  []string `json:"items"`
		Add    int      `json:"add"`
		Del    int      `json:"del"`
		From   string   `json:"from"`
		Status string   `json:"status"`
		Faults []string `json:"faults"`
	}
	cmpJS := `(() => ({
  items: [...document.querySelectorAll("#compare-items li")].map(li => li.textContent.replace(/\s+/g, " ").trim()),
  add: document.querySelectorAll("#compare-values .da").length,
  del: document.querySelectorAll("#compare-values .dd").length,
  from: document.getElementById("from").value,
  status: document.getElementById("compare-status").textContent,
  faults: ` + a11yJS + `,
}))()`
	b.eval(t, cmpJS, &cmp)
	// The compare view has what the index records and the images named.
	wantCompare := indexChanges + "Images + registry.example.com/showcase-agent:0.9.0 + registry.example.com/showcase-exporter:0.4.0 + registry.example.com/showcase:1.1.0 − registry.example.com/showcase:1.0.0"
	if !closed || strings.Join(cmp.Items, "|") != wantCompare || cmp.Add != 12 || cmp.Del != 2 || cmp.From != "1.0.0" || cmp.Status != "From 1.0.0 to 1.1.0" || len(cmp.Faults) > 0 {
		t.Errorf("compare (closed at first: %v): %+v", closed, cmp)
	}
	b.elementShot(t, shots, "showcase-compare.png", "#compare")
	// Swapping the versions reverses the diff and puts the choice in the
	// URL; that URL opens the comparison as it was.
	var search string
	b.run(t, setValue("from", "1.1.0"), setValue("to", "1.0.0"))
	b.eval(t, `location.search + location.hash + " " + document.querySelectorAll("#compare-values .da").length + " " + document.querySelectorAll("#compare-values .dd").length`, &search)
	if search != "?from=1.1.0&to=1.0.0#compare 2 12" {
		t.Errorf("swapped: %q", search)
	}
	b.run(t, chromedp.Navigate(base+"packs/showcase/index.html?from=1.1.0&to=1.0.0"), chromedp.WaitVisible("#compare-items li", chromedp.ByQuery))
	b.eval(t, cmpJS, &cmp)
	if cmp.Status != "From 1.1.0 to 1.0.0" || cmp.Add != 2 {
		t.Errorf("shared compare URL: %+v", cmp)
	}
	b.contrast(t, base+"packs/prometheus-operator/index.html?from=57.0.3&to=58.2.1")
	b.run(t, chromedp.Navigate(base+"packs/showcase/index.html"), chromedp.WaitVisible("#fetch-cmd", chromedp.ByQuery))
	b.screenshot(t, shots, "showcase-desktop.png")
	b.elementShot(t, shots, "showcase-changes.png", "section[aria-labelledby=changes-h]")
	b.elementShot(t, shots, "showcase-readme.png", "section[aria-labelledby=readme-h]")
	b.elementShot(t, shots, "showcase-images.png", "section[aria-labelledby=images-h]")
	b.elementShot(t, shots, "showcase-trust.png", "section[aria-labelledby=trust-h]")
	// Keyboard: Tab from the control before each reaches the checkpoint
	// link and the scrollable images table (the page's tab order, checked
	// locally: a walk through every control costs the session's deadline).
	for _, target := range []string{`.trust a[href$='log/checkpoint']`, `section[aria-labelledby=images-h] .table-scroll`} {
		var ok bool
		b.eval(t, `(() => {
  const target = document.querySelector(`+"`"+target+"`"+`);
  const all = [...document.querySelectorAll("a[href], button, select, input, [tabindex='0'], summary")];
  const before = all.filter(e => e.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING && e !== target && !target.contains(e) && e.getClientRects().length);
  before[before.length - 1].focus();
  return document.activeElement === before[before.length - 1];
})()`, &ok)
		var at bool
		b.run(t, chromedp.KeyEvent(kb.Tab))
		b.eval(t, `document.activeElement === document.querySelector(`+"`"+target+"`"+`)`, &at)
		if !ok || !at {
			t.Errorf("Tab does not reach %s (focused the control before it: %v)", target, ok)
		}
	}
	b.check(t, "showcase")
}

// contrastJS lists text whose colour against its background is below
// WCAG AA (4.5:1, or 3:1 for large text). Backgrounds with alpha are
// blended over their ancestors'.
const contrastJS = `(() => {
  const parse = s => {
    let m = s.match(/rgba?\(([^)]+)\)/);
    if (m) { const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = s.match(/color\(srgb ([^)]+)\)/);
    if (m) { const p = m[1].split(/[ \/]+/).filter(Boolean).map(Number); return [p[0]*255, p[1]*255, p[2]*255, p.length > 3 ? p[3] : 1]; }
    return null;
  };
  const over = (top, under) => { const a = top[3]; return [0,1,2].map(i => top[i]*a + under[i]*(1-a)).concat([1]); };
  const bg = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let c = [255, 255, 255, 1];
    if (layers.length && layers[layers.length-1][3] >= 1) c = layers.pop();
    while (layers.length) c = over(layers.pop(), c);
    return c;
  };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v/12.92 : Math.pow((v+0.055)/1.055, 2.4); }; return 0.2126*f(c[0]) + 0.7152*f(c[1]) + 0.0722*f(c[2]); };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    if (!r.width || !r.height || st.visibility === "hidden" || el.closest("[hidden]") || el.classList.contains("skip")) continue;
    let fg = parse(st.color); const b = bg(el);
    if (!fg) continue;
    if (fg[3] < 1) fg = over(fg, b);
    const l1 = lum(fg), l2 = lum(b), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = +st.fontWeight >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push(el.tagName.toLowerCase() + "." + el.className + " " + JSON.stringify(el.textContent.trim().slice(0, 30)) + ": " + ratio.toFixed(2));
  }
  return [...new Set(out)].slice(0, 20);
})()`

func (b *browser) contrast(t *testing.T, url string) {
	t.Helper()
	var low []string
	b.run(t, chromedp.Navigate(url), chromedp.WaitReady("footer", chromedp.ByQuery))
	b.eval(t, contrastJS, &low)
	for _, l := range low {
		t.Errorf("%s: low contrast: %s", url, l)
	}
}

// TestBrowserScale types into the search of a 5,000-pack catalogue. The
// bound is loose on purpose (shared CI machines): it catches a filter that
// went quadratic or re-renders the page, not a few milliseconds.
func TestBrowserScale(t *testing.T) {
	chromium(t)
	dir := t.TempDir()
	writeIndexOnly(t, dir, 5000)
	base := serveDir(t, dir)
	b := newBrowser(t)
	b.run(t, chromedp.Navigate(base), chromedp.WaitVisible("#q", chromedp.ByQuery))
	var res struct {
		MS    float64 `json:"ms"`
		Count string  `json:"count"`
		Shown int     `json:"shown"`
	}
	js := `(async () => {
  const q = document.getElementById("q");
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const t0 = performance.now();
  for (const s of ["p", "pa", "pac", "pack", "pack-0", "pack-04", "pack-049", "pack-0499"]) {
    q.value = s;
    q.dispatchEvent(new Event("input"));
    await frame(); await frame();
  }
  const ms = (performance.now() - t0) / 8;
  const shown = [...document.querySelectorAll("li.card")].filter(li => !li.hidden).length;
  return {ms, count: document.getElementById("count").textContent, shown};
})()`
	b.run(t, chromedp.Evaluate(js, &res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	t.Logf("5,000 packs: %.1f ms per keystroke (two frames included), %s", res.MS, res.Count)
	if res.Shown != 10 || res.Count != "10 of 5000 packs" {
		t.Errorf("search pack-0499 shows %d (%q)", res.Shown, res.Count)
	}
	if res.MS > 2000 {
		t.Errorf("typing takes %.0f ms per keystroke with 5,000 packs", res.MS)
	}
	var buf []byte
	b.run(t, chromedp.CaptureScreenshot(&buf))
	if err := os.WriteFile(filepath.Join(artifacts(t), "catalogue-5000-search.png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	b.check(t, "5,000 packs")
}
