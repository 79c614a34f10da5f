package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
)

// Atom feeds of new releases, so teams can subscribe: feed.xml for the
// whole registry (the newest releases) and packs/NAME/feed.xml per pack.
// Entries are dated by the release's creation (when the version first
// appeared in git), so a feed changes only when releases do. Links are
// relative, resolved against the feed's own URL as Atom allows, since the
// catalogue does not know where it is served.

const (
	FeedFile     = "feed.xml"
	maxFeedItems = 100
)

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID      string     `xml:"id"`
	Title   string     `xml:"title"`
	Updated string     `xml:"updated"`
	Links   []atomLink `xml:"link"`
	Summary atomText   `xml:"summary"`
	Content atomText   `xml:"content"`
}

// atomText is a text construct: type "text" is shown as is, "html" is
// markup carried as escaped text (encoding/xml escapes it), as Atom
// requires.
type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

// feedItem is one release with its pack.
type feedItem struct {
	s   *index.Shard
	r   *index.Release
	seq int // index in the shard, which is sorted oldest version first
}

// uuidURN names a thing by a stable version-5-style UUID of its key.
func uuidURN(key string) string {
	h := sha256.Sum256([]byte("packgen-feed\x00" + key))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func atomTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(time.RFC3339)
}

// newestFirst orders items by creation, newest first, then by name and
// version for a stable order among releases of one commit.
func newestFirst(items []feedItem) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.r.Created.Equal(b.r.Created) {
			return a.r.Created.After(b.r.Created)
		}
		if a.s.Name != b.s.Name {
			return a.s.Name < b.s.Name
		}
		return a.seq > b.seq
	})
}

