package site

import (
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"sort"
	"time"

	"github.com/packgen/packgen/index"
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
	Summary string     `xml:"summary"`
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

// feed renders items (already ordered) as an Atom document. page maps an
// item to its pack page relative to the feed.
func (g *gen) feed(id, title, self, home string, items []feedItem, page func(feedItem) string) ([]byte, error) {
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
		f.Entries = append(f.Entries, atomEntry{
			ID:      uuidURN(g.root.Registry + "\x00" + it.s.Name + "@" + it.r.Version + "\x00" + it.r.Archive.SHA256),
			Title:   displayName(it.r, it.s.Name) + " " + it.r.Version,
			Updated: atomTime(it.r.Created),
			Links:   []atomLink{{Rel: "alternate", Type: "text/html", Href: page(it)}},
			Summary: summary(it),
		})
	}
	f.Updated = atomTime(newest)
	b, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, fmt.Errorf("catalogue: feed: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func summary(it feedItem) string {
	s := it.s.Name + "@" + it.r.Version + ": " + layerLabel(it.r.Layer)
	if t := addonType(it.r.AddonType); t != "" {
		s += " (" + t + ")"
	}
	switch {
	case it.r.Deprecated():
		s += ", deprecated"
	}
	return s + ". Fetch with: packgen fetch " + it.s.Name + "@" + it.r.Version + " (sha256 " + it.r.Archive.SHA256 + ")."
}

func (g *gen) registryName() string {
	if g.root.Registry != "" {
		return g.root.Registry
	}
	return "Pack catalogue"
}

// packFeed is packs/NAME/feed.xml: the pack's listed releases.
func (g *gen) packFeed(s *index.Shard) ([]byte, error) {
	var items []feedItem
	for i := range s.Releases {
		if !s.Releases[i].Deleted() {
			items = append(items, feedItem{s, &s.Releases[i], i})
		}
	}
	newestFirst(items)
	return g.feed(g.root.Registry+"\x00pack\x00"+s.Name, displayName(s.Latest(), s.Name)+" releases · "+g.registryName(),
		FeedFile, pageFile, items, func(feedItem) string { return pageFile })
}

// registryFeed is feed.xml: the newest releases of every listed pack.
func (g *gen) registryFeed(entries []*entry) ([]byte, error) {
	var items []feedItem
	for _, e := range entries {
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
	return g.feed(g.root.Registry+"\x00registry", "New releases · "+g.registryName(), FeedFile, IndexFile, items,
		func(it feedItem) string { return PagePath(it.s.Name) })
}
