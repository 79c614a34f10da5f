package validate

import (
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/packgen/packgen/internal/testutil"
)

// countingStorage counts the objects read, and lacks those in missing
// (a shallow clone's boundary); with frames, deepest is the most calls
// on the goroutine's stack a read was made under.
type countingStorage struct {
	*memory.Storage
	reads   int
	missing map[plumbing.Hash]bool
	frames  []uintptr // a buffer for runtime.Callers: nil, not counted
	deepest int
}

func (s *countingStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	s.reads++
	if s.frames != nil && s.reads%8 == 0 { // a sample: deep reads come in runs
		s.deepest = max(s.deepest, runtime.Callers(0, s.frames))
	}
	if s.missing[h] {
		return nil, plumbing.ErrObjectNotFound
	}
	return s.Storage.EncodedObject(t, h)
}

// commitGraph writes the commits of spec, one "name: parent..." a line
// (parents first; the first parent first), dated by when, and returns
// them by name.
func commitGraph(t *testing.T, s *countingStorage, spec string, when func(i int) time.Time) map[string]*object.Commit {
	t.Helper()
	byName := map[string]*object.Commit{}
	for i, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		name, parents, _ := strings.Cut(line, ":")
		sig := object.Signature{Name: "t", Email: "t@example.com", When: when(i)}
		c := &object.Commit{Author: sig, Committer: sig, Message: strings.TrimSpace(name), TreeHash: plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")}
		for _, p := range strings.Fields(parents) {
			c.ParentHashes = append(c.ParentHashes, byName[p].Hash)
		}
		obj := s.NewEncodedObject()
		testutil.Must(t, c.Encode(obj))
		h, err := s.SetEncodedObject(obj)
		testutil.Must(t, err)
		byName[strings.TrimSpace(name)], err = object.GetCommit(s, h)
		testutil.Must(t, err)
	}
	return byName
}

// names is the commits' messages (their names in a commitGraph), sorted.
func names(cs []*object.Commit) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Message)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// nameOf is the commit's message (its name in a commitGraph), "" for nil.
func nameOf(c *object.Commit) string {
	if c == nil {
		return ""
	}
	return c.Message
}

// firstParentRef is firstParentBase read the long way: the first commit
// of b's first-parent chain that is a or an ancestor of a (go-git's
// IsAncestor walks a's whole history), "" for none.
func firstParentRef(t *testing.T, a, b *object.Commit) string {
	t.Helper()
	for f := b; ; {
		in, err := f.IsAncestor(a)
		testutil.Must(t, err)
		if in || f.Hash == a.Hash {
			return f.Message
		}
		if len(f.ParentHashes) == 0 {
			return ""
		}
		f, err = f.Parent(0)
		testutil.Must(t, err)
	}
}

