package translog

import (
	"context"
	"errors"
	"fmt"

	"github.com/packgen/packgen/index"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrBehindAnchor: a registry's log does not extend the log anchor, a
// checkpoint of that log kept outside the bucket: the registry is an
// older generation put back, a forked log, or not this log at all.
var ErrBehindAnchor = errors.New("the log does not extend the log anchor")

// CheckAnchor checks that the log root names (its tiles read through
// fetch) extends anchor, a signed checkpoint of the registry's log kept
// where a writer of the bucket cannot change it (log/checkpoint saved
// after the last publish, or a witness's state/checkpoint): attackS F4.
// whose names root's registry in the messages ("the previous build",
// "the site"); a nil root is one without a (signed) log. The errors
// match ErrBehindAnchor and say why: no log, an anchor that does not
// verify under root's log key, a larger anchor tree, or trees that are
// not consistent (fetch's error stays in the chain, for the caller to
// tell an operational failure). The anchor's tree is returned when it
// verified.
func CheckAnchor(ctx context.Context, anchor []byte, root *index.Root, fetch Fetch, whose string) (tlog.Tree, error) {
	if root == nil || root.Log == nil {
		return tlog.Tree{}, fmt.Errorf("%w: %s has no signed transparency log, and the anchor is a checkpoint of one", ErrBehindAnchor, whose)
	}
	c, err := OpenCheckpoint(anchor, root.Log.Key)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: the anchor does not verify under the log key of %s (%v): it is another log's checkpoint, or %s is not this registry's", ErrBehindAnchor, whose, err, whose)
	}
	tree, _, err := TreeOf(root)
	if err != nil {
		return c.Tree, err
	}
	if c.Tree.N > tree.N {
		return c.Tree, fmt.Errorf("%w: the anchor's tree has %d entries, %s's %d", ErrBehindAnchor, c.Tree.N, whose, tree.N)
	}
	if err := CheckConsistency(ctx, c.Tree, tree, fetch); err != nil {
		return c.Tree, fmt.Errorf("%w: %s: %w", ErrBehindAnchor, whose, err)
	}
	return c.Tree, nil
}
