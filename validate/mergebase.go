package validate

import (
	"container/heap"
	"errors"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// mergeBases is `git merge-base --all a b`: the common ancestors of a
// and b that no other common ancestor descends from. go-git's
// Commit.MergeBase reads the whole history of the newer commit first,
// and the range check asks for one per commit of the request, against a
// base of any length; this walk reads only the commits since they
// forked.
//
// It is git's paint_down_to_common: a and b paint their ancestors, the
// newest commit (committer date) is taken first, a commit painted by
// both is a candidate and paints its ancestors stale, and the walk ends
// when every commit waiting is stale. The dates only order the walk:
// a commit on a path from a or b to a true merge base is never stale
// (it would descend from a common ancestor, and so would the merge
// base), so both paints reach every merge base whatever the dates, and
// the candidates hold them all. Clock skew may add a candidate that
// descends from another; go-git's Independents (which walks) removes it,
// as git's remove_redundant does, when there are several. A parent the
// clone does not have (a shallow one) is an error, as every other read
// of history, unless only the stale paint would go there: a fork within
// the fetched depth is found.
func mergeBases(a, b *object.Commit) ([]*object.Commit, error) { return paintDown(a, b, false) }

// firstParentBase is the newest commit of b's first-parent history that
// a descends from (a itself when it is on that history), nil when none:
// what the build, which publishes b's first-parent history, published
// of a's. A commit b holds only through a merge's second parent is not
// one: the build never read its tree. It is mergeBases with b's paint
// running down first parents only (stale still runs down every
// parent): a commit both paint is an ancestor of a on that history, and
// those are one chain, so the walk ends, as mergeBases', once it has
// read the commits since a forked from it.
func firstParentBase(a, b *object.Commit) (*object.Commit, error) {
	bases, err := paintDown(a, b, true)
	if err != nil || len(bases) == 0 {
		return nil, err
	}
	return bases[0], nil
}

// paintDown is mergeBases, b's paint running down first parents only
// when bFirst.
func paintDown(a, b *object.Commit, bFirst bool) ([]*object.Commit, error) {
	if a.Hash == b.Hash {
		return []*object.Commit{a}, nil
	}
	p, err := paintWalk([]*object.Commit{a}, b, bFirst, false)
	if err != nil {
		return nil, err
	}
	var out []*object.Commit
	for _, c := range p.candidates {
		if p.flags[c.Hash]&stale == 0 {
			out = append(out, c)
		}
	}
	if len(out) < 2 {
		return out, nil
	}
	return object.Independents(out)
}

// The paint of paintWalk: a commit is an ancestor of an a (fromA), of b
// (fromB), of a candidate (stale, with both), or a candidate (result).
const (
	fromA uint8 = 1 << iota
	fromB
	stale
	result
)

// painted is what paintWalk read: each commit's paint, the commits it
// painted (those it read), and the candidates, in the order found.
type painted struct {
	flags      map[plumbing.Hash]uint8
	commits    map[plumbing.Hash]*object.Commit
	candidates []*object.Commit
	cut        bool // a commit below a candidate is not in the clone
}

// paintWalk is paintDown's walk, from every commit of as painting fromA.
// At its end every commit painted fromA and not fromB has been taken
// from the queue (it is not stale), so its parents are painted too.
//
// With settle, it goes on, once every commit waiting is stale, while the
// newest waiting is dated no earlier than the oldest commit painted fromA
// alone, so that b's paint reaches a commit of b's that such a commit
// is, below a candidate, when no commit is dated before a parent: the
// walk of its own, from that commit, would have found it (forkWalk).
func paintWalk(as []*object.Commit, b *object.Commit, bFirst, settle bool) (*painted, error) {
	p := &painted{flags: map[plumbing.Hash]uint8{}, commits: map[plumbing.Hash]*object.Commit{}}
	flags := p.flags
	// nonStale counts the entries waiting whose commit is not stale, and
	// waiting the entries of each commit (one is put again when its paint
	// grows): a scan of the queue for every commit taken, as git's
	// queue_has_nonstale does, costs the walk's width once per commit,
	// and a walk from many side branches is as wide as they are many.
	q := &commitQueue{}
	waiting := map[plumbing.Hash]int{}
	nonStale := 0
	put := func(c *object.Commit) {
		q.put(c)
		waiting[c.Hash]++
		if flags[c.Hash]&stale == 0 {
			nonStale++
		}
	}
	get := func() *object.Commit {
		c := q.get()
		waiting[c.Hash]--
		if flags[c.Hash]&stale == 0 {
			nonStale--
		}
		return c
	}
	paint := func(h plumbing.Hash, f uint8) {
		if flags[h]&stale == 0 && f&stale != 0 {
			nonStale -= waiting[h]
		}
		flags[h] |= f
	}
	for _, a := range as {
		flags[a.Hash] |= fromA
	}
	flags[b.Hash] |= fromB
	for _, c := range append(slices.Clip(as), b) {
		if _, ok := p.commits[c.Hash]; !ok {
			p.commits[c.Hash] = c
			put(c)
		}
	}
	var oldestA *time.Time
	more := func() bool {
		if nonStale > 0 {
			return true
		}
		if !settle || len(q.items) == 0 {
			return false
		}
		if oldestA == nil {
			oldestA = &time.Time{}
			for h, f := range flags {
				if w := p.commits[h].Committer.When; f&(fromA|fromB|stale) == fromA && (oldestA.IsZero() || w.Before(*oldestA)) {
					*oldestA = w
				}
			}
		}
		return !oldestA.IsZero() && !q.items[0].c.Committer.When.Before(*oldestA)
	}
	for more() {
		c := get()
		f := flags[c.Hash] & (fromA | fromB | stale)
		if f == fromA|fromB {
			if flags[c.Hash]&result == 0 {
				flags[c.Hash] |= result
				p.candidates = append(p.candidates, c)
			}
			f |= stale
		}
		for i, ph := range c.ParentHashes {
			pf := f
			if i > 0 && bFirst {
				pf &^= fromB
			}
			if flags[ph]&pf == pf {
				continue
			}
			pc, err := c.Parent(i)
			if errors.Is(err, plumbing.ErrObjectNotFound) && pf&stale != 0 {
				p.cut = true
				continue // below a candidate: not needed to find one
			}
			if err != nil {
				return nil, err
			}
			paint(ph, pf)
			p.commits[ph] = pc
			put(pc)
		}
	}
	return p, nil
}

// commitQueue hands out the newest commit first (committer date; among
// equal dates, the first put), as git's prio_queue does.
type commitQueue struct {
	items []queued
	seq   int
}

type queued struct {
	c   *object.Commit
	seq int
}

func (q *commitQueue) put(c *object.Commit) {
	q.seq++
	heap.Push((*commitHeap)(q), queued{c, q.seq})
}

func (q *commitQueue) get() *object.Commit { return heap.Pop((*commitHeap)(q)).(queued).c }

// commitHeap is commitQueue as container/heap sees it.
type commitHeap commitQueue

func (h *commitHeap) Len() int { return len(h.items) }
func (h *commitHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if ta, tb := a.c.Committer.When, b.c.Committer.When; !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a.seq < b.seq
}
func (h *commitHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *commitHeap) Push(x any)    { h.items = append(h.items, x.(queued)) }
func (h *commitHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}

// forkWalk finds where each commit of a range forked from b, from one
// walk for all of them: paintWalk from the range's tips and b. Asking
// for each (mergeBase, firstParentFork) walks, for each, every commit
// between it and its fork again: a branch of n commits read n²/2 of
// them (attackZ Z3). withSides asks it the merge base of each commit of
// the side branches; requestCommits, of each commit of the first-parent
// chain, the merge base or, with bFirst, firstParentFork.
//
// A commit painted fromB is b's (with bFirst, on b's first-parent
// history): its own fork. Any other commit of the range is painted
// fromA alone, as are the commits between it and its forks, each read
// once by the walk. Its fork is the newest commit of b's it reaches
// through such commits, the newest of its parents' answers (a parent of
// b's being its own): when no commit is dated before a parent, the
// newest common ancestor is one no other descends from, so it is the
// one the walk of its own, which takes the newest of those, gives. Two
// dated alike are told apart by which descends from the other
// (mergeBases of the two); two merge bases dated alike, neither
// descending from the other, may be taken in another order than the
// walk of its own takes them (either is a merge base).
//
// A commit is b's when b's paint reached it: the walk settles (see
// paintWalk) until it has, for any commit of b's the range reaches, when
// no commit is dated before a parent. With dates out of order, a commit
// of b's below another fork may be taken for the range's, judged, and its
// children judged against an older fork than the walk of its own finds:
// more is judged, never a commit b's paint reached. A commit reaching none of
// b's, or one below another fork's paint that the walk did not follow
// (with bFirst, a commit b holds only through a merge's second parent),
// is asked of its own walk.
type forkWalk struct {
	b     *object.Commit
	p     *painted
	own   func(c *object.Commit) (*object.Commit, error) // the walk of c's own
	forks map[plumbing.Hash]*object.Commit               // nil: reaches none of b's
	older map[[2]plumbing.Hash]bool                      // x older than z, both dated alike
}

// newForkWalk walks from tips and b once (base names b, for errors).
// It fails where a walk of its own might not (a commit a shallow clone
// lacks), and then asks each commit's own walk, which says why.
// With perCommit, it does not walk: each commit is asked of its own walk
// (TestWithSides' reference).
func newForkWalk(tips []*object.Commit, b *object.Commit, base string, bFirst, perCommit bool) *forkWalk {
	own := func(c *object.Commit) (*object.Commit, error) { return mergeBase(c, b, base) }
	if bFirst {
		own = func(c *object.Commit) (*object.Commit, error) { return firstParentFork(c, b, base) }
	}
	w := &forkWalk{b: b, own: own, forks: map[plumbing.Hash]*object.Commit{}, older: map[[2]plumbing.Hash]bool{}}
	if perCommit {
		return w
	}
	p, err := paintWalk(tips, b, bFirst, true)
	if err == nil && !p.cut {
		// A cut: b's paint stopped there, and may not have reached a
		// commit of b's below it that the range reaches otherwise.
		w.p = p
	}
	return w
}

// fork is where c, a commit of the range, forked from b: c itself when b
// holds it, nil when nowhere.
func (s *forkWalk) fork(c *object.Commit) (*object.Commit, error) {
	if s.p == nil || s.p.flags[c.Hash]&fromA == 0 {
		return s.own(c)
	}
	flags := s.p.flags
	if flags[c.Hash]&fromB != 0 {
		return c, nil
	}
	// The parents' answers first, on a stack of our own: a branch is as
	// long as its author likes.
	stack := []*object.Commit{c}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if _, done := s.forks[top.Hash]; done {
			stack = stack[:len(stack)-1]
			continue
		}
		ready := true
		for i, ph := range top.ParentHashes {
			if _, done := s.forks[ph]; !done && flags[ph]&fromB == 0 {
				pc := s.p.commits[ph]
				if pc == nil || flags[ph]&stale != 0 {
					// The walk did not follow it: its own walk answers,
					// once, for every commit above it (asking c's own
					// walk instead read it again for each of them).
					f, err := s.ownParent(top, i, pc)
					if err != nil {
						return nil, err
					}
					s.forks[ph] = f
					continue
				}
				stack = append(stack, pc)
				ready = false
			}
		}
		if !ready {
			continue
		}
		var best *object.Commit
		for _, ph := range top.ParentHashes {
			f := s.forks[ph]
			if flags[ph]&fromB != 0 {
				f = s.p.commits[ph]
			}
			var err error
			if best, err = s.newer(best, f); err != nil {
				return nil, err
			}
		}
		s.forks[top.Hash] = best
		stack = stack[:len(stack)-1]
	}
	if f := s.forks[c.Hash]; f != nil {
		return f, nil
	}
	return s.own(c)
}

// ownParent is the fork of top's parent i (pc, when the walk read it)
// from a walk of its own.
func (s *forkWalk) ownParent(top *object.Commit, i int, pc *object.Commit) (*object.Commit, error) {
	if pc == nil {
		var err error
		if pc, err = top.Parent(i); err != nil {
			return nil, err
		}
	}
	return s.own(pc)
}

// newer is the newer of x and z (either may be nil), commits b holds;
// of two dated alike, the one descending from the other.
func (s *forkWalk) newer(x, z *object.Commit) (*object.Commit, error) {
	switch {
	case x == nil:
		return z, nil
	case z == nil || x.Hash == z.Hash:
		return x, nil
	case !x.Committer.When.Equal(z.Committer.When):
		if z.Committer.When.After(x.Committer.When) {
			return z, nil
		}
		return x, nil
	}
	k := [2]plumbing.Hash{x.Hash, z.Hash}
	older, ok := s.older[k]
	if !ok {
		bases, err := mergeBases(x, z)
		if err != nil {
			return nil, err
		}
		older = len(bases) == 1 && bases[0].Hash == x.Hash
		s.older[k] = older
	}
	if older {
		return z, nil
	}
	return x, nil
}
