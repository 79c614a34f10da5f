package validate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/source"
)

// What a change is compared with. A branch behind its base does not
// hold what the base changed since the branch forked: compared with the
// base's tip, every pack the base bumped meanwhile looked like the
// branch taking the version down. It is compared with where it forked,
// as chart-testing and `git diff base...HEAD` do; the history check
// still reads the base's whole history, so a version the base published
// meanwhile is still judged. A base HEAD contains (the merge commit CI
// checks out, an up-to-date branch) is its own fork point.
//
// A pull request merged by rebase or fast-forward puts each of its
// commits on the first-parent history the build walks, and the build
// refuses a version an intermediate commit brought back with other
// content even when a later commit removed it again: HEAD holds no such
// change, so the whole-request check cannot see it. --each-commit judges
// every commit as the check judges HEAD, against the same fork point and
// the same reading of the base's history, walked once for all of them.

// forkPoint is where HEAD forked from base: base itself when HEAD
// contains it. A ref that does not resolve is returned as it is, for
// Changes to report with its hint.
func forkPoint(g *git.Repository, base string) string {
	head, bc, err := headAndBase(g, base)
	if err != nil {
		return base
	}
	if in, err := bc.IsAncestor(head); err == nil && in || bc.Hash == head.Hash {
		return base
	}
	fork, err := mergeBase(head, bc, base)
	if err != nil || fork == nil {
		// A shallow clone or unrelated histories: base it is, as before
		// (the history check warns about a shallow clone).
		return base
	}
	return fork.Hash.String()
}

// addCommits judges the pull request's commits before HEAD, oldest first
// (rep is HEAD's report), and adds their problems that HEAD does not
// have, each naming its commit. The commits' packs are not listed: they
// are the directories HEAD's report names, or gone.
func (rep *Report) addCommits(ctx context.Context, repo *source.Repo, o ChangedOptions, hist *published) error {
	commits, fork, err := requestCommits(repo.Git(), o.Since)
	if err != nil {
		return err
	}
	seen := map[problemKey]bool{}
	for _, p := range rep.Problems {
		seen[problemKey{p.File, p.Line, p.Col, string(p.Severity), p.Msg}] = true
	}
	for _, c := range commits {
		sub, err := changedAt(ctx, repo, o, fork, c.Hash.String(), hist, false)
		if err != nil {
			return fmt.Errorf("commit %s: %w", shortRef(c.Hash.String()), err)
		}
		for _, p := range sub.Problems {
			k := problemKey{p.File, p.Line, p.Col, string(p.Severity), p.Msg}
			if seen[k] {
				continue // HEAD or an earlier commit reports it already
			}
			seen[k] = true
			p.Msg = fmt.Sprintf("at commit %s (%q), before HEAD: %s", shortRef(c.Hash.String()), subject(c), p.Msg)
			rep.Problems = append(rep.Problems, p)
		}
		rep.Commits++
	}
	return nil
}

type problemKey struct {
	file          string
	line, col     int
	severity, msg string
}

// requestCommits lists the pull request's commits before its last one,
// oldest first, and where they forked from base: the first-parent chain
// from the request's last commit down to base's history. The last
// commit is HEAD, or, when HEAD is the merge of the request into base
// that CI checks out (its first parent in base's history), HEAD's second
// parent. A merge commit on the chain is judged like any other; the
// commits of its other side are not on the chain.
func requestCommits(g *git.Repository, base string) ([]*object.Commit, string, error) {
	head, bc, err := headAndBase(g, base)
	if err != nil {
		return nil, "", err
	}
	tip := head
	if len(head.ParentHashes) > 1 {
		first, err := head.Parent(0)
		if err != nil {
			return nil, "", shallowErr(head.ParentHashes[0], err)
		}
		if in, err := first.IsAncestor(bc); err == nil && (in || first.Hash == bc.Hash) {
			if tip, err = head.Parent(1); err != nil {
				return nil, "", shallowErr(head.ParentHashes[1], err)
			}
		}
	}
	fork, err := mergeBase(tip, bc, base)
	if err != nil {
		return nil, "", err
	}
	if fork == nil {
		return nil, "", inputErr("--each-commit: HEAD and %s share no history: give the branch the pull request is based on", base)
	}
	var out []*object.Commit
	for c := tip; c.Hash != fork.Hash && len(c.ParentHashes) > 0; {
		p, err := c.Parent(0)
		if err != nil {
			return nil, "", shallowErr(c.ParentHashes[0], err)
		}
		if p.Hash == fork.Hash {
			break
		}
		out = append(out, p)
		c = p
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, fork.Hash.String(), nil
}

// headAndBase reads the commits HEAD and base name.
func headAndBase(g *git.Repository, base string) (head, bc *object.Commit, err error) {
	if head, err = commitAt(g, "HEAD"); err != nil {
		return nil, nil, err
	}
	bc, err = commitAt(g, base)
	return head, bc, err
}

// commitAt reads the commit ref names.
func commitAt(g *git.Repository, ref string) (*object.Commit, error) {
	h, err := g.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", ref, err)
	}
	return g.CommitObject(*h)
}

// treeAt reads the root tree of the commit ref names.
func treeAt(g *git.Repository, ref string) (*object.Tree, error) {
	c, err := commitAt(g, ref)
	if err != nil {
		return nil, err
	}
	return c.Tree()
}

// mergeBase is the best common ancestor of a and b (nil when none).
func mergeBase(a, b *object.Commit, base string) (*object.Commit, error) {
	bases, err := a.MergeBase(b)
	if err != nil {
		return nil, fmt.Errorf("where HEAD forked from %s: %w (a shallow clone? fetch the whole history, e.g. actions/checkout with fetch-depth: 0)", base, err)
	}
	if len(bases) == 0 {
		return nil, nil
	}
	return bases[0], nil
}

// shallowErr explains a parent commit the clone does not have.
func shallowErr(h plumbing.Hash, err error) error {
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return fmt.Errorf("commit %s is not in the clone (a shallow clone? fetch the whole history, e.g. actions/checkout with fetch-depth: 0): %w", h.String()[:12], err)
	}
	return err
}

// shortRef is ref as messages name it: a commit hash cut short (the
// fork point is one), any other name whole.
func shortRef(ref string) string {
	if plumbing.IsHash(ref) {
		return ref[:12]
	}
	return ref
}

// subject is a commit message's first line, cut for a problem's text.
func subject(c *object.Commit) string {
	s, _, _ := strings.Cut(c.Message, "\n")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}