// feed renders items (already ordered) as an Atom document, each entry
// made by entry.
func (g *gen) feed(id, title, self, home string, items []feedItem, entry func(feedItem) (atomEntry, error)) ([]byte, error) {
	if len(items) > maxFeedItems {
		items = items[:maxFeedItems]
	}
	f := atomFeed{
		ID: uuidURN(id), Title: title,
		Links:  []atomLink{{Rel: "self", Type: "application/atom+xml", Href: self}, {Rel: "alternate", Type: "text/html", Href: home}},
		Author: atomAuthor{Name: g.registryName()},
	}
	var newest time.Time
	for _, it := range items {
		if it.r.Created.After(newest) {
			newest = it.r.Created
		}
		e, err := entry(it)
		if err != nil {
			return nil, err
		}
		f.Entries = append(f.Entries, e)
	}
	f.Updated = atomTime(newest)
	b, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, fmt.Errorf("catalogue: feed: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// entryID names a release's entry in every feed.
func (g *gen) entryID(it feedItem) string {
	return uuidURN(g.root.Registry + "\x00" + it.s.Name + "@" + it.r.Version + "\x00" + it.r.Archive.SHA256)
}

// maxFeedList bounds each list of a change in a feed entry (files
// added, images removed…): the page has the rest.
const maxFeedList = 10

// feedEntry is a release's entry: it links to page, at the release's
// "what changed" view when the page has one (c), and says what changed
// there, as plain text (summary) and as a list (content), so a feed
// reader answers "what changed" without opening the page.
func (g *gen) feedEntry(it feedItem, page string, c *change) (atomEntry, error) {
	e := atomEntry{
		ID: g.entryID(it), Title: displayName(it.r, it.s.Name) + " " + it.r.Version, Updated: atomTime(it.r.Created),
	}
	href := page
	if c != nil {
		href += "#" + url.PathEscape(c.ID)
		c = c.forFeed()
	}
	e.Links = []atomLink{{Rel: "alternate", Type: "text/html", Href: href}}
	kind := layerLabel(it.r.Layer)
	if t := addonType(it.r.AddonType); t != "" {
		kind += " (" + t + ")"
	}
	head := it.s.Name + "@" + it.r.Version + ": " + kind
	if it.r.Deprecated() {
		head += ", deprecated"
	}
	text := head + "."
	if c != nil {
		text += " " + c.text()
	}
	e.Summary = atomText{Type: "text", Body: text + " Fetch with: packgen fetch " + it.s.Name + "@" + it.r.Version + " (sha256 " + it.r.Archive.SHA256 + ")."}
	var buf bytes.Buffer
	err := tmpl().ExecuteTemplate(&buf, "feed-entry", struct {
		Name, Version, Kind, Digest, Nothing string
		Deprecated                           bool
		Change                               *change
	}{it.s.Name, it.r.Version, kind, it.r.Archive.SHA256, c.nothing(), it.r.Deprecated(), c})
	if err != nil {
		return e, fmt.Errorf("catalogue: feed entry %s@%s: %w", it.s.Name, it.r.Version, err)
	}
	e.Content = atomText{Type: "html", Body: buf.String()}
	return e, nil
}

// forFeed is the view with each list cut to maxFeedList.
func (c *change) forFeed() *change {
	cut := func(xs []string, more *int) []string {
		if len(xs) <= maxFeedList {
			return xs
		}
		*more += len(xs) - maxFeedList
		return xs[:maxFeedList]
	}
	out := *c
	out.Items = make([]changeItem, len(c.Items))
	for i, it := range c.Items {
		more := 0
		it.Added, it.Gone, it.Changed = cut(it.Added, &more), cut(it.Gone, &more), cut(it.Changed, &more)
		if more > 0 {
			it.Changed = append(slices.Clip(it.Changed), fmt.Sprintf("and %d more (on the page)", more))
		}
		out.Items[i] = it
	}
	return &out
}

// nothing is what the view says when it lists no change.
func (c *change) nothing() string {
	switch {
	case c == nil || len(c.Items) > 0:
		return ""
	case c.Shallow:
		return "The index records no change to charts, manifests, cloud types, dependencies or constraints; the files of the two archives were not compared."
	}
	return "No file changed: every file of the two archives has the same content."
}

// text is the view as one paragraph of plain text.
func (c *change) text() string {
	var b strings.Builder
	b.WriteString("What changed since " + c.From)
	if c.Added+c.Removed > 0 {
		fmt.Fprintf(&b, " (values.yaml +%d −%d lines)", c.Added, c.Removed)
	}
	b.WriteString(":")
	if len(c.Items) == 0 {
		return b.String() + " " + c.nothing()
	}
	for i, it := range c.Items {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" " + it.What)
		var parts []string
		for _, x := range it.Added {
			parts = append(parts, "+ "+x)
		}
		for _, x := range it.Gone {
			parts = append(parts, "− "+x)
		}
		parts = append(parts, it.Changed...)
		b.WriteString(" " + strings.Join(parts, ", "))
	}
	b.WriteString(".")
	if c.Shallow {
		b.WriteString(" The files of the two archives were not compared.")
	}
	return b.String()
}

func (g *gen) registryName() string {
	if g.root.Registry != "" {
		return g.root.Registry
	}
	return "Pack catalogue"
}

// packFeed is packs/NAME/feed.xml: the pack's listed releases, each
// linked to its change view on the page (changes: the page's views).
func (g *gen) packFeed(s *index.Shard, changes []change) ([]byte, error) {
	var items []feedItem
	for i := range s.Releases {
		if !s.Releases[i].Deleted() {
			items = append(items, feedItem{s, &s.Releases[i], i})
		}
	}
	newestFirst(items)
	views := map[string]*change{}
	for i := range changes {
		views[changes[i].Version] = &changes[i]
	}
	return g.feed(g.root.Registry+"\x00pack\x00"+s.Name, displayName(s.Latest(), s.Name)+" releases · "+g.registryName(),
		FeedFile, pageFile, items, func(it feedItem) (atomEntry, error) { return g.feedEntry(it, pageFile, views[it.r.Version]) })
}

// registryFeed is feed.xml: the newest releases of every listed pack.
// Each entry is the pack feed's (written or reused just before, the
// one its page names), with its link made relative to the site: what
// changed is computed from archives only when a pack's page is
// rendered, and a pack feed is a function of the same inputs as its
// page, so this feed is too.
func (g *gen) registryFeed(entries []*entry) ([]byte, error) {
	var items []feedItem
	feeds := map[string]string{}
	for _, e := range entries {
		feeds[e.name()] = e.feed
		if !e.listed() {
			continue
		}
		for i := range e.Shard.Releases {
			if !e.Shard.Releases[i].Deleted() {
				items = append(items, feedItem{e.Shard, &e.Shard.Releases[i], i})
			}
		}
	}
	newestFirst(items)
	packs := map[string]map[string]atomEntry{}
	return g.feed(g.root.Registry+"\x00registry", "New releases · "+g.registryName(), FeedFile, IndexFile, items,
		func(it feedItem) (atomEntry, error) {
			byID, ok := packs[it.s.Name]
			if !ok {
				var err error
				if byID, err = g.readPackFeed(it.s.Name, feeds[it.s.Name]); err != nil {
					return atomEntry{}, err
				}
				packs[it.s.Name] = byID
			}
			e, ok := byID[g.entryID(it)]
			if !ok || len(e.Links) != 1 {
				return atomEntry{}, fmt.Errorf("catalogue: %s has no entry for %s@%s: build again with --force", path.Join(packDir(it.s.Name), FeedFile), it.s.Name, it.r.Version)
			}
			e.Links = []atomLink{e.Links[0]}
			e.Links[0].Href = packDir(it.s.Name) + "/" + e.Links[0].Href
			return e, nil
		})
}

// readPackFeed reads the entries of a pack's feed in this site, by ID,
// when it still holds the bytes with SHA-256 sha, the feed this build
// wrote or kept for the pack (updating in place, another writer of the
// dir could have put a stale feed back since: attackV F1).
func (g *gen) readPackFeed(name, sha string) (map[string]atomEntry, error) {
	rel := path.Join(packDir(name), FeedFile)
	f, err := safefile.OpenIn(g.out, filepath.FromSlash(rel)) // never a FIFO planted in a shared out dir
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReused))
	if err != nil {
		return nil, fmt.Errorf("catalogue: read %s: %w", rel, err)
	}
	if index.Digest(b) != sha {
		return nil, fmt.Errorf("%w: %s changed while the catalogue was written (not the feed its page names): build again", ErrNotWritten, filepath.Join(g.dir, filepath.FromSlash(rel)))
	}
	var pf atomFeed
	if err := xml.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("catalogue: read %s: %w", rel, err)
	}
	out := make(map[string]atomEntry, len(pf.Entries))
	for _, e := range pf.Entries {
		out[e.ID] = e
	}
	return out, nil
}
