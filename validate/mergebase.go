package validate

import (
	"container/heap"
	"errors"
	"slices"

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
	p, err := paintWalk([]*object.Commit{a}, b, bFirst)
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
func paintWalk(as []*object.Commit, b *object.Commit, bFirst bool) (*painted, error) {
	p := &painted{flags: map[plumbing.Hash]uint8{}, commits: map[plumbing.Hash]*object.Commit{}}
	q := &commitQueue{}
	for _, c := range append(slices.Clip(as), b) {
		if _, ok := p.commits[c.Hash]; !ok {
			p.commits[c.Hash] = c
			q.put(c)
		}
	}
	for _, a := range as {
		p.flags[a.Hash] |= fromA
	}
	p.flags[b.Hash] |= fromB
	flags := p.flags
	for q.hasNonStale(func(h plumbing.Hash) bool { return flags[h]&stale == 0 }) {
		c := q.get()
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
			flags[ph] |= pf
			p.commits[ph] = pc
			q.put(pc)
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

// hasNonStale says whether a commit waiting is not stale (its flags
// may have changed since it was put).
func (q *commitQueue) hasNonStale(nonStale func(plumbing.Hash) bool) bool {
	for _, it := range q.items {
		if nonStale(it.c.Hash) {
			return true
		}
	}
	return false
}

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

// sideForks finds the merge base with b of every commit of the side
// branches that start at tips (withSides' classify), from one walk for
// all of them: paintWalk from tips and b. Asking mergeBases for each
// instead walks, for each, every commit between it and its fork: a side
// branch of n commits read n²/2 of them.
//
// A commit painted fromB is b's (its own merge base); any other commit
// of the side branches is painted fromA only, as are the commits between
// it and its merge bases, each read once by the walk. Its merge base is
// the newest commit b holds that it reaches through such commits, the
// newest of its parents' answers (a parent b holds being its own): the
// newest common ancestor is one no other descends from when every
// commit is dated after its parents, so it is the one mergeBases, which
// takes the newest of those, gives. Two dated alike are told apart by
// which descends from the other (mergeBases of the two).
//
// A commit is b's only when b's paint reached it, which is what
// mergeBases decides too; with dates out of order (a commit dated before
// a parent) the walk may end before the paint of b reaches a commit of
// b's below a merge base: that commit is then taken for a side commit,
// judged, and its children judged against an older fork, never the
// other way round. A commit found to reach none of b's is asked of
// mergeBases before it is called unrelated.
type sideForks struct {
	b     *object.Commit
	base  string // what names b, for errors
	p     *painted
	forks map[plumbing.Hash]*object.Commit // nil: reaches none of b's
	older map[[2]plumbing.Hash]bool        // x older than z, both dated alike
}

// newSideForks walks from tips and b once.
func newSideForks(tips []*object.Commit, b *object.Commit, base string) (*sideForks, error) {
	p, err := paintWalk(tips, b, false)
	if err != nil {
		return nil, err
	}
	if p.cut {
		// b's paint stopped there, and may not have reached a commit of
		// b's below it that a side branch reaches otherwise.
		return nil, plumbing.ErrObjectNotFound
	}
	return &sideForks{b: b, base: base, p: p, forks: map[plumbing.Hash]*object.Commit{}, older: map[[2]plumbing.Hash]bool{}}, nil
}

// fork is c's merge base with b (c itself when b holds it, nil when
// none), c a commit of the side branches.
func (s *sideForks) fork(c *object.Commit) (*object.Commit, error) {
	flags := s.p.flags
	if flags[c.Hash]&fromA == 0 {
		return mergeBase(c, s.b, s.base) // not walked (cannot be: c is on a side branch)
	}
	if flags[c.Hash]&fromB != 0 {
		return c, nil
	}
	// The parents' answers first: a stack of our own, as a side branch
	// is as long as its author likes.
	stack := []*object.Commit{c}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if _, done := s.forks[top.Hash]; done {
			stack = stack[:len(stack)-1]
			continue
		}
		ready := true
		for _, ph := range top.ParentHashes {
			if _, done := s.forks[ph]; !done && flags[ph]&fromB == 0 {
				pc := s.p.commits[ph]
				if pc == nil {
					// Painted fromA only, it was taken from the queue and
					// its parents read: a commit not read cannot be here.
					return mergeBase(c, s.b, s.base)
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
	return mergeBase(c, s.b, s.base)
}

// newer is the newer of x and z (either may be nil), commits b holds;
// of two dated alike, the one descending from the other.
func (s *sideForks) newer(x, z *object.Commit) (*object.Commit, error) {
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
