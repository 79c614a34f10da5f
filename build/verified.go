package build

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/factfile"
)

// verifiedSet remembers which archives were proved to be which git
// trees: a line "<archive sha256> <tree hash>" for every archive this
// machine built from git or compared with git (rebuild.Compare); and
// which signatures it verified (see addFact). Both
// are content hashes, so the fact never goes stale, and a rebuild that
// reuses thousands of releases then checks each archive's digest (it
// must still be those bytes) instead of inflating and hashing every
// file again: O(what changed) as before.
//
// The file lives on the build machine (the user's cache dir, beside the
// repository's clone), never in the out dir or the bucket: what it says
// is trusted as much as the git objects on that machine are.
type verifiedSet struct {
	file  string // "" = nothing remembered, every reused archive compared
	mu    sync.Mutex
	known map[string]bool
	added []string
}

// verifiedFormat names the file: a change to what Compare proves (new
// ignore rules, say) starts a new one.
const verifiedFormat = "verified-archives-v1.txt"

// maxVerifiedSize bounds what is read back; past it the file starts over.
const maxVerifiedSize = 64 << 20

func loadVerified(dir string) *verifiedSet {
	v := &verifiedSet{known: map[string]bool{}}
	if dir == "" {
		return v
	}
	v.file = filepath.Join(dir, verifiedFormat)
	all := factfile.Read(v.file, maxVerifiedSize)
	v.known = make(map[string]bool, strings.Count(all, "\n")+64)
	for line := range strings.Lines(all) {
		line = strings.TrimSuffix(line, "\n")
		archive := len(line) == 64+1+40 && line[64] == ' '
		signature := strings.HasPrefix(line, "sig ") && len(line) == 4+12+1+64+1+64
		stat := strings.HasPrefix(line, "stat ") && len(line) > 5+64+1 && len(line) < 256
		sigStat := strings.HasPrefix(line, "sigstat ") && len(line) > 8+12+1+64+1 && len(line) < 320
		if archive || signature || stat || sigStat {
			v.known[line] = true
		}
	}
	return v
}

func (v *verifiedSet) has(sha256, tree string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.known[sha256+" "+tree]
}

func (v *verifiedSet) add(sha256, tree string) {
	if len(sha256) != 64 || len(tree) != 40 {
		return
	}
	v.addFact(sha256 + " " + tree)
}

// hasFact and addFact keep other proved facts in the same file: "sig
// KEYID12 SIGS-SHA256 ARCHIVE-SHA256", a signature and bundle verified
// under a key (trust.go's ownSigned).
func (v *verifiedSet) hasFact(k string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.known[k]
}

func (v *verifiedSet) addFact(k string) {
	if k == "" {
		return
	}
	v.mu.Lock()
	if !v.known[k] {
		v.known[k] = true
		v.added = append(v.added, k)
	}
	v.mu.Unlock()
}

// statFact names "the file described by fi (fileState) holds the
// archive with SHA-256 sha": "stat SHA STATE". "" when fi cannot be
// described.
func statFact(fi os.FileInfo, sha string) string {
	state := fileState(fi)
	if state == "" {
		return ""
	}
	return "stat " + sha + " " + state
}

// signedStateFact names "the .sig and bundle files described by sig and
// bundle (fileState; bundle "-" when the release has none) are key's
// signature of the archive with SHA-256 archiveSHA and a bundle carrying
// it": "sigstat KEYID12 ARCHIVE-SHA256 SIGSTATE BUNDLESTATE". A rebuild
// keeping thousands of signatures then stats their files instead of
// reading them (10,000 files, five syscalls each). "" when a file
// cannot be described.
func signedStateFact(keyID, archiveSHA, sig, bundle string) string {
	if sig == "" || bundle == "" {
		return ""
	}
	return "sigstat " + index.ShortHash(keyID) + " " + archiveSHA + " " + sig + " " + bundle
}

// save appends what this build proved (factfile.Append: whole lines,
// concurrent builds not interleaved; a file grown past the bound is
// replaced by this build's facts alone).
func (v *verifiedSet) save() {
	factfile.Append(v.file, v.added, maxVerifiedSize, 0o644)
}
