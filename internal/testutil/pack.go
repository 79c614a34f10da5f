package testutil

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/pack"
)

// PackJSON is a valid pack.json for name@version in layer (an addon is
// a monitoring one), with extra appended to its fields (",\n  \"k\": v").
func PackJSON(name, version, layer string, extra string) []byte {
	addon := ""
	if layer == "addon" {
		addon = `"addonType": "monitoring",`
	}
	return []byte(fmt.Sprintf(`{
  "name": %q,
  "version": %q,
  "layer": %q,
  %s
  "displayName": "Pack %s",
  "cloudTypes": ["all"]%s
}
`, name, version, layer, addon, name, extra))
}

// WritePack writes a pack (pack.json and values.yaml, values appended to
// its namespace) at dir in r's work tree, uncommitted.
func WritePack(t testing.TB, r *gitfixture.Repo, dir, name, version, layer, values string) {
	t.Helper()
	Must(t, r.Write(dir+"/pack.json", PackJSON(name, version, layer, "")))
	Must(t, r.Write(dir+"/values.yaml", []byte("pack:\n  namespace: "+name+"\n"+values)))
}

// WriteRetiredPack writes a cni pack name@version at packs/NAME-VERSION
// in r's work tree, uncommitted, marked as Palette's repositories mark
// a release its vendor retired: annotations.system_state is state
// (deprecated, deleted; no annotations for "").
func WriteRetiredPack(t testing.TB, r *gitfixture.Repo, name, version, state string) {
	t.Helper()
	extra := ""
	if state != "" {
		extra = fmt.Sprintf(",\n  \"annotations\": {\"system_state\": %q, \"source\": \"community\"}", state)
	}
	dir := "packs/" + name + "-" + version
	Must(t, r.Write(dir+"/pack.json", PackJSON(name, version, "cni", extra)))
	Must(t, r.Write(dir+"/values.yaml", []byte("pack:\n  namespace: kube-system\n")))
}

// Commit commits r's work tree and returns the commit's hash.
func Commit(t testing.TB, r *gitfixture.Repo, msg string) string {
	t.Helper()
	h, err := r.Commit(msg)
	Must(t, err)
	return h
}

// PackArchive is the release archive of the pack directory dir, as the
// build writes it; a pack that does not validate fails the test.
func PackArchive(t testing.TB, dir string) []byte {
	t.Helper()
	p, probs := pack.Load(os.DirFS(dir), ".", pack.Options{})
	if probs.HasErrors() {
		t.Fatalf("%s does not validate: %v", dir, probs)
	}
	var buf bytes.Buffer
	if _, err := pack.WriteArchive(&buf, p, pack.ArchiveOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
