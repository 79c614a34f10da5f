package validate

import (
	"container/heap"
	"errors"

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
	const (
		fromA uint8 = 1 << iota
		fromB
		stale
		result
	)
	flags := map[plumbing.Hash]uint8{a.Hash: fromA, b.Hash: fromB}
	q := &commitQueue{}
	q.put(a)
	q.put(b)
	var candidates []*object.Commit
	for q.hasNonStale(func(h plumbing.Hash) bool { return flags[h]&stale == 0 }) {
		c := q.get()
		f := flags[c.Hash] & (fromA | fromB | stale)
		if f == fromA|fromB {
			if flags[c.Hash]&result == 0 {
				flags[c.Hash] |= result
				candidates = append(candidates, c)
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
			p, err := c.Parent(i)
			if errors.Is(err, plumbing.ErrObjectNotFound) && pf&stale != 0 {
				continue // below a candidate: not needed to find one
			}
			if err != nil {
				return nil, err
			}
			flags[ph] |= pf
			q.put(p)
		}
	}
	var out []*object.Commit
	for _, c := range candidates {
		if flags[c.Hash]&stale == 0 {
			out = append(out, c)
		}
	}
	if len(out) < 2 {
		return out, nil
	}
	return object.Independents(out)
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
