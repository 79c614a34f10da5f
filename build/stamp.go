package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/sitedir"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/pack/meta"
)

// StampFile is where a build records, in its output dir, what it was
// built from: the commit, the options and Options.Stamp, with a digest
// of the index.json it wrote. A build from the same again finds the site
// already there and returns at once, without reading the previous
// site's shards, the history or the catalogue (an unchanged CI rebuild
// costs a few milliseconds). A dot file: publish and serve leave it out.
const StampFile = sitedir.BuildRecord

const (
	stampFormat  = 1
	maxStampSize = 16 << 20
)

type stampRecord struct {
	Format int    `json:"format"`
	Inputs string `json:"inputs"` // sha256 of stampInputs as JSON
	Commit string `json:"commit"`
	Index  string `json:"index"` // sha256 of index.json
	// What building the same again reports: every release reused.
	Reused   int           `json:"reused"`
	Carried  int           `json:"carried"`
	Skipped  int           `json:"skipped"`
	Unsigned bool          `json:"unsigned"`
	Problems meta.Problems `json:"problems,omitempty"`
}

// stampInputs is everything that shapes a build's output. Jobs, Log
// and Progress do not; Out is where the record lives.
type stampInputs struct {
	Format      int    `json:"format"`
	Commit      string `json:"commit"`
	Ref         string `json:"ref"`
	PacksDir    string `json:"packsDir"`
	History     bool   `json:"history"`
	Registry    string `json:"registry"`
	RepoURL     string `json:"repoURL"`
	SkipInvalid bool   `json:"skipInvalid"`
	ExpiresIn   int64  `json:"expiresIn"`
	GeneratedAt int64  `json:"generatedAt"`
	Signed      bool   `json:"signed"`
	Site        bool   `json:"site"`
	Stamp       string `json:"stamp"`
	Since       string `json:"since,omitempty"` // resolved commit
}

// stampable reports whether this build may use and write a record: the
// caller identified what lies outside Options, and the previous build is
// Out itself (a URL or other dir can change without Out knowing).
func stampable(o Options) bool {
	if o.Stamp == "" {
		return false
	}
	return o.Previous == "" || samePath(o.Previous, o.Out)
}

func inputsDigest(o Options, commit string) string {
	ref := o.Ref
	if ref == "" {
		ref = "HEAD"
	}
	in := stampInputs{
		Format: stampFormat, Commit: commit, Ref: ref,
		PacksDir: path.Clean("/" + o.PacksDir), History: o.History,
		Registry: o.Registry, RepoURL: o.RepoURL, SkipInvalid: o.SkipInvalid,
		ExpiresIn: int64(o.ExpiresIn), Signed: o.Signer != nil, Site: o.Site != nil, Stamp: o.Stamp,
		Since: o.Since,
	}
	if !o.GeneratedAt.IsZero() {
		in.GeneratedAt = o.GeneratedAt.UnixNano()
	}
	data, _ := json.Marshal(in)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// replay returns the result of the build recorded in Out when it was
// made from these very inputs and its index.json is the one it wrote;
// nil otherwise (no record, other inputs, an edited or unreadable site).
func replay(ctx context.Context, o Options, inputs, commit string) *Result {
	read := outReader(o.Out)
	data, err := read(ctx, StampFile, maxStampSize)
	if err != nil {
		return nil
	}
	var rec stampRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Format != stampFormat || rec.Inputs != inputs || rec.Commit != commit {
		return nil
	}
	raw, err := read(ctx, index.RootFile, index.MaxRootSize)
	if err != nil || index.Digest(raw) != rec.Index {
		return nil
	}
	root, err := index.ParseRoot(raw)
	if err != nil || root.Source.Commit != commit {
		return nil
	}
	// A signed site must still hold the signature of this very index.
	if !rec.Unsigned {
		if _, err := os.Lstat(filepath.Join(o.Out, filepath.FromSlash(index.RootSignaturePath(rec.Index)))); err != nil {
			return nil
		}
	}
	if o.Site != nil {
		if o.SiteCheck == nil {
			return nil
		}
		if err := o.SiteCheck(o.Out); err != nil {
			fmt.Fprintf(o.Log, "building again: %v\n", err)
			return nil
		}
	}
	res := &Result{Snapshot: Snapshot{Root: root}, Reused: rec.Reused, Carried: rec.Carried, Skipped: rec.Skipped, Unsigned: rec.Unsigned, Problems: rec.Problems}
	fmt.Fprintf(o.Log, "nothing to do: %s was built from commit %s with these options\n", o.Out, short(commit))
	return res
}

// writeStamp records a finished build. A failure only costs the next
// build its short cut, so it is reported, not returned.
func writeStamp(ctx context.Context, o Options, inputs, commit string, res *Result, replayed meta.Problems) {
	raw, err := outReader(o.Out)(ctx, index.RootFile, index.MaxRootSize)
	if err == nil {
		rec := stampRecord{
			Format: stampFormat, Inputs: inputs, Commit: commit, Index: index.Digest(raw),
			Reused: res.Archived + res.Reused, Carried: res.Carried, Skipped: res.Skipped,
			Unsigned: res.Unsigned, Problems: replayed,
		}
		var data []byte
		if data, err = json.MarshalIndent(rec, "", "  "); err == nil {
			err = atomicfile.WriteFile(filepath.Join(o.Out, StampFile), append(data, '\n'), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(o.Log, "note: could not record the build in %s (%v): the next build will not take the short cut\n", StampFile, err)
	}
}

// outReader reads files of the out dir the way a previous build is
// read: regular files only (a FIFO would block), up to a size.
func outReader(out string) index.FetchFunc {
	tr, err := transport.New(out, "", 0, 0)
	if err != nil {
		return func(context.Context, string, int64) ([]byte, error) { return nil, err }
	}
	return transport.Fetch(tr)
}

// dropStamp removes the record before a build changes Out in place, so
// a build that dies half-way is never taken for the recorded one. It
// reports whether there was one: then the build before finished, and
// left nothing unindexed behind (see sweepUnreferenced).
func dropStamp(out string) (finished bool, err error) {
	if err := os.Remove(filepath.Join(out, StampFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("remove %s: %w", StampFile, err)
	}
	return true, nil
}