// TestMergeBases: the walk that reads only the commits since two
// commits forked gives what go-git's Commit.MergeBase (which reads the
// newer one's whole history, and did the range check's work before)
// gives, for every pair of commits of histories with merges both ways, a
// criss-cross, unrelated roots, and dates in order, equal, reversed and
// shuffled (the dates only order the walk); it reads a few commits of a
// long base, and a parent the clone lacks is an error only when the walk
// needs it. firstParentBase, the same walk with the base's paint on its
// first parents only, gives the newest commit of b's first-parent chain
// that a descends from, for every pair of the same histories.
func TestMergeBases(t *testing.T) {
	graphs := map[string]string{
		"linear": "r:\na: r\nb: a\nc: b",
		"fork":   "r:\na: r\nb: a\nx: a\ny: x\nc: b",
		// A branch that merged its base in (GitHub's "Update branch"),
		// then merged into it, and merged in again.
		"updated branch": "r:\na2: r\nb1: r\nm1: b1 a2\na3: a2\nb2: m1\na4: a3\nm2: a4 b2\nb3: b2\nm3: b3 m2\nb4: m3",
		"criss-cross":    "r:\na1: r\nb1: r\na2: a1 b1\nb2: b1 a1\na3: a2\nb3: b2",
		"unrelated":      "r1:\nx: r1\nr2:\ny: r2\nz: y",
		"octopus":        "r:\na: r\nb: r\nc: r\nm: a b c\nd: b\ne: m",
	}
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	dates := map[string]func(rng *rand.Rand) func(i int) time.Time{
		"in order": func(*rand.Rand) func(int) time.Time {
			return func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
		},
		"equal": func(*rand.Rand) func(int) time.Time { return func(int) time.Time { return base } },
		"reversed": func(*rand.Rand) func(int) time.Time {
			return func(i int) time.Time { return base.Add(-time.Duration(i) * time.Minute) }
		},
		"shuffled": func(rng *rand.Rand) func(int) time.Time {
			return func(int) time.Time { return base.Add(time.Duration(rng.Intn(5)) * time.Minute) }
		},
	}
	for gname, spec := range graphs {
		for dname, date := range dates {
			seeds := int64(1)
			if dname == "shuffled" {
				seeds = 2
			}
			for seed := range seeds {
				s := &countingStorage{Storage: memory.NewStorage()}
				cs := commitGraph(t, s, spec, date(rand.New(rand.NewSource(seed))))
				for an, a := range cs {
					for bn, b := range cs {
						got, err := mergeBases(a, b)
						testutil.Must(t, err)
						want, err := a.MergeBase(b)
						testutil.Must(t, err)
						if names(got) != names(want) {
							t.Fatalf("%s, dates %s (seed %d): merge bases of %s and %s: %q, go-git says %q", gname, dname, seed, an, bn, names(got), names(want))
						}
						fp, err := firstParentBase(a, b)
						testutil.Must(t, err)
						if got, want := nameOf(fp), firstParentRef(t, a, b); got != want {
							t.Fatalf("%s, dates %s (seed %d): newest commit of %s's first parents %s descends from: %q, want %q", gname, dname, seed, bn, an, got, want)
						}
					}
				}
			}
		}
	}

	// A long base: only the commits since the fork are read.
	var long strings.Builder
	long.WriteString("c0:\n")
	for i := 1; i < 500; i++ {
		fmt.Fprintf(&long, "c%d: c%d\n", i, i-1)
	}
	long.WriteString("f1: c496\nf2: f1\nc500: c499\nc501: c500 f2\n")
	s := &countingStorage{Storage: memory.NewStorage()}
	cs := commitGraph(t, s, long.String(), dates["in order"](nil))
	s.reads = 0
	got, err := mergeBases(cs["f2"], cs["c500"])
	testutil.Must(t, err)
	if names(got) != "c496" || s.reads > 10 {
		t.Errorf("long base: %q after %d reads, want c496 after at most 10", names(got), s.reads)
	}

	// The branch merged as c501's second parent: in its history, not
	// on its first parents.
	s.reads = 0
	fp, err := firstParentBase(cs["f2"], cs["c501"])
	testutil.Must(t, err)
	if nameOf(fp) != "c496" || s.reads > 12 {
		t.Errorf("long base, merged branch: first-parent base %q after %d reads, want c496 after at most 12", nameOf(fp), s.reads)
	}

	// A shallow clone: the commits below c490 missing. The fork is
	// above them: found; HEAD and base unrelated: the walk needs them.
	s.missing = map[plumbing.Hash]bool{cs["c489"].Hash: true}
	got, err = mergeBases(cs["f2"], cs["c500"])
	if err != nil || names(got) != "c496" {
		t.Errorf("shallow, fork within the depth: %q, %v", names(got), err)
	}
	s.missing = map[plumbing.Hash]bool{cs["c495"].Hash: true}
	if _, err = mergeBases(cs["f2"], cs["c500"]); err != nil {
		t.Errorf("shallow, the fork's parent missing: %v", err)
	}
	s.missing = map[plumbing.Hash]bool{cs["c496"].Hash: true}
	if _, err = mergeBases(cs["f2"], cs["c500"]); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("shallow, the fork missing: %v, want plumbing.ErrObjectNotFound", err)
	}
}
