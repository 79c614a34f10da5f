package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/tlog"
)

// checkSiteAnchor refuses, before anything is written and even with
// Force, a site whose log does not extend o.LogAnchor: a checkpoint of
// the registry's log kept outside the destination (log/checkpoint saved
// after the last publish, or a witness's state/checkpoint), as build
// --log-anchor keeps it (translog.CheckAnchor, attackS F4). Such a site
// was built from an older generation than the anchor saw (one put back
// in the bucket, replayed at --previous), or from another log, and
// would drop what was published since. It returns the anchor's tree
// (nil without an anchor), for warnLiveAnchor.
func checkSiteAnchor(ctx context.Context, o Options, site *index.Root, siteLog translog.Fetch, src string) (*tlog.Tree, error) {
	if len(o.LogAnchor) == 0 {
		return nil, nil
	}
	anchor, err := translog.CheckAnchor(ctx, o.LogAnchor, site, siteLog, "the site")
	switch {
	case err == nil:
		return &anchor, nil
	case errors.Is(err, translog.ErrBehindAnchor):
		return nil, fmt.Errorf("%s: %w: it was built from an older generation than the one the anchor saw (put back in the bucket, or a CDN cache or mirror, at --previous), from a forked log or from another registry's, and would drop what was published since; not even --force publishes it, and nothing was written. Find out who wrote the registry, restore its newest generation (the bucket's object versions, the last CI artefact), then build with --previous pointing at it and --log-anchor, and publish that", src, err)
	}
	return nil, fmt.Errorf("%w: %s/index.json: %v", ErrNotSite, src, err)
}

// warnLiveAnchor warns when the destination's live registry (nil: it
// holds none) is behind anchor (nil: none), which checkSiteAnchor proved the
// site extends: since the anchor was saved, someone who can write the
// destination put an older generation (or an unsigned copy, or
// nothing) in its place, and the fork check compares the site with
// that. A warning, not a refusal: the site extends the anchor, so it
// extends every prefix of the anchor's log the replay can hold, and
// publishing it is the repair; refusing would leave clients served the
// replay until someone restored the bucket by hand. A live log the
// anchor does not verify under, or of the anchor's size with another
// root, is refused by the key and fork checks.
func warnLiveAnchor(o Options, anchor *tlog.Tree, live *index.Root, t fmt.Stringer) {
	if anchor == nil {
		return
	}
	var what string
	switch {
	case live == nil:
		what = "holds no registry"
	case live.Log == nil:
		what = fmt.Sprintf("serves a registry (serial %d) with no transparency log", live.Serial)
	case live.Log.Size < anchor.N:
		what = fmt.Sprintf("serves a log of %d entries (serial %d), the anchor's has %d", live.Log.Size, live.Serial, anchor.N)
	default:
		return
	}
	fmt.Fprintf(o.Log, "warning: --log-anchor: %s %s: an older generation, or none, was put there since the anchor was saved, by someone who can write it (or a publish after the anchor's went elsewhere); this publish replaces it with the site, whose log extends the anchor. Find out who wrote %s (its access log, object versions)\n", t, what, t)
}
