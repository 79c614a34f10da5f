package site

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/factfile"
	"github.com/packgen/packgen/internal/progid"
	"github.com/packgen/packgen/internal/safefile"
)

// imageCache remembers image views by archive digest in the build
// machine's cache (the directory where the build remembers verified
// archives), so a page re-rendered for another reason (a new packgen, a
// build whose previous site is not local) does not render the same
// charts again: a rebuild's image work is O(changed releases). What it
// holds is a pure function of the archive's bytes and of this packgen,
// so it never makes a page differ from a fresh one; it is trusted as
// much as the rest of that directory.
//
// Views stay on disk: memory holds only where each one lies. A cold
// build of a thousand chart-heavy packs finds about 18 MB of them; held
// until the save (and copied into the file written) they put its peak
// RSS over budget (docs/PERFORMANCE.md, "Peak RSS of a cold build").
type imageCache struct {
	file string
	mu   sync.Mutex
	// old is the cache file as the build found it, kept open; oldAt
	// says where its views are.
	old   *os.File
	oldAt map[string]factfile.At
	// spill holds the views this build found, appended as they are
	// found: a temp file in the cache dir, unlinked at once where the
	// system allows (spillName is set while it still has a name).
	spill     *os.File
	spillName string
	spillAt   map[string]factfile.At
	spillEnd  int64
	noSpill   bool            // the temp file could not be made: remember nothing
	used      map[string]bool // digests whose views this build read or found
	hits      int
}

// imageCacheFile names the cache; a change to what a view holds starts a
// new one. Its first line names the packgen that wrote it, then one line
// per archive: its sha256, a space and the view as JSON.
const imageCacheFile = "catalogue-images-v1.txt"

// Bounds on the cache file: past maxImageCache bytes it is not read (and
// starts over); past maxImageEntries only this build's views are kept.
const (
	maxImageCache   = 64 << 20
	maxImageEntries = 20000
)

const imageCacheHeader = "packgen catalogue images v1 "

// loadImageCache opens the cache in dir ("" for none) and indexes it.
// A file that cannot be read or is not this packgen's is started over.
func loadImageCache(dir string) *imageCache {
	c := &imageCache{oldAt: map[string]factfile.At{}, spillAt: map[string]factfile.At{}, used: map[string]bool{}}
	if dir == "" {
		return c
	}
	c.file = filepath.Join(dir, imageCacheFile)
	f, err := safefile.Open(c.file)
	if err != nil {
		return c // none yet, or unreadable: start over
	}
	at, ok := factfile.Index(f, imageCacheHeader+imageKeyOnce(), maxImageCache, maxImageEntries)
	if !ok {
		f.Close()
		return c
	}
	c.old, c.oldAt = f, at
	return c
}

// where says in which file and where in it a digest's view lies: this build's first.
// The caller holds c.mu.
func (c *imageCache) where(sha string) (*os.File, factfile.At, bool) {
	if s, ok := c.spillAt[sha]; ok {
		return c.spill, s, true
	}
	if s, ok := c.oldAt[sha]; ok && c.old != nil {
		return c.old, s, true
	}
	return nil, factfile.At{}, false
}

// lookup is the remembered view of the archive with this digest.
func (c *imageCache) lookup(sha string) (*imageView, bool) {
	c.mu.Lock()
	f, s, ok := c.where(sha)
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	b, ok := factfile.ReadAt(f, sha, s)
	if !ok {
		return nil, false
	}
	var v imageView
	if json.Unmarshal(b, &v) != nil {
		return nil, false
	}
	c.mu.Lock()
	c.used[sha] = true
	c.hits++
	c.mu.Unlock()
	return &v, true
}

// store remembers the view of the archive with this digest: appended to
// the spill file, nothing kept in memory but where it is.
func (c *imageCache) store(sha string, v *imageView) {
	if c.file == "" {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	// A line as the cache file holds it, so either is read alike
	// (factfile.ReadAt, which checks the key).
	line, err := factfile.Line(sha, b)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spill == nil && !c.openSpill() {
		return
	}
	if _, err := c.spill.WriteAt(line, c.spillEnd); err != nil {
		return
	}
	c.spillAt[sha] = factfile.ValueAt(line, c.spillEnd)
	c.spillEnd += int64(len(line))
	c.used[sha] = true
}

// openSpill makes the spill file beside the cache file; the caller holds
// c.mu. It is unlinked at once where an open file can be (so a crash
// leaves nothing), else when the cache is closed.
func (c *imageCache) openSpill() bool {
	if c.noSpill {
		return false
	}
	dir := filepath.Dir(c.file)
	f, err := os.CreateTemp(dir, ".catalogue-images-*")
	if err != nil && errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.CreateTemp(dir, ".catalogue-images-*")
		}
	}
	if err != nil {
		c.noSpill = true
		return false
	}
	c.spill = f
	if os.Remove(f.Name()) != nil {
		c.spillName = f.Name()
	}
	return true
}

// save writes the cache back when this build found views: the ones it
// used and, while the file stays small, the ones other builds (other
// registries on this machine) used. It streams: each view is copied
// from where it lies.
func (c *imageCache) save() error {
	if c.file == "" || len(c.spillAt) == 0 {
		return nil
	}
	keys := make([]string, 0, len(c.used)+len(c.oldAt))
	for k := range c.used {
		keys = append(keys, k)
	}
	if len(c.used)+len(c.oldAt) <= maxImageEntries {
		for k := range c.oldAt {
			if !c.used[k] {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	err := atomicfile.WriteWith(c.file, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		bw.WriteString(imageCacheHeader + imageKeyOnce() + "\n")
		for _, k := range keys {
			f, s, ok := c.where(k)
			if !ok {
				continue
			}
			buf, ok := factfile.ReadAt(f, k, s)
			if !ok { // not the line indexed: the old file changed under this build
				continue
			}
			bw.WriteString(k + " ")
			bw.Write(buf)
			bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		c.closeOld() // before the rename, for systems that refuse to replace an open file
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalogue: image cache: %w", err)
	}
	return nil
}

func (c *imageCache) closeOld() {
	if c.old != nil {
		c.old.Close()
		c.old, c.oldAt = nil, map[string]factfile.At{}
	}
}

// close releases the files; the cache is not used after.
func (c *imageCache) close() {
	c.closeOld()
	if c.spill != nil {
		c.spill.Close()
		if c.spillName != "" {
			os.Remove(c.spillName)
		}
		c.spill, c.spillAt = nil, map[string]factfile.At{}
	}
}

var imageKeyOnce = sync.OnceValue(imageKey)

// imageKey identifies the packgen whose image finding filled the cache:
// pageVersion and progid's name of this build. That names Helm's version
// too: charts render in packgen-helm, which must be the same build
// (internal/chartproto's handshake), and packgen itself links no Helm,
// so its build info lists none; for an unpinned build, the helper's file
// is named as well. A build with no name to be sure of gets
// a key no cache file holds: it starts the cache over.
func imageKey() string {
	id := progid.Name()
	if id == "" {
		var nonce [8]byte
		rand.Read(nonce[:])
		id = "unnamed " + hex.EncodeToString(nonce[:])
	}
	if !progid.Pinned() {
		// The handshake's build ID cannot tell a chart renderer rebuilt
		// alone from an unpinned tree: its file can.
		if p, err := images.LookupHelper(); err == nil {
			if file, err := progid.FileID(p); err == nil {
				id += " helper=" + file
			}
		}
	}
	return pageVersion + " " + id
}
