package translog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/packgen/packgen/index"
	"golang.org/x/mod/sumdb/tlog"
)

// TestCheckAnchor: a log extends its anchor when the anchor verifies
// under the root's log key and its tree is a prefix of the root's; every
// other case is ErrBehindAnchor, saying why.
func TestCheckAnchor(t *testing.T) {
	s, vkey := newKey(t, "acme")
	other, _ := newKey(t, "acme")
	logSite, tree := logOf(t, 20)
	old, err := Append(context.Background(), tlog.Tree{}, site{}.fetch, entries(0, 12), site{}.put)
	if err != nil {
		t.Fatal(err)
	}
	forked, err := Append(context.Background(), tlog.Tree{}, site{}.fetch, entries(100, 112), site{}.put)
	if err != nil {
		t.Fatal(err)
	}
	anchor := func(tr tlog.Tree, foreign bool) []byte {
		t.Helper()
		sg := s
		if foreign {
			sg = other
		}
		msg, err := SignCheckpoint(Checkpoint{Origin: "acme", Tree: tr}, sg)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	rootOf := func(tr tlog.Tree) *index.Root {
		return &index.Root{Log: &index.LogRef{Size: tr.N, Hash: tr.Hash.String(), Key: vkey}}
	}
	for _, c := range []struct {
		name   string
		anchor []byte
		root   *index.Root
		want   string // "" passes
	}{
		{"the same tree", anchor(tree, false), rootOf(tree), ""},
		{"an older anchor", anchor(old, false), rootOf(tree), ""},
		{"an older log", anchor(tree, false), rootOf(old), "the anchor's tree has 20 entries, the site's 12"},
		{"a forked log", anchor(forked, false), rootOf(tree), "the site: " + ErrInconsistent.Error()},
		{"another log's anchor", anchor(old, true), rootOf(tree), "the anchor does not verify under the log key of the site"},
		{"no log", anchor(old, false), &index.Root{}, "the site has no signed transparency log"},
		{"no root", anchor(old, false), nil, "the site has no signed transparency log"},
	} {
		_, err := CheckAnchor(context.Background(), c.anchor, c.root, logSite.fetch, "the site")
		if c.want == "" && err != nil || c.want != "" && (!errors.Is(err, ErrBehindAnchor) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
