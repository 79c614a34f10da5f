package rebuild

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/source"
	"github.com/packgen/packgen/translog"
)

// LogReport is the outcome of CheckLog.
type LogReport struct {
	Entries  int64     `json:"entries"`
	Commit   string    `json:"commit"` // the built commit the site's index.json records
	Problems []Problem `json:"problems"`
}

// CheckLog replays the site's transparency log against the repository:
// each entry must name a commit on the first-parent history of the
// commit the site was built from. With client.VerifySite (every entry is
// exactly one release of the signed index, every release in the log) and
// Check (every release is its git tree, rebuilt byte for byte) it
// proves that the whole published history is the repository's: what
// `packgen log audit` runs.
func (s *Site) CheckLog(ctx context.Context) (*LogReport, error) {
	loc, repo, root := s.loc, s.repo, s.root
	fetch := transport.Fetch(s.tr)
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w: index.json names no transparency log", loc, translog.ErrNotIncluded)
	}
	rep := &LogReport{Entries: tree.N, Commit: root.Source.Commit, Problems: []Problem{}}
	onBranch, err := firstParents(repo, root.Source.Commit)
	if err != nil {
		// Not this repository (or a shallow clone): a finding, not an
		// operational failure; the rebuild check says which releases.
		rep.Problems = append(rep.Problems, Problem{Path: index.RootFile, Msg: err.Error()})
		onBranch = map[string]bool{}
	}
	err = translog.ReadEntries(ctx, tree, fetch, 0, func(i int64, b []byte) error {
		e, err := translog.ParseEntry(b)
		p := fmt.Sprintf("%s#%d", index.LogDir, i)
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Path: p, Msg: err.Error()})
			return nil
		}
		if !onBranch[e.Commit] {
			rep.Problems = append(rep.Problems, Problem{Pack: e.Name, Version: e.Version, Path: p, Msg: fmt.Sprintf("commit %s is not on the first-parent history of %s (the built commit %s)", short(e.Commit), root.Source.Ref, short(root.Source.Commit))})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay the log of %s: %w", loc, err)
	}
	return rep, nil
}

// firstParents is the set of commits on the first-parent history of head.
func firstParents(repo *source.Repo, head string) (map[string]bool, error) {
	set := map[string]bool{}
	c, err := repo.Git().CommitObject(plumbing.NewHash(head))
	for err == nil {
		set[c.Hash.String()] = true
		if c.NumParents() == 0 {
			return set, nil
		}
		c, err = c.Parent(0)
	}
	return nil, fmt.Errorf("history of %s: %w (is the clone complete? fetch full history)", short(head), err)
}
