package validate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/packgen/packgen/pack/meta"
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
// change, so the whole-request check cannot see it; a rebase replays the
// commits of the side branches the request merged there too
// (withSides). --each-commit judges every commit as the check judges
// HEAD, against the same fork point and the same reading of the base's
// history, walked once for all of them.

// headFork is HEAD, the commit base names and their merge base, read
// once for forkPoint and requestCommits (the merge base walks the
// history since the fork, or all of it when there is none).
type headFork struct {
	base     string
	head, bc *object.Commit
	mb       *object.Commit // nil: HEAD and base share no history (or mbErr)
	err      error          // HEAD or base does not resolve
	mbErr    error          // the merge base cannot be read (a shallow clone)
	shallow  bool           // the clone is: a commit it lacks is its edge (a cut), not an error
	ownWalks bool           // each commit's fork from a walk of its own, not forkWalk's (a test's reference)
}

// readHeadFork reads HEAD and base in repo, and their merge base.
func readHeadFork(repo *source.Repo, base string) headFork {
	hf := headFork{base: base, shallow: repo.Shallow()}
	if hf.head, hf.bc, hf.err = headAndBase(repo.Git(), base); hf.err == nil {
		hf.readFork()
	}
	return hf
}

// readFork reads the merge base of HEAD and base.
func (hf *headFork) readFork() {
	if slices.Contains(hf.head.ParentHashes, hf.bc.Hash) {
		// HEAD merges base (CI's merge commit): their merge base,
		// whatever else the clone lacks (fetched one commit deep,
		// the request's side is not there and the walk could not
		// tell that HEAD contains base).
		hf.mb = hf.bc
		return
	}
	hf.mb, hf.mbErr = mergeBase(hf.head, hf.bc, hf.base)
}

// forkPoint is where HEAD forked from base: base itself when HEAD
// contains it. A ref that does not resolve is returned as it is, for
// Changes to report with its hint. found is false when HEAD does not
// contain base and the clone is too shallow to find where it forked:
// base's tip is then what HEAD is compared with, and the caller warns.
// HEAD sharing no history with base is compared with base's tip too;
// requestCommits refuses it (offBaseError). A walk failing otherwise (an
// object missing from a repository that is not shallow) is the error.
func (hf headFork) forkPoint() (fork string, found bool, err error) {
	switch {
	case hf.err != nil:
		return hf.base, true, nil
	case hf.edge(hf.mbErr):
		return hf.base, false, nil
	case hf.mbErr != nil:
		return "", false, hf.mbErr
	case hf.mb == nil:
		return hf.base, true, nil
	case hf.mb.Hash == hf.bc.Hash: // HEAD contains base
		return hf.base, true, nil
	}
	return hf.mb.Hash.String(), true, nil
}

// requestCommit is a commit of the pull request before its last one,
// and where it forked from the base (a merge of the base into the branch
// moves that point on for the commits after it).
type requestCommit struct {
	c    *object.Commit
	fork string
}

// commitChanges is what one commit of the request changed against its
// fork point.
type commitChanges struct {
	requestCommit
	changes []source.Change
}

// wantCommits reads what each commit changed against its fork point and
// says so to hist before anything is judged, so that one walk of the
// base's history serves HEAD and every commit.
func wantCommits(ctx context.Context, repo *source.Repo, o ChangedOptions, commits []requestCommit, hist *published) ([]commitChanges, error) {
	out := make([]commitChanges, 0, len(commits))
	for _, rc := range commits {
		changes, err := repo.Changes(ctx, rc.fork, rc.c.Hash.String(), o.PacksDir)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", shortRef(rc.c.Hash.String()), err)
		}
		for _, c := range changes {
			hist.want(c.Name, c.Version)
		}
		out = append(out, commitChanges{rc, changes})
	}
	return out, nil
}

