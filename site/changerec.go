package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/safefile"
)

// A version's change view is computed once, by the build that adds the
// version, and then carried from page to page: each page stores what its
// archives' comparison found (a JSON block that is never run, like the
// versions data), and the next build that renders the page again takes
// every record whose two archives are still the same from the previous
// page instead of comparing the archives again.

// changeRecord is what comparing two archives found, as a page stores it.
type changeRecord struct {
	Version string `json:"version"`
	From    string `json:"from"`
	To      string `json:"to"`   // SHA-256 of Version's archive
	Base    string `json:"base"` // SHA-256 of From's archive
	// Shallow: the archives were not compared (only the latest version's
	// and the newest release's are).
	Shallow    bool         `json:"shallow,omitempty"`
	Files      []fileChange `json:"files,omitempty"`
	More       int          `json:"more,omitempty"`
	ImagesAdd  []string     `json:"imagesAdd,omitempty"`
	ImagesGone []string     `json:"imagesGone,omitempty"`
}

// changeRecords is the page's JSON block; V changes with what a record means.
type changeRecords struct {
	V       int            `json:"v"`
	Changes []changeRecord `json:"changes"`
}

const changeRecordsV = 1

// changesDataOpen starts the block in a page.
const changesDataOpen = `<script type="application/json" id="changes-data">`

func recordKey(version, from, to, base string) string {
	return version + "\x00" + from + "\x00" + to + "\x00" + base
}

func (r *changeRecord) key() string { return recordKey(r.Version, r.From, r.To, r.Base) }

// previousChanges reads the records of the previous build's page of a
// pack. A page that cannot be read, or of another format, gives none.
func (g *gen) previousChanges(name string) map[string]*changeRecord {
	if g.prev == "" {
		return nil
	}
	p := filepath.Join(g.prev, filepath.FromSlash(PagePath(name)))
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	page, err := safefile.ReadFile(p, maxReused)
	if err != nil {
		return nil
	}
	_, rest, ok := bytes.Cut(page, []byte(changesDataOpen))
	if !ok {
		return nil
	}
	data, _, ok := bytes.Cut(rest, []byte("</script>"))
	if !ok {
		return nil
	}
	var d changeRecords
	if json.Unmarshal(data, &d) != nil || d.V != changeRecordsV {
		return nil
	}
	recs := map[string]*changeRecord{}
	for i := range d.Changes {
		recs[d.Changes[i].key()] = &d.Changes[i]
	}
	return recs
}

// changesJSON is the page's block of records; encoding/json escapes <,
// > and &, so the data cannot close its script element.
func changesJSON(name string, ch []change) (template.JS, error) {
	d := changeRecords{V: changeRecordsV, Changes: make([]changeRecord, 0, len(ch))}
	for _, c := range ch {
		d.Changes = append(d.Changes, c.rec)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("catalogue: %s: change records: %w", name, err)
	}
	return template.JS(b), nil // #nosec: JSON with <, > and & escaped
}

// baseOf is the release rs[i] (sorted oldest version first) is compared
// with: the highest lower version published no later than it. A patch
// on an older line published after a newer version is compared with
// its own line's previous release, and the newer version keeps its
// base. -1 for none; a release without a date (a build without
// history) takes the next lower version.
func baseOf(rs []index.Release, i int) int {
	for j := i - 1; j >= 0; j-- {
		if rs[i].Created.IsZero() || rs[j].Created.IsZero() || !rs[j].Created.After(rs[i].Created) {
			return j
		}
	}
	return -1
}
