package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/pack/valueschema"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// tmpl and md are made on first use: every packgen command links this
// package, but only a build with a catalogue renders.
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").ParseFS(embedded, "templates/*.html"))
})

// Content-Security-Policy of every page: no inline script or style, nothing
// from elsewhere. 'self' covers the site's own files over http and file://.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"

// ---- pack pages ----

type packData struct {
	Root, Title, Meta, CSP string
	FeedTitle              string
	Registry               string
	Card                   card
	Fetch                  string
	Repo                   repoRef
	Versions               []versionRow
	Deps                   []depRow
	Annotations            []kv
	Values                 template.HTML
	ValuesNote             string
	Readme                 template.HTML
	ReadmeNote             string
	ReadmePlain            string
	LogoNote               string
	StateNote              string
	Deleted                bool // every release is deleted: not listed
	Presets                []presetGroup
	PresetsNote            string
	Schema                 []valueschema.Row
	SchemaNote             string
	Resources              []resourceRow
	Snippets               []snippet
	Signed                 bool
	Digest                 string
	SigHref, BundleHref    string
	KeyID, KeyShort        string // the key that logged the latest release
	Logged                 bool   // the latest release has a log entry
	LogIndex               int64
	LogKey                 string // the log's note verifier name
	LogCmd                 string
	Images                 *imageView
	VersionsJSON           template.JS
	VersionRows            template.HTML
	Changes                []change
	ChangesNote            string
}

// snippet is a copy-paste block of the "Use it" section.
type snippet struct {
	ID, Title, Lang, Text, Hint string
}

type resourceRow struct {
	Type, Min  string
	Components []string
}

type repoRef struct {
	Text string
	URL  string // "" when not a safe http(s) URL
}

type versionRow struct {
	Version, Digest, Size, Created, Archive string
	ChangesID                               string // anchor of its change view, if any
	Sig, Bundle                             string // relative links, "" when unsigned
	KeyID                                   string // of the key that logged it, "" when not logged
	LogIndex                                int64  // its entry in the transparency log, when KeyID is set
	Commit, CommitURL                       string
	Latest, Pre                             bool
	Deprecated, Deleted                     bool
	Reason                                  string // why the repository retired it (retired.yaml), "" when not
}

type depRow struct {
	Name, Href, Range, Type, Layer string
}

type kv struct{ Key, Value string }

// packPageData is what the pack page of e shows, but for its Meta: the
// page names the digest of its feed, which is made from its change
// views (d.Changes), so packPage sets it once the feed is made.
func (g *gen) packPageData(e *entry, f *latestFiles) (*packData, error) {
	s, l := e.Shard, e.Latest
	d := &packData{
		Root:     "../../",
		Title:    displayName(l, s.Name),
		CSP:      csp,
		Registry: g.root.Registry,
		Card:     g.heroCard(e),
		Fetch:    "packgen fetch " + s.Name + "@" + index.PinConstraint(l.Version),
		Repo:     repoRefOf(g.root.Source.Repo),
		LogoNote: f.logoNotice,
		Images:   f.found,
	}
	d.FeedTitle = s.Name + " releases (Atom)" // the name: plain text in an attribute
	d.Versions = g.releaseRows(s, l)
	d.stateOf(l)
	d.Signed = l.Signature != ""
	d.Digest = l.Archive.SHA256
	d.SigHref, d.BundleHref = relArchive(s.Name, l.Signature), relArchive(s.Name, l.Bundle)
	g.trustOf(d, s.Name, l)
	if !l.Deleted() {
		// A pack with no live release offers no way to use one: a
		// cluster that must keep it names the exact version (the
		// versions table lists them, each with why it was deleted).
		d.Snippets = g.snippets(s.Name, l.Version)
	} else {
		d.Fetch = ""
	}
	if err := g.addChanges(d, s, l, f); err != nil {
		return nil, err
	}
	d.Resources = resourceRows(l)
	d.addPresetsAndSchema(f)
	d.Deps = g.depRows(l)
	d.Annotations = annotationRows(l)
	if err := d.addValuesAndReadme(f); err != nil {
		return nil, err
	}
	return d, nil
}

// releaseRows are the rows of the versions table, newest first.
func (g *gen) releaseRows(s *index.Shard, l *index.Release) []versionRow {
	var rows []versionRow
	for i := len(s.Releases) - 1; i >= 0; i-- {
		r := &s.Releases[i]
		v, _ := r.SemVer()
		row := versionRow{
			Version: r.Version,
			Digest:  r.Archive.SHA256,
			Size:    humanSize(r.Archive.Size),
			Archive: relArchive(s.Name, r.Archive.Path),
			Sig:     relArchive(s.Name, r.Signature),
			Bundle:  relArchive(s.Name, r.Bundle),
			Commit:  index.ShortHash(r.Commit),
			Latest:  r == l && !r.Deleted(), // a deleted release is nobody's latest
			Pre:     v != nil && v.Prerelease() != "",

			Deprecated: r.Deprecated(),
			Deleted:    r.Deleted(),
		}
		if r.Retired != nil {
			row.Reason = r.Retired.Reason
		}
		if r.Log != nil {
			row.KeyID, row.LogIndex = r.Log.KeyID, r.Log.Index
		}
		if !r.Created.IsZero() {
			row.Created = r.Created.UTC().Format("2006-01-02")
		}
		row.CommitURL = g.repo.commitURL(r.Commit)
		rows = append(rows, row)
	}
	return rows
}

// trustOf fills the Trust section: who signed the latest release and
// where the transparency log has it. Only what the shard says of the
// release (and the log's key, which only a key rotation changes) is
// shown, never the log's size: a page must not change when other packs
// are released, or every rebuild would re-render every page.
func (g *gen) trustOf(d *packData, name string, l *index.Release) {
	if l.Log == nil {
		return
	}
	d.KeyID, d.KeyShort = l.Log.KeyID, shortKey(l.Log.KeyID)
	d.Logged, d.LogIndex = true, l.Log.Index
	if g.root.Log != nil {
		d.LogKey, _, _ = strings.Cut(g.root.Log.Key, "+")
	}
	reg := g.root.Registry
	if reg == "" {
		reg = "REGISTRY"
	}
	d.LogCmd = "packgen log show " + name + " --registry " + reg
}

// shortKey is the first 16 hex digits of a key ID, as the CLI prints
// key IDs; the full ID is in the element's title.
func shortKey(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

// stateOf notes the latest release's state, and why (the retirement's
// reason, or pack.json's annotation).
func (d *packData) stateOf(l *index.Release) {
	switch {
	case l.Deleted():
		d.Deleted = true
		d.StateNote = "Every version of this pack is marked deleted (" + l.StateWhy() + "): the platform no longer offers it, and it is not listed in the catalogue. This page stays for clusters that still run it."
	case l.Deprecated():
		d.StateNote = "Version " + l.Version + " is marked deprecated (" + l.StateWhy() + "): the platform still offers it, with a warning. Plan a move to a supported pack or version."
	}
}

// addChanges adds the change views of the newest versions, and links
// the versions table to them.
func (g *gen) addChanges(d *packData, s *index.Shard, l *index.Release, f *latestFiles) error {
	ch, read, err := g.changes(s, l, f)
	if err != nil {
		return err
	}
	if len(s.Releases) > 1 {
		if d.VersionsJSON, err = versionsJSON(s, read); err != nil {
			return err
		}
	}
	d.Changes = ch
	has := map[string]string{}
	for _, c := range ch {
		has[c.Version] = c.ID
	}
	for i := range d.Versions {
		d.Versions[i].ChangesID = has[d.Versions[i].Version]
	}
	d.VersionRows = versionRows(d.Versions)
	if n := len(s.Releases) - 1; n > maxChangeViews {
		d.ChangesNote = fmt.Sprintf("The %d newest versions are compared with the one before each; older ones are not shown.", maxChangeViews)
	}
	return nil
}

// addPresetsAndSchema shows presets.yaml and schema.yaml, or says why not.
func (d *packData) addPresetsAndSchema(f *latestFiles) {
	d.Presets, d.PresetsNote = parseShown("presets.yaml", f.hasPresets, f.presetsBig, f.presets, parsePresets)
	d.Schema, d.SchemaNote = parseShown("schema.yaml", f.hasSchema, f.schemaBig, f.schema, parseSchema)
}

// parseShown parses platform file name for the page, or says in note why
// it is not shown: too big (over maxValues) or not readable. A file the
// pack does not have (has false) says nothing.
func parseShown[T any](name string, has, big bool, b []byte, parse func([]byte) (T, error)) (v T, note string) {
	switch {
	case !has:
	case big:
		note = name + " is larger than 1 MiB and is not shown."
	default:
		p, err := parse(b)
		if err != nil {
			return v, name + " could not be read, so it is not shown (" + err.Error() + ")."
		}
		v = p
	}
	return v, note
}

// depRows are the latest release's dependencies, linked to their pages
// when the catalogue has them.
func (g *gen) depRows(l *index.Release) []depRow {
	var rows []depRow
	for _, dep := range l.Dependencies {
		row := depRow{Name: dep.PackName, Type: dep.Type, Layer: string(dep.Layer), Range: depRange(dep.MinVersion, dep.MaxVersion)}
		if g.names[dep.PackName] {
			row.Href = "../" + dep.PackName + "/" + pageFile
		}
		rows = append(rows, row)
	}
	return rows
}

// annotationRows are the latest release's annotations, sorted by key.
func annotationRows(l *index.Release) []kv {
	keys := slices.Sorted(maps.Keys(l.Annotations))
	var rows []kv
	for _, k := range keys {
		rows = append(rows, kv{k, l.Annotations[k]})
	}
	return rows
}

// addValuesAndReadme shows values.yaml and README.md, or says why not.
func (d *packData) addValuesAndReadme(f *latestFiles) error {
	switch {
	case f.valuesTooLarge:
		d.ValuesNote = "values.yaml is larger than 1 MiB and is not shown; fetch the pack to read it."
	case f.hasValues:
		d.Values = highlightYAML(f.values)
	}
	switch {
	case f.readmeTooLarge:
		d.ReadmeNote = "README.md is larger than 1 MiB and is not shown; fetch the pack to read it."
	case f.hasReadme && !markdownTame(f.readme):
		d.ReadmeNote = "README.md is too large or too deeply nested to render; it is shown as plain text."
		d.ReadmePlain = string(bytes.ToValidUTF8(f.readme, []byte("\uFFFD")))
	case f.hasReadme:
		h, err := renderMarkdown(f.readme)
		if err != nil {
			return fmt.Errorf("README.md: %w", err)
		}
		d.Readme = h
	}
	return nil
}

func displayName(r *index.Release, name string) string {
	if s := strings.TrimSpace(r.DisplayName); s != "" {
		return s
	}
	return name
}

// versionRows renders the versions table's rows in Go: a pack can have
// hundreds of versions, and html/template's escaping, one reflective call
// per field, made this loop the largest part of rendering a page.
// Every value is escaped; links are relative paths the shard gave (made
// safe by relLink) or commit URLs built by repoLink.
func versionRows(rows []versionRow) template.HTML {
	var b strings.Builder
	e := html.EscapeString
	for _, r := range rows {
		b.WriteString("\n      <tr")
		if r.Latest {
			b.WriteString(` class="latest"`)
		} else if r.Deleted {
			b.WriteString(` class="deleted"`)
		}
		b.WriteString(">\n        <th scope=\"row\"><span class=\"ver\">" + e(r.Version) + "</span>")
		if r.Latest {
			b.WriteString(` <span class="tag ok">latest</span>`)
		}
		if r.Pre {
			b.WriteString(` <span class="tag">pre-release</span>`)
		}
		if r.Deprecated {
			b.WriteString(` <span class="tag warn">deprecated</span>`)
		}
		if r.Deleted {
			b.WriteString(` <span class="tag bad">deleted</span>`)
		}
		if r.Reason != "" {
			b.WriteString(`<br><span class="reason">` + e(r.Reason) + `</span>`)
		}
		b.WriteString("</th>\n        <td>" + e(r.Created) + "</td>\n        <td>" + e(r.Size) + "</td>\n")
		b.WriteString(`        <td><code class="digest" title="` + e(r.Digest) + `">` + e(r.Digest) + "</code></td>\n        <td>")
		if r.Sig != "" {
			b.WriteString(`<a href="` + relLink(r.Sig) + `" download>.sig</a>`)
			if r.Bundle != "" {
				b.WriteString(` · <a href="` + relLink(r.Bundle) + `" download>bundle</a>`)
			}
		} else {
			b.WriteString(`<span class="muted">unsigned</span>`)
		}
		if r.KeyID != "" {
			fmt.Fprintf(&b, `<br><span class="small" title="published with key %s, entry %d of the transparency log">key <code>%s</code> · log <span class="mono">#%d</span></span>`, e(r.KeyID), r.LogIndex, e(shortKey(r.KeyID)), r.LogIndex)
		}
		b.WriteString("</td>\n        <td>")
		if r.CommitURL != "" {
			b.WriteString(`<a class="mono" href="` + e(r.CommitURL) + `" rel="nofollow noopener noreferrer">` + e(r.Commit) + "</a>")
		} else {
			b.WriteString(`<span class="mono">` + e(r.Commit) + "</span>")
		}
		b.WriteString("</td>\n        <td>")
		if r.Archive != "" {
			b.WriteString(`<a href="` + relLink(r.Archive) + `" download>.tar.gz</a>`)
		}
		b.WriteString("</td>\n        <td>")
		if r.ChangesID != "" {
			b.WriteString(`<a href="#` + url.PathEscape(r.ChangesID) + `">what changed</a>`)
		}
		b.WriteString("</td>\n      </tr>")
	}
	return template.HTML(b.String()) // #nosec: every value is escaped above
}

// relLink makes a relative path from the shard safe as an href: each
// segment percent-escaped and a colon in the first one behind "./", so
// neither a scheme (javascript:) nor markup survives.
func relLink(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	out := strings.Join(segs, "/")
	if strings.Contains(segs[0], ":") {
		out = "./" + out
	}
	return html.EscapeString(out)
}

// relArchive is the path of a release file (archive, signature, bundle)
// relative to the pack's page; "" for none or one outside the pack.
func relArchive(name, p string) string {
	rel, ok := strings.CutPrefix(p, "packs/"+name+"/")
	if !ok || rel == "" || strings.Contains(rel, "..") {
		return ""
	}
	return rel
}

// snippets are the ways to use a release: the packgen client, a profile
// layer, and the vendor's Terraform provider.
func (g *gen) snippets(name, version string) []snippet {
	reg := g.root.Registry
	if reg == "" {
		reg = "REGISTRY"
	}
	tf := strings.ReplaceAll(name, "-", "_")
	if tf == "" || tf[0] >= '0' && tf[0] <= '9' {
		tf = "pack_" + tf
	}
	pin := index.PinConstraint(version)
	return []snippet{
		{ID: "fetch-cmd", Title: "packgen", Lang: "shell", Text: "packgen fetch " + name + "@" + pin,
			Hint: "Downloads the archive and verifies it against the signed index."},
		{ID: "profile-yaml", Title: "Cluster profile (profile.yaml)", Lang: "yaml",
			Text: "  - pack: " + name + "\n    version: \"" + pin + "\"\n    registry: " + reg + "\n",
			Hint: "A layer under layers:, pinned to this version; registry is the name you configured for this registry."},
		{ID: "terraform-hcl", Title: "Terraform (spectrocloud provider)", Lang: "hcl",
			Text: "data \"spectrocloud_registry\" \"registry\" {\n  name = \"" + reg + "\"\n}\n\n" +
				"data \"spectrocloud_pack\" \"" + tf + "\" {\n  name         = \"" + name + "\"\n  version      = \"" + version + "\"\n  registry_uid = data.spectrocloud_registry.registry.id\n}\n",
			Hint: "The pack as the platform's provider looks it up, by name and version in this registry."},
	}
}

// resourceRows shows constraints.resources in the units the platform
// uses: CPU in millicores, memory in MiB, disk in GB.
func resourceRows(r *index.Release) []resourceRow {
	var out []resourceRow
	for _, res := range r.Resources {
		row := resourceRow{Type: res.Type}
		switch res.Type {
		case "cpu":
			row.Type = "CPU"
			row.Min = fmt.Sprintf("%d millicores", res.MinLimit)
			if res.MinLimit%1000 == 0 && res.MinLimit > 0 {
				row.Min = fmt.Sprintf("%d cores (%d m)", res.MinLimit/1000, res.MinLimit)
			}
		case "memory":
			row.Type = "Memory"
			row.Min = fmt.Sprintf("%d MiB", res.MinLimit)
			if res.MinLimit%1024 == 0 && res.MinLimit > 0 {
				row.Min = fmt.Sprintf("%d GiB (%d MiB)", res.MinLimit/1024, res.MinLimit)
			}
		case "diskSize":
			row.Type = "Disk"
			row.Min = fmt.Sprintf("%d GB", res.MinLimit)
		default:
			row.Min = fmt.Sprintf("%d", res.MinLimit)
		}
		if res.MinLimit == 0 {
			row.Min = "—"
		}
		for _, c := range res.Components {
			var parts []string
			if c.ScheduleType != "" {
				parts = append(parts, "on "+c.ScheduleType+" nodes")
			}
			if c.ResourceRequestParamRef != "" {
				parts = append(parts, "request at "+c.ResourceRequestParamRef)
			}
			if c.ReplicaCountParamRef != "" {
				parts = append(parts, "× replicas at "+c.ReplicaCountParamRef)
			}
			row.Components = append(row.Components, strings.Join(parts, ", "))
		}
		out = append(out, row)
	}
	return out
}

func depRange(min, max string) string {
	switch {
	case min != "" && max != "":
		return ">= " + min + ", <= " + max
	case min != "":
		return ">= " + min
	case max != "":
		return "<= " + max
	}
	return "any"
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}

// ---- index page ----

// eagerCards is how many cards from the top of the index load their logo
// eagerly.
const eagerCards = 18

type card struct {
	Name, Display, Latest, Layer, LayerLabel, AddonType string
	Clouds                                              []string
	Versions, Older                                     int
	Href, Logo                                          string
	Initials                                            string
	Hue                                                 int
	// Eager: the logo is above the fold and loads with the page (lazy
	// logos there stay blank until the browser gets round to them).
	Eager      bool
	Deprecated bool
}

func (g *gen) card(e *entry, root string) card {
	s, l := e.Shard, e.Latest
	n := len(listedVersions(s))
	c := card{
		Name: s.Name, Display: displayName(l, s.Name), Latest: l.Version,
		Layer: l.Layer, LayerLabel: layerLabel(l.Layer), AddonType: l.AddonType,
		Clouds: sortedClouds(l.CloudTypes), Versions: n, Older: max(n-1, 0),
		Deprecated: l.Deprecated(),
		Href:       root + PagePath(s.Name),
		Initials:   initials(displayName(l, s.Name)),
		Hue:        hue(s.Name),
	}
	if e.HasLogo {
		c.Logo = root + packDir(s.Name) + "/" + logoFile
	}
	return c
}

// listedVersions are a pack's versions the index lists: all but those
// marked deleted, which only their exact version resolves.
func listedVersions(s *index.Shard) []string {
	var out []string
	for _, r := range s.Releases {
		if !r.Deleted() {
			out = append(out, r.Version)
		}
	}
	return out
}

// listed reports whether a pack appears on the index: not when every
// release is deleted.
func (e *entry) listed() bool { return !e.Latest.Deleted() }

func (g *gen) heroCard(e *entry) card {
	c := g.card(e, "../../")
	c.Eager = true
	return c
}

func sortedClouds(c []string) []string {
	out := append([]string(nil), c...)
	sort.Strings(out)
	return out
}

// initials of a display name for the placeholder logo: up to two letters
// or digits, upper-cased.
func initials(s string) string {
	var out []rune
	start := true
	for _, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r)
		if ok && start {
			out = append(out, unicode.ToUpper(r))
			if len(out) == 2 {
				break
			}
		}
		start = !ok
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// hue picks one of the placeholder colours (CSS classes ph0..ph7) from the
// pack name, so a pack keeps its colour across builds.
func hue(name string) int {
	h := sha256.Sum256([]byte(name))
	return int(h[0]) % 8
}

type group struct {
	ID, Title string
	rank      int
	Cards     []card
}

type option struct{ Value, Label string }

// filter is one of the index page's filter menus (layer, cloud): the
// field's id and label, the choice of everything, and the options.
type filter struct {
	ID, Label, All string
	Options        []option
}

type indexData struct {
	Root, Title, CSP  string
	FeedTitle         string
	Meta, Registry    string
	Repo              repoRef
	Commit, CommitURL string
	Packs, Releases   int
	Groups            []*group
	Filters           []filter
	HasPacks          bool
}

func (g *gen) indexPage(entries []*entry) ([]byte, error) {
	byTitle := map[string]*group{}
	clouds := map[string]bool{}
	layers := map[string]bool{}
	releases, packs := 0, 0
	for _, e := range entries {
		if !e.listed() {
			continue
		}
		t, rank := groupOf(e.Latest)
		gr := byTitle[t]
		if gr == nil {
			gr = &group{ID: "g-" + slug(t), Title: t, rank: rank}
			byTitle[t] = gr
		}
		gr.Cards = append(gr.Cards, g.card(e, ""))
		for _, c := range e.Latest.CloudTypes {
			clouds[c] = true
		}
		layers[e.Latest.Layer] = true
		releases += len(listedVersions(e.Shard))
		packs++
	}
	d := indexData{
		Root: "", Title: g.root.Registry, CSP: csp, Registry: g.root.Registry,
		Repo: repoRefOf(g.root.Source.Repo), Commit: index.ShortHash(g.root.Source.Commit),
		CommitURL: g.repo.commitURL(g.root.Source.Commit),
		Packs:     packs, Releases: releases, HasPacks: packs > 0,
	}
	if d.Title == "" {
		d.Title = "Pack catalogue"
	}
	d.FeedTitle = "New releases (Atom)"
	for _, gr := range byTitle {
		sort.SliceStable(gr.Cards, func(i, j int) bool {
			a, b := strings.ToLower(gr.Cards[i].Display), strings.ToLower(gr.Cards[j].Display)
			if a != b {
				return a < b
			}
			return gr.Cards[i].Name < gr.Cards[j].Name
		})
		d.Groups = append(d.Groups, gr)
	}
	sort.Slice(d.Groups, func(i, j int) bool {
		if d.Groups[i].rank != d.Groups[j].rank {
			return d.Groups[i].rank < d.Groups[j].rank
		}
		return d.Groups[i].Title < d.Groups[j].Title
	})
	// The first screenful of cards (three columns by a few rows on a
	// desktop) loads its logos with the page.
	eager := eagerCards
	for _, gr := range d.Groups {
		for i := range gr.Cards {
			if eager == 0 {
				break
			}
			gr.Cards[i].Eager = true
			eager--
		}
	}
	byLayer := filter{ID: "layer", Label: "Layer", All: "All layers"}
	for _, l := range []string{"os", "k8s", "cni", "csi", "addon"} {
		if layers[l] {
			byLayer.Options = append(byLayer.Options, option{l, layerLabel(l)})
		}
	}
	byCloud := filter{ID: "cloud", Label: "Cloud", All: "All clouds"}
	for c := range clouds {
		if c != "all" {
			byCloud.Options = append(byCloud.Options, option{c, c})
		}
	}
	sort.Slice(byCloud.Options, func(i, j int) bool { return byCloud.Options[i].Value < byCloud.Options[j].Value })
	d.Filters = []filter{byLayer, byCloud}
	var buf bytes.Buffer
	if err := tmpl().ExecuteTemplate(&buf, "index.html", d); err != nil {
		return nil, fmt.Errorf("catalogue: index page: %w", err)
	}
	return buf.Bytes(), nil
}

// Compiled on first use, not in the initialiser every packgen process runs.
var nonSlug = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })

func slug(s string) string {
	return strings.Trim(nonSlug().ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// ---- catalog.json ----

// Catalog is catalog.json: every pack with what the index page shows, for
// the page's search and for scripts.
type Catalog struct {
	SchemaVersion int            `json:"schemaVersion"`
	Registry      string         `json:"registry"`
	Source        index.Source   `json:"source"`
	Packs         []CatalogEntry `json:"packs"`
}

// CatalogEntry describes one pack.
type CatalogEntry struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName"`
	Layer       string   `json:"layer"`
	AddonType   string   `json:"addonType,omitempty"`
	Group       string   `json:"group"`
	CloudTypes  []string `json:"cloudTypes"`
	Latest      string   `json:"latest"`
	Versions    []string `json:"versions"`
	Page        string   `json:"page"`
	Logo        string   `json:"logo,omitempty"`
}

func (g *gen) catalog(entries []*entry) *Catalog {
	src := g.root.Source
	src.Repo = repoRefOf(src.Repo).Text
	c := &Catalog{SchemaVersion: 1, Registry: g.root.Registry, Source: src, Packs: []CatalogEntry{}}
	for _, e := range entries {
		if !e.listed() {
			continue
		}
		l := e.Latest
		t, _ := groupOf(l)
		ce := CatalogEntry{
			Name: e.name(), DisplayName: displayName(l, e.name()), Layer: l.Layer, AddonType: l.AddonType,
			Group: t, CloudTypes: sortedClouds(l.CloudTypes), Latest: l.Version,
			Versions: listedVersions(e.Shard), Page: PagePath(e.name()),
		}
		if ce.CloudTypes == nil {
			ce.CloudTypes = []string{}
		}
		if e.HasLogo {
			ce.Logo = packDir(e.name()) + "/" + logoFile
		}
		c.Packs = append(c.Packs, ce)
	}
	return c
}

type catalogOut struct{ json, js []byte }

// catalogFiles encodes catalog.json and assets/catalog.js, the same data
// as a script (browsers will not fetch JSON from file:// pages).
// encoding/json escapes <, >, &, U+2028 and U+2029, so the data cannot
// close the script or break out of the string literal.
func catalogFiles(c *Catalog) (catalogOut, error) {
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return catalogOut{}, err
	}
	b = append(b, '\n')
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, b); err != nil {
		return catalogOut{}, err
	}
	js := "// Generated by packgen build; the same data as catalog.json.\nwindow.packgenCatalog = " + compact.String() + ";\n"
	return catalogOut{json: b, js: []byte(js)}, nil
}

// ---- source links ----

// repoLink is a repository on a forge whose commit URLs we know.
type repoLink struct {
	base string // https://host/owner/repo
	host string
}

// Compiled on first use, not in the initialiser every packgen process runs.
var (
	scpURL  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(.+)$`) })
	pathSeg = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]+$`) })
	hexSHA  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{7,64}$`) })
)

// parseRepo recognises github.com, gitlab.com and bitbucket.org
// repositories in https, ssh and scp-like (git@host:owner/repo) forms.
func parseRepo(raw string) *repoLink {
	raw = strings.TrimSpace(raw)
	var host, p string
	if m := scpURL().FindStringSubmatch(raw); m != nil && !strings.Contains(raw, "://") {
		host, p = m[1], m[2]
	} else {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "ssh" && u.Scheme != "git") {
			return nil
		}
		host, p = u.Hostname(), u.Path
	}
	host = strings.ToLower(host)
	switch host {
	case "github.com", "gitlab.com", "bitbucket.org", "www.github.com":
	default:
		return nil
	}
	host = strings.TrimPrefix(host, "www.")
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	segs := strings.Split(p, "/")
	if len(segs) < 2 || (host != "gitlab.com" && len(segs) != 2) {
		return nil
	}
	for _, s := range segs {
		if !pathSeg().MatchString(s) || s == "." || s == ".." {
			return nil
		}
	}
	return &repoLink{base: "https://" + host + "/" + strings.Join(segs, "/"), host: host}
}

// commitURL links a commit, or "" when the forge or the hash is unknown.
func (r *repoLink) commitURL(sha string) string {
	if r == nil || !hexSHA().MatchString(sha) {
		return ""
	}
	switch r.host {
	case "gitlab.com":
		return r.base + "/-/commit/" + sha
	case "bitbucket.org":
		return r.base + "/commits/" + sha
	}
	return r.base + "/commit/" + sha
}

// repoRefOf shows a repository URL, linked only when it is plain http(s)
// (git@ forms of known forges become their https page). A local path or
// file:// URL (a build from a checkout) is the builder's business, not the
// reader's: nothing is shown.
func repoRefOf(raw string) repoRef {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return repoRef{}
	}
	if r := parseRepo(raw); r != nil {
		return repoRef{Text: r.base, URL: r.base}
	}
	if m := scpURL().FindStringSubmatch(raw); m != nil && !strings.Contains(raw, "://") && strings.Contains(m[1], ".") {
		return repoRef{Text: raw} // git@host:path of an unknown forge
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return repoRef{}
	}
	// Never show credentials a remote URL may carry (https://TOKEN@host/...),
	// nor link a URL that carried them.
	creds := u.User != nil
	u.User = nil
	switch u.Scheme {
	case "https", "http":
		if creds {
			return repoRef{Text: u.String()}
		}
		return repoRef{Text: u.String(), URL: u.String()}
	case "ssh", "git":
		return repoRef{Text: u.String()}
	}
	return repoRef{}
}

// ---- Markdown ----

var md = sync.OnceValue(func() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough, extension.Linkify, extension.TaskList,
			admonitions{},
		),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 1000))),
		// Raw HTML stays disabled (goldmark's default): it is dropped.
	)
})

// Markdown parsers, goldmark included, take quadratic time on some shapes
// (thousands of unclosed links, lists or quotes nested thousands deep), so
// a README beyond these bounds is shown as text. The bounds are on the
// input, not on time, so the output stays deterministic.
const (
	maxMarkdown       = 256 << 10
	maxMarkdownLinks  = 2000 // '[' characters
	maxMarkdownPrefix = 100  // bytes of container markers and indent starting a line
	maxMarkdownFences = 1000 // admonition fence lines (each may nest one deeper)
)

// markdownTame reports whether src is within the bounds above.
func markdownTame(src []byte) bool {
	if len(src) > maxMarkdown || bytes.Count(src, []byte("[")) > maxMarkdownLinks {
		return false
	}
	fences := 0
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		n := 0
		for n < len(line) && strings.IndexByte(" \t>-*+.)0123456789", line[n]) >= 0 {
			n++
		}
		if n > maxMarkdownPrefix {
			return false
		}
		if bytes.HasPrefix(line[n:], []byte(":::")) {
			if fences++; fences > maxMarkdownFences {
				return false
			}
		}
	}
	return true
}

// renderMarkdown renders a README. Raw HTML is omitted, links are kept
// only to http(s), mailto and in-page anchors, images become links (the
// page allows no outside images), and headings move two levels down, under
// the page's own.
func renderMarkdown(src []byte) (template.HTML, error) {
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	var buf bytes.Buffer
	if err := md().Convert(src, &buf); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil // #nosec: goldmark escapes text and drops raw HTML; safeLinks vets URLs
}

type safeLinks struct{}

func safeURL(u []byte, allowAnchor bool) bool {
	s := strings.ToLower(strings.TrimSpace(string(u)))
	switch {
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "mailto:"):
		return true
	case allowAnchor && strings.HasPrefix(s, "#"):
		return true
	}
	return false
}

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	var unwrap, relink []ast.Node
	var autos []*ast.AutoLink
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch v := n.(type) {
		case *ast.Heading:
			// Under the page's h1 and the README section's h2.
			v.Level = min(v.Level+2, 6)
		case *ast.Link:
			if !safeURL(v.Destination, true) {
				unwrap = append(unwrap, v)
			} else {
				v.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
			}
		case *ast.Image:
			if safeURL(v.Destination, false) {
				relink = append(relink, v)
			} else {
				unwrap = append(unwrap, v)
			}
		case *ast.AutoLink:
			u := v.URL(src)
			if v.AutoLinkType == ast.AutoLinkEmail || safeURL(u, false) || bytes.HasPrefix(bytes.ToLower(u), []byte("www.")) {
				v.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
			} else {
				autos = append(autos, v)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range unwrap {
		p := n.Parent()
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			p.InsertBefore(p, n, c)
			c = next
		}
		p.RemoveChild(p, n)
	}
	for _, n := range relink {
		img := n.(*ast.Image)
		l := ast.NewLink()
		l.Destination = img.Destination
		l.Title = img.Title
		l.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			l.AppendChild(l, c)
			c = next
		}
		if l.ChildCount() == 0 {
			l.AppendChild(l, ast.NewString([]byte("image")))
		}
		img.Parent().ReplaceChild(img.Parent(), img, l)
	}
	for _, a := range autos {
		a.Parent().ReplaceChild(a.Parent(), a, ast.NewString(a.Label(src)))
	}
}

// ---- values.yaml highlighting ----

// Compiled on first use, not in the initialiser every packgen process runs.
var (
	yamlKey = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\s*(?:-\s+)*)((?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s#'"\-{}\[\],&*!|>%@` + "`" + `][^:#]*?|-[^\s:#][^:#]*?))(:)(\s+|$)`)
	})
	yamlDash   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\s*)((?:-(?:\s+|$))+)`) })
	yamlNumber = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|\.inf|\.nan)$`)
	})
)

// highlightYAML marks up YAML line by line: comments, keys, strings,
// numbers, booleans/null, anchors and block scalars. Every byte of the
// input is HTML-escaped; it never has to parse (values may be templates).
func highlightYAML(src []byte) template.HTML {
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n"), "\n")
	block := -1 // indentation of the key that opened a block scalar
	for i, line := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		ind := len(line) - len(strings.TrimLeft(line, " "))
		if block >= 0 {
			if strings.TrimSpace(line) == "" || ind > block {
				span(&b, "s", line)
				continue
			}
			block = -1
		}
		rest := line
		if m := yamlDash().FindStringSubmatch(rest); m != nil {
			b.WriteString(html.EscapeString(m[1]))
			span(&b, "p", m[2])
			rest = rest[len(m[0]):]
		}
		if strings.HasPrefix(strings.TrimLeft(rest, " "), "#") {
			span(&b, "c", rest)
			continue
		}
		if m := yamlKey().FindStringSubmatch(rest); m != nil {
			b.WriteString(html.EscapeString(m[1]))
			span(&b, "k", m[2])
			span(&b, "p", m[3])
			b.WriteString(html.EscapeString(m[4]))
			rest = rest[len(m[0]):]
		}
		val, comment := splitComment(rest)
		tv := strings.TrimSpace(val)
		if tv == "|" || tv == ">" || strings.HasPrefix(tv, "|") && len(tv) <= 3 || strings.HasPrefix(tv, ">") && len(tv) <= 3 {
			block = ind
		}
		lead := val[:len(val)-len(strings.TrimLeft(val, " "))]
		trail := val[len(strings.TrimRight(val, " ")):]
		if tv != "" {
			b.WriteString(lead)
			span(&b, scalarClass(tv), tv)
			b.WriteString(trail)
		} else {
			b.WriteString(html.EscapeString(val))
		}
		if comment != "" {
			span(&b, "c", comment)
		}
	}
	return template.HTML(b.String()) // #nosec: every piece is escaped by span or html.EscapeString
}

func span(b *strings.Builder, class, s string) {
	if s == "" {
		return
	}
	b.WriteString(`<span class="y`)
	b.WriteString(class)
	b.WriteString(`">`)
	b.WriteString(html.EscapeString(s))
	b.WriteString(`</span>`)
}

// splitComment splits a value from a trailing " # comment", minding quotes.
func splitComment(s string) (string, string) {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else if c == '\\' && q == '"' {
				i++
			}
		case c == '"' || c == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '[' || s[i-1] == ',' {
				q = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i], s[i:]
		}
	}
	return s, ""
}

func scalarClass(v string) string {
	switch strings.ToLower(v) {
	case "true", "false", "null", "~", "yes", "no", "on", "off":
		return "b"
	}
	switch {
	case yamlNumber().MatchString(v):
		return "n"
	case strings.HasPrefix(v, "&"), strings.HasPrefix(v, "*"), strings.HasPrefix(v, "!"):
		return "a"
	case strings.HasPrefix(v, "|"), strings.HasPrefix(v, ">"), v == "{}", v == "[]":
		return "p"
	}
	return "s"
}