// addAdded judges the releases that the request's commits before HEAD
// add, that HEAD's check did not judge and that the base's history does
// not hold: merged by fast-forward or rebase, every such commit is on
// the first-parent history the build walks, so the build publishes, as
// new, a release added and removed again inside the request, which the
// net change does not show. Each is judged with every check HEAD's
// releases get, as the newest commit holding it has it (what the build
// archives), its problems naming that commit. A release the base's
// history holds is not new: HEAD's version rules judge it, and
// --each-commit an edit of it inside the request.
func (rep *Report) addAdded(ctx context.Context, ccs []commitChanges, hist *published) error {
	seen := map[string]bool{}
	for _, p := range rep.Packs {
		seen[meta.ReleaseID(p.Name, p.Version)] = true
	}
	for i := len(ccs) - 1; i >= 0; i-- {
		for _, c := range ccs[i].changes {
			id := meta.ReleaseID(c.Name, c.Version)
			if c.Name == "" || c.Version == "" || seen[id] {
				continue // unreadable there: the build cannot archive it either
			}
			seen[id] = true
			if r, err := hist.find(ctx, c.Name, c.Version); err != nil {
				return err
			} else if r != nil {
				continue
			}
			n, np := len(rep.Problems), len(rep.Packs)
			if err := rep.addChange(ctx, c, hist); err != nil {
				return fmt.Errorf("commit %s: %w", shortRef(ccs[i].c.Hash.String()), err)
			}
			rep.Packs = rep.Packs[:np] // not at HEAD: no pack of the change
			for j := n; j < len(rep.Problems); j++ {
				rep.Problems[j].Msg = beforeHead(ccs[i].c, rep.Problems[j].Msg)
			}
			rep.Added++
		}
	}
	return nil
}

// beforeHead is msg, a problem of commit c before HEAD, naming it.
func beforeHead(c *object.Commit, msg string) string {
	return fmt.Sprintf("at commit %s (%q), before HEAD: %s", shortRef(c.Hash.String()), subject(c), msg)
}

