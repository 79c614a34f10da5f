package build

import (
	"os"
	"path/filepath"
	"strings"

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
	*factfile.Set // no file: nothing remembered, every reused archive compared
}

// verifiedFormat names the file: a change to what Compare proves (new
// ignore rules, say) starts a new one.
const verifiedFormat = "verified-archives-v1.txt"

// maxVerifiedSize bounds what is read back; past it the file starts over.
const maxVerifiedSize = 64 << 20

func loadVerified(dir string) *verifiedSet {
	file := ""
	if dir != "" {
		file = filepath.Join(dir, verifiedFormat)
	}
	return &verifiedSet{factfile.Load(file, maxVerifiedSize, func(line string) bool {
		archive := len(line) == 64+1+40 && line[64] == ' '
		signature := strings.HasPrefix(line, "sig ") && len(line) == 4+12+1+64+1+64
		stat := strings.HasPrefix(line, "stat ") && len(line) > 5+64+1 && len(line) < 256
		sigStat := strings.HasPrefix(line, "sigstat ") && len(line) > 8+12+1+64+1 && len(line) < 320
		return archive || signature || stat || sigStat
	})}
}

func (v *verifiedSet) has(sha256, tree string) bool { return v.Has(sha256 + " " + tree) }

func (v *verifiedSet) add(sha256, tree string) {
	if len(sha256) != 64 || len(tree) != 40 {
		return
	}
	v.Add(sha256 + " " + tree)
}

// hasFact and addFact keep other proved facts in the same file: "sig
// KEYID12 SIGS-SHA256 ARCHIVE-SHA256", a signature and bundle verified
// under a key (trust.go's ownSigned).
func (v *verifiedSet) hasFact(k string) bool { return v.Has(k) }

func (v *verifiedSet) addFact(k string) { v.Add(k) }

// statFact names "the file described by fi (factfile.State) holds the
// archive with SHA-256 sha": "stat SHA STATE". "" when fi cannot be
// described.
func statFact(fi os.FileInfo, sha string) string {
	state := factfile.State(fi)
	if state == "" {
		return ""
	}
	return "stat " + sha + " " + state
}

// signedStateFact names "the .sig and bundle files described by sig and
// bundle (factfile.State; bundle "-" when the release has none) are key's
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
func (v *verifiedSet) save() { v.Save(0o644) }
