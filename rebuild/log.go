package rebuild

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/transport"
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
//
// The history walked is the built commit's (index.json's source.commit),
// never the clone's HEAD or a branch: what is checked out does not
// matter. When the repository lacks the built commit, or its history is
// cut short (a shallow clone), that is the one problem reported: the
// entries cannot be placed, and a problem for each would only repeat it.
func (s *Site) CheckLog(ctx context.Context) (*LogReport, error) {
	loc, root := s.loc, s.root
	fetch := transport.Fetch(s.tr)
	tree, ok, err := translog.TreeOf(root)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w: index.json names no transparency log", loc, translog.ErrNotIncluded)
	}
	rep := &LogReport{Entries: tree.N, Commit: root.Source.Commit, Problems: []Problem{}}
	onBranch, complete, err := s.firstParents()
	if err != nil {
		return nil, err
	}
	if p := s.builtCommitProblem(); p != nil {
		rep.Problems = append(rep.Problems, *p)
	} else if !complete {
		rep.Problems = append(rep.Problems, Problem{Path: index.RootFile, Msg: fmt.Sprintf("the first-parent history of the built commit %s is cut short in %s (a shallow clone?): the log's entries cannot all be placed on it; fetch full history (git fetch --unshallow) and run again", short(root.Source.Commit), s.repoPath)})
	}
	err = translog.ReadEntries(ctx, tree, fetch, 0, func(i int64, b []byte) error {
		e, err := translog.ParseEntry(b)
		p := fmt.Sprintf("%s#%d", index.LogDir, i)
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Path: p, Msg: err.Error()})
			return nil
		}
		if onBranch[e.Commit] || !complete {
			return nil // on the branch, or not placeable (reported once above)
		}
		var msg string
		if s.hasCommit(e.Commit) {
			msg = fmt.Sprintf("commit %s is in %s but not on the first-parent history of the built commit %s (built from ref %s): the registry published a release from another branch; its log must name only commits of the branch it is built from", short(e.Commit), s.repoPath, short(root.Source.Commit), refName(root.Source.Ref))
		} else {
			msg = fmt.Sprintf("commit %s is not in %s, which holds the built commit %s and its whole first-parent history: the registry published a release from a commit outside that history (another repository, or history since rewritten)", short(e.Commit), s.repoPath, short(root.Source.Commit))
		}
		rep.Problems = append(rep.Problems, Problem{Pack: e.Name, Version: e.Version, Path: p, Msg: msg})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay the log of %s: %w", loc, err)
	}
	return rep, nil
}

// builtCommitProblem is the problem of a repository that does not hold
// the commit the site was built from, or nil when it does. Whether the
// repository is another one or a clone that lacks the commit cannot be
// told apart from here (nor from a registry built from a commit its
// public repository never had): a failed check, worded for all three.
func (s *Site) builtCommitProblem() *Problem {
	src := s.root.Source
	if s.hasCommit(src.Commit) {
		return nil
	}
	from := ""
	if src.Repo != "" {
		from = " of " + src.Repo
	}
	repo := s.repoPath
	if u := s.repo.RemoteURL(); u != "" && u != src.Repo {
		repo += " (origin " + u + ")"
	}
	msg := fmt.Sprintf("the registry was built from commit %s%s (index.json's source), and %s does not contain that commit: either it is another repository, or this clone lacks the commit (a shallow clone, or one fetched before the build); git fetch (git fetch --unshallow for a shallow clone) or clone the registry's repository with full history, and run again", short(src.Commit), from, repo)
	return &Problem{Path: index.RootFile, Msg: msg}
}

// hasCommit says whether the repository's object store holds commit h.
func (s *Site) hasCommit(h string) bool {
	_, err := s.repo.Git().CommitObject(plumbing.NewHash(h))
	return err == nil
}

// firstParents is the set of commits on the first-parent history of the
// built commit, and whether that history is whole (false: the built
// commit is absent, or a parent is missing, as in a shallow clone).
func (s *Site) firstParents() (map[string]bool, bool, error) {
	set := map[string]bool{}
	c, err := s.repo.Git().CommitObject(plumbing.NewHash(s.root.Source.Commit))
	for err == nil {
		set[c.Hash.String()] = true
		if c.NumParents() == 0 {
			return set, true, nil
		}
		c, err = c.Parent(0)
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return set, false, nil
	}
	return nil, false, fmt.Errorf("history of %s in %s: %w", short(s.root.Source.Commit), s.repoPath, err)
}

// refName is the ref a build recorded, or HEAD when it recorded none.
func refName(ref string) string {
	if ref == "" {
		return "HEAD"
	}
	return ref
}