// addCommits judges the pull request's commits before HEAD, oldest first
// (rep is HEAD's report), each against its fork point with the changes
// wantCommits read, and adds their problems that HEAD does not have,
// each naming its commit. The commits' packs are not listed: they are
// the directories HEAD's report names, or gone.
func (rep *Report) addCommits(ctx context.Context, repo *source.Repo, o ChangedOptions, ccs []commitChanges, hist *published) error {
	seen := map[problemKey]bool{}
	for _, p := range rep.Problems {
		seen[problemKey{p.File, p.Line, p.Col, string(p.Severity), p.Msg}] = true
	}
	for _, cc := range ccs {
		c := cc.c
		sub, err := judgeChanges(ctx, repo, o, cc.fork, cc.changes, hist, false)
		if err != nil {
			return fmt.Errorf("commit %s: %w", shortRef(c.Hash.String()), err)
		}
		for _, p := range sub.Problems {
			k := problemKey{p.File, p.Line, p.Col, string(p.Severity), p.Msg}
			if seen[k] {
				continue // HEAD or an earlier commit reports it already
			}
			seen[k] = true
			p.Msg = beforeHead(c, p.Msg)
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
// oldest first, each with where it forked from base: the first-parent
// chain from the request's last commit down to the first commit that
// base published already. The last commit is HEAD, or, when HEAD is the
// merge of the request into base that CI checks out (its first parent
// on base's first-parent history), HEAD's second parent. A merge commit
// on the chain (the base merged into the branch, as GitHub's "Update
// branch" does) is judged like any other; the base's commits it brought
// are not on the chain, and the commits after it forked from the base
// commit it merged. Whether a commit is published is whether it is its
// own fork point (firstParentBase, or mergeBases below), every commit's
// from one walk of the commits since the forks (forkWalk), not base's
// whole history.
//
// Published means on base's first-parent history, which the build
// walks, when the last commit contains base: merged by fast-forward,
// every commit of the chain lands on that history as it is, and a commit
// base holds only through a merge's second parent was never read by a
// build: every commit of the chain is judged against the newest
// first-parent commit it descends from (firstParentBase), never against
// such a commit, whether base holds the chain's commit that way or not
// at all (a branch merging a side branch base merged too, whose merge
// dropped what the side branch added). When the last commit does not
// contain base, no merge puts such a commit on that history (a rebase
// drops the commits base holds), and the chain ends at the first commit
// base's history holds. A chain that leaves base's history, running into a
// root base does not share, is an *offBaseError: what its commits add
// cannot be judged against base, and merged by rebase or fast-forward
// they land all the same.
//
// In a shallow clone, the walks stop at its edge: a commit whose parent
// the clone lacks, or whose fork from base lies below the edge, is a
// cut, and what is above the cuts is judged as in a whole clone (a fork
// found is the fork: a walk that needs a commit the clone lacks fails).
// The commits below a cut are not read, so they are named instead (what
// a release added there does is unknown).
func (hf headFork) requestCommits() ([]requestCommit, []cut, error) {
	if hf.err != nil {
		return nil, nil, hf.err
	}
	head, bc, base := hf.head, hf.bc, hf.base
	// none is the range's first walks failing: nothing of it is read.
	none := func(err error, at cut) ([]requestCommit, []cut, error) {
		if hf.edge(err) {
			return nil, []cut{at}, nil
		}
		return nil, nil, err
	}
	tip, tipFork, tipErr := head, hf.mb, hf.mbErr
	if len(head.ParentHashes) > 1 {
		p, err := head.Parent(0)
		if err != nil {
			return none(missingErr(head.ParentHashes[0], err), cut{c: head, below: true})
		}
		if on, err := onFirstParents(p, bc, base); err != nil {
			return none(err, cut{c: head, below: true})
		} else if on {
			if tip, err = head.Parent(1); err != nil {
				return none(missingErr(head.ParentHashes[1], err), cut{hash: head.ParentHashes[1], child: head, parent: 1})
			}
			tipFork, tipErr = mergeBase(tip, bc, base)
		}
	}
	switch {
	case tipErr != nil:
		return none(tipErr, cut{c: tip, below: true})
	case tipFork == nil:
		return nil, nil, &offBaseError{c: tip, base: base}
	case tipFork.Hash == tip.Hash:
		return nil, nil, nil // in base's history: no commit of its own
	}
	// Which history publishes a commit is chosen once, for the whole
	// chain: a commit outside base's history that descends from one
	// base holds only through a merge's second parent is no more judged
	// against that commit than one inside it.
	// Each commit's fork comes from one walk for the whole chain
	// (forkWalk), not a walk of its own.
	forks := newForkWalk([]*object.Commit{tip}, bc, base, tipFork.Hash == bc.Hash, hf.ownWalks) // fast-forwardable: first parents
	var out []requestCommit
	var cuts []cut
	for c := tip; len(c.ParentHashes) > 0; {
		p, err := c.Parent(0)
		if hf.edge(err) {
			cuts = append(cuts, cut{hash: c.ParentHashes[0], child: c})
			break
		} else if err != nil {
			return nil, nil, missingErr(c.ParentHashes[0], err)
		}
		f, err := forks.fork(p)
		if hf.edge(err) {
			cuts = append(cuts, cut{c: p})
			break
		} else if err != nil {
			return nil, nil, err
		}
		if f == nil {
			return nil, nil, &offBaseError{c: p, child: c, base: base}
		}
		if f.Hash == p.Hash {
			break // published by base, or dropped by a rebase
		}
		out = append(out, requestCommit{c: p, fork: f.Hash.String()})
		c = p
	}
	slices.Reverse(out)
	out, sideCuts, err := hf.withSides(tip, out)
	return out, append(cuts, sideCuts...), err
}

// withSides is chain (oldest first, the commits below tip) with the
// commits of the side branches its merges and tip's merge (the second
// and later parents) bring that base's history does not hold: a rebase
// without --rebase-merges, GitHub's "Rebase and merge" included, drops
// the merge commits and replays those commits onto base, on the
// first-parent history the build publishes (a merge commit of the side
// branch's own lands nowhere: it is walked through, not judged). Each
// comes before the merge that brought it, its own parents first, and is
// judged against its merge base with base: the rebase replays its
// change since then, and drops a commit base holds and every commit
// below it. One walk of the side branches since their forks finds every
// fork (forkWalk), as one does the chain's; a side branch with no
// history in common with base is an *offBaseError, as the chain's. A
// side branch running into a shallow clone's edge is cut there, as the
// chain is.
func (hf headFork) withSides(tip *object.Commit, chain []requestCommit) ([]requestCommit, []cut, error) {
	seen := map[plumbing.Hash]bool{tip.Hash: true}
	for _, rc := range chain {
		seen[rc.c.Hash] = true
	}
	var out []requestCommit
	var cuts []cut
	// A side branch is walked depth first on a stack of its own, not
	// Go's: a history of side branches merged into side branches, as
	// deep as a generated one likes, would otherwise grow the goroutine
	// stack with it. A frame is a commit to add once every parent from
	// next on is walked (its own parents first, in parent order).
	type frame struct {
		c    *object.Commit
		fork string
		next int
	}
	var stack []frame
	// fork is c's merge base with base, from one walk of the side
	// branches (forkWalk), made when the first is asked for.
	var forks *forkWalk
	fork := func(c *object.Commit) (*object.Commit, error) {
		if forks == nil {
			forks = newForkWalk(sideTips(tip, chain), hf.bc, hf.base, false, hf.ownWalks)
		}
		return forks.fork(c)
	}
	// enter puts c, parent i of child, on the stack unless it is seen
	// or base holds it (a rebase drops it and every commit below it).
	enter := func(child *object.Commit, i int) error {
		c, err := child.Parent(i)
		if hf.edge(err) {
			cuts = append(cuts, cut{hash: child.ParentHashes[i], child: child, parent: i})
			return nil
		} else if err != nil {
			return missingErr(child.ParentHashes[i], err)
		}
		if seen[c.Hash] {
			return nil
		}
		seen[c.Hash] = true
		f, err := fork(c)
		switch {
		case hf.edge(err):
			cuts = append(cuts, cut{c: c})
			return nil
		case err != nil:
			return err
		case f == nil:
			return &offBaseError{c: c, child: child, side: true, parent: i, base: hf.base}
		case f.Hash == c.Hash:
			return nil
		}
		stack = append(stack, frame{c: c, fork: f.Hash.String()})
		return nil
	}
	// merges adds the commits the side branches of m bring.
	merges := func(m *object.Commit) error {
		for i := 1; i < len(m.ParentHashes); i++ {
			if err := enter(m, i); err != nil {
				return err
			}
			for len(stack) > 0 {
				top := &stack[len(stack)-1]
				if top.next < len(top.c.ParentHashes) {
					top.next++
					if err := enter(top.c, top.next-1); err != nil {
						return err
					}
					continue
				}
				if len(top.c.ParentHashes) < 2 { // a merge of its own no rebase or fast-forward publishes
					out = append(out, requestCommit{c: top.c, fork: top.fork})
				}
				stack = stack[:len(stack)-1]
			}
		}
		return nil
	}
	for _, rc := range chain {
		if err := merges(rc.c); err != nil {
			return nil, nil, err
		}
		out = append(out, rc)
	}
	if err := merges(tip); err != nil {
		return nil, nil, err
	}
	return out, cuts, nil
}

// sideTips is where the side branches of chain's merges and tip's
// start: their parents after the first that the clone has.
func sideTips(tip *object.Commit, chain []requestCommit) []*object.Commit {
	var tips []*object.Commit
	add := func(m *object.Commit) {
		for i := 1; i < len(m.ParentHashes); i++ {
			if p, err := m.Parent(i); err == nil {
				tips = append(tips, p)
			}
		}
	}
	for _, rc := range chain {
		add(rc.c)
	}
	add(tip)
	return tips
}

// edge says whether err, from a walk of the range, is a shallow clone's
// edge: a commit the clone lacks. In a clone that is not shallow, it is
// an error (the repository lacks an object).
func (hf headFork) edge(err error) bool {
	return hf.shallow && errors.Is(err, plumbing.ErrObjectNotFound)
}

// cut is where the range walk stopped at a shallow clone's edge: at c
// (its fork from base lies below the edge, so neither it nor the commits
// below it are judged; with below, c is judged with HEAD and only the
// commits below it are not), or at hash, parent parent+1 of child, a
// commit the clone lacks.
type cut struct {
	c      *object.Commit
	below  bool
	hash   plumbing.Hash
	child  *object.Commit
	parent int
}

func (c cut) String() string {
	switch {
	case c.c == nil:
		return fmt.Sprintf("commit %s (parent %d of %s (%q), not in the clone) and the commits below it", shortRef(c.hash.String()), c.parent+1, shortRef(c.child.Hash.String()), subject(c.child))
	case c.below:
		return fmt.Sprintf("the commits below %s (%q), where it forked lying beyond the clone", shortRef(c.c.Hash.String()), subject(c.c))
	}
	return fmt.Sprintf("commit %s (%q) and the commits below it, where it forked lying beyond the clone", shortRef(c.c.Hash.String()), subject(c.c))
}

// shallowProblem says what a shallow clone kept from being judged, in
// one problem with one piece of advice: that HEAD was compared with
// base's tip, its fork not found (noFork), and the cuts of the range (a
// fork not found is one: the commits below HEAD's, or below its second
// parent's). A warning; an error with --each-commit when there are cuts
// (every commit is to be judged).
func shallowProblem(base string, noFork bool, cuts []cut, each bool) meta.Problem {
	var says []string
	if noFork {
		says = append(says, fmt.Sprintf("HEAD does not contain %[1]s and the clone is too shallow to find where it forked: compared with %[1]s's tip, so a pack %[1]s changed since may show as changed here", base))
	}
	if len(cuts) > 0 {
		at := make([]string, len(cuts))
		for i, c := range cuts {
			at[i] = c.String()
		}
		s := fmt.Sprintf("the commits before HEAD were judged down to where the clone ends, not below: %s; what a release added there does (even one removed again: the build publishes it) is not judged", strings.Join(at, "; "))
		if !noFork {
			s = "the clone is shallow: " + s
		}
		says = append(says, s)
	}
	p := meta.Problem{Severity: meta.SevWarning, Msg: strings.Join(says, "; ") +
		"; fetch the whole history (git fetch --unshallow; in CI, actions/checkout with fetch-depth: 0) and run again"}
	if each && len(cuts) > 0 {
		p.Severity = meta.SevError
		p.Msg = "--each-commit: " + p.Msg
	}
	return p
}

// offBaseError is a request whose first-parent chain runs into a
// history base does not share: at c, the first parent of child (nil: c
// is the request's last commit).
type offBaseError struct {
	c, child *object.Commit
	side     bool // on a side branch (withSides): c is parent parent+1 of child
	parent   int
	base     string
}

func (e *offBaseError) Error() string {
	at := "its last commit"
	if e.child != nil {
		at = fmt.Sprintf("the first parent of %s (%q)", shortRef(e.child.Hash.String()), subject(e.child))
	}
	if e.side {
		return fmt.Sprintf("a side branch the pull request merges leaves %[1]s's history at commit %[2]s (%[3]q), parent %[4]d of %[5]s (%[6]q): it shares no history with %[1]s, so what it and the commits below it add is not judged, and merged by rebase they land on %[1]s's first-parent history, which the build publishes; rebase the branch onto %[1]s (git rebase %[1]s) and push it again",
			e.base, shortRef(e.c.Hash.String()), subject(e.c), e.parent+1, shortRef(e.child.Hash.String()), subject(e.child))
	}
	return fmt.Sprintf("the pull request's first-parent chain leaves %[1]s's history at commit %[2]s (%[3]q), %[4]s: it descends from no commit of %[1]s's first-parent history, which the build publishes, so what it and the commits below it add is not judged, and merged by rebase or fast-forward they land on that history; rebase the branch onto %[1]s (git rebase %[1]s) and push it again",
		e.base, shortRef(e.c.Hash.String()), subject(e.c), at)
}

// onFirstParents says whether c is on the first-parent history of bc
// (base names it): the history the build publishes.
func onFirstParents(c, bc *object.Commit, base string) (bool, error) {
	f, err := firstParentFork(c, bc, base)
	return f != nil && f.Hash == c.Hash, err
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

// mergeBase is the best common ancestor of a and b (nil when none):
// the newest, when there are several.
func mergeBase(a, b *object.Commit, base string) (*object.Commit, error) {
	bases, err := mergeBases(a, b)
	if err != nil || len(bases) == 0 {
		return nil, forkErr(base, err)
	}
	return bases[0], nil
}

// firstParentFork is firstParentBase of a and b (base names it).
func firstParentFork(a, b *object.Commit, base string) (*object.Commit, error) {
	f, err := firstParentBase(a, b)
	return f, forkErr(base, err)
}

// forkErr explains err, a failed walk to where HEAD forked from base.
// A shallow clone's edge never reaches the user as such an error (it is
// a cut, or the fork not found: hf.edge), so an object the walk misses
// is one a repository that is not shallow lacks.
func forkErr(base string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return fmt.Errorf("where HEAD forked from %s: %w (%s)", base, err, missingHint)
	}
	return fmt.Errorf("where HEAD forked from %s: %w", base, err)
}

// missingErr explains a parent commit a repository that is not shallow
// lacks (in a shallow clone it is the edge: hf.edge).
func missingErr(h plumbing.Hash, err error) error {
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return fmt.Errorf("commit %s is missing from the repository (%s): %w", h.String()[:12], missingHint, err)
	}
	return err
}

// missingHint is what an object missing from a repository that is not a
// shallow clone means, and what to do.
const missingHint = "the repository is not a shallow clone, so it is corrupt or partial (an object deleted or lost, a partial clone): `git fsck` names what is missing; fetch again (git fetch), or clone the repository anew"

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
