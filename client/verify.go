package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/sign"
)

// SiteProblem is one thing wrong with a registry site.
type SiteProblem struct {
	Path string `json:"path"`
	Err  string `json:"error"`
}

// SiteReport is the result of VerifySite.
type SiteReport struct {
	Packs    int           `json:"packs"`
	Releases int           `json:"releases"`
	Files    int           `json:"files"`
	Problems []SiteProblem `json:"problems"`
	// Expired, when set, says index.json has expired: its files may all
	// verify, but every client refuses it (ErrExpired), as a frozen
	// mirror's. It is kept apart from Problems so a caller checking an
	// old site's files can tell; one deciding whether the site is usable
	// must count it, as AllProblems does (verify --site uses that).
	Expired *SiteProblem `json:"-"`
}

// AllProblems is Problems with Expired, if set, in order.
func (r *SiteReport) AllProblems() []SiteProblem {
	if r.Expired == nil {
		return r.Problems
	}
	all := append([]SiteProblem{*r.Expired}, r.Problems...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	return all
}

// VerifySite checks every digest and signature of a whole registry site
// (a directory or URL) and reports every problem, not just the first.
// verifier may be nil to check digests only.
func VerifySite(ctx context.Context, loc string, verifier *sign.Verifier) (*SiteReport, error) {
	tr, err := NewTransport(loc, "", 0)
	if err != nil {
		return nil, err
	}
	rep := &SiteReport{Problems: []SiteProblem{}}
	var mu sync.Mutex
	problem := func(p string, err error) {
		mu.Lock()
		rep.Problems = append(rep.Problems, SiteProblem{Path: p, Err: err.Error()})
		mu.Unlock()
	}
	get := func(p string, max int64) ([]byte, error) {
		resp, err := tr.Get(ctx, p, "")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
		if err == nil && int64(len(data)) > max {
			err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
		}
		mu.Lock()
		rep.Files++
		mu.Unlock()
		return data, err
	}
	rootData, err := get(index.RootFile, index.MaxRootSize)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", index.RootFile, err)
	}
	checkSig := func(p string, data []byte, sigPath string) {
		if verifier == nil {
			return
		}
		sig, err := get(sigPath, sign.MaxSigFileSize)
		if errors.Is(err, index.ErrNotFound) {
			problem(p, fmt.Errorf("%w: no signature %s", ErrUnsigned, sigPath))
			return
		}
		if err != nil {
			problem(sigPath, err)
			return
		}
		if err := verifier.VerifyBlob(bytes.NewReader(data), sig); err != nil {
			problem(p, err)
		}
	}
	checkSig(index.RootFile, rootData, index.RootSignaturePath(index.Digest(rootData)))
	root, err := index.ParseRoot(rootData)
	if err != nil {
		problem(index.RootFile, err)
		return rep, nil
	}
	// An expired index is what a frozen mirror serves: every client
	// refuses it, so the site is broken however good its signatures are.
	if now := time.Now(); now.After(root.Expires) {
		rep.Expired = &SiteProblem{Path: index.RootFile, Err: fmt.Sprintf("%v", fmt.Errorf("%w: expired at %s (%s ago); rebuild and publish it (packgen build, with SOURCE_DATE_EPOCH=$(date +%%s) to refresh without a new commit)", ErrExpired, root.Expires.Format(time.RFC3339), now.Sub(root.Expires).Round(time.Minute)))}
	}
	pinned := func(ref index.FileRef) ([]byte, bool) {
		data, err := get(ref.Path, ref.Size)
		if err != nil {
			problem(ref.Path, err)
			return nil, false
		}
		if int64(len(data)) != ref.Size || index.Digest(data) != ref.SHA256 {
			problem(ref.Path, fmt.Errorf("%w: expected sha256 %s (%d bytes), got %s (%d bytes)", ErrDigestMismatch, ref.SHA256, ref.Size, index.Digest(data), len(data)))
			return nil, false
		}
		return data, true
	}
	type job struct {
		name string
		rel  index.Release
	}
	var jobs []job
	_ = index.WalkBuckets(root, func(ref index.FileRef) ([]byte, error) {
		if data, ok := pinned(ref); ok {
			return data, nil
		}
		return nil, index.SkipNode
	}, func(ref index.FileRef, b *index.Bucket, err error) error {
		if err != nil {
			problem(ref.Path, err)
			return nil
		}
		for _, s := range b.Packs {
			rep.Packs++
			data, ok := pinned(s.Shard)
			if !ok {
				continue
			}
			shard, err := index.ParseShard(data, s.Name)
			if err != nil {
				problem(s.Shard.Path, err)
				continue
			}
			for _, r := range shard.Releases {
				jobs = append(jobs, job{s.Name, r})
			}
		}
		return nil
	})
	rep.Releases = len(jobs)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j job) {
			defer wg.Done()
			defer func() { <-sem }()
			ref := j.rel.Archive
			resp, err := tr.Get(ctx, ref.Path, "")
			if err != nil {
				problem(ref.Path, err)
				return
			}
			h := sha256.New()
			n, err := io.Copy(h, io.LimitReader(resp.Body, ref.Size+1))
			resp.Body.Close()
			mu.Lock()
			rep.Files++
			mu.Unlock()
			if err != nil {
				problem(ref.Path, err)
				return
			}
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			if n != ref.Size || hex.EncodeToString(sum[:]) != ref.SHA256 {
				problem(ref.Path, fmt.Errorf("%w: expected sha256 %s (%d bytes), got %s (%d bytes)", ErrDigestMismatch, ref.SHA256, ref.Size, hex.EncodeToString(sum[:]), n))
				return
			}
			if verifier == nil {
				return
			}
			if j.rel.Signature == "" {
				problem(ref.Path, fmt.Errorf("%w: release has no signature", ErrUnsigned))
				return
			}
			raw, err := get(j.rel.Signature, sign.MaxSigFileSize)
			if err != nil {
				problem(j.rel.Signature, err)
				return
			}
			sig, err := sign.DecodeSigFile(raw)
			if err != nil {
				problem(j.rel.Signature, err)
				return
			}
			open := func() (io.ReadCloser, error) {
				r, err := tr.Get(ctx, ref.Path, "")
				if err != nil {
					return nil, err
				}
				return r.Body, nil
			}
			if err := verifier.VerifyDigest(sum, open, sig); err != nil {
				problem(ref.Path, err)
			}
		}(j)
	}
	wg.Wait()
	sort.Slice(rep.Problems, func(i, j int) bool {
		if rep.Problems[i].Path != rep.Problems[j].Path {
			return rep.Problems[i].Path < rep.Problems[j].Path
		}
		return rep.Problems[i].Err < rep.Problems[j].Err
	})
	return rep, nil
}
