package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/walk"
)

// resolveRelease picks the release of shard a constraint resolves to. A
// release marked deleted (retired, or annotations.system_state) is left out
// unless the constraint names its exact version, as a yanked crate stays
// fetchable by its version. When nothing matches, the error lists the
// versions as written and says what would: --pre when only pre-releases
// match, the exact version for a deleted release.
func resolveRelease(shard *index.Shard, name, constraint string, cons *semver.Constraints, pre bool) (*index.Release, error) {
	live := shard.Live()
	if rel := live.Resolve(cons, pre); rel != nil {
		return rel, nil
	}
	if rel := exactRelease(shard, constraint); rel != nil {
		return rel, nil
	}
	what := "no version"
	if constraint != "" {
		what = "no version matching " + constraint
	}
	var available []string
	for _, r := range shard.Releases {
		v := r.Version
		if r.Deleted() {
			v += " (deleted)"
		}
		available = append(available, v)
	}
	hint := ""
	if rel := live.Resolve(cons, true); !pre && rel != nil {
		// Only fetch has --pre; an exact version works everywhere
		// (images NAME@VERSION, a profile's layer), as exactRelease does.
		exact := fmt.Sprintf(", or ask for it by its exact version (%s@%s; in a profile, version: %q)", name, rel.Version, rel.Version)
		if constraint == "" {
			hint = fmt.Sprintf("; it has only pre-releases: pass --pre to use %s (fetch)%s", rel.Version, exact)
		} else {
			hint = fmt.Sprintf("; pre-release %s matches: pass --pre to use it (fetch)%s", rel.Version, exact)
		}
	} else if rel := shard.Resolve(cons, pre); rel != nil && rel.Deleted() {
		hint = fmt.Sprintf("; %s matches but is deleted (%s): name its exact version to fetch it anyway", rel.Version, textsafe.Escape(rel.StateWhy()))
	}
	return nil, errmark.New(ErrNotFound, "pack %s has %s (available: %s)%s", name, what, strings.Join(available, ", "), hint)
}

// exactRelease returns the release a constraint names by its exact
// version, as written ("v2.1", "20.09") or in full ("1.2.0", "=1.2.0"),
// or nil.
func exactRelease(shard *index.Shard, constraint string) *index.Release {
	c := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(constraint), "="))
	if c == "" {
		return nil
	}
	want, err := semver.StrictNewVersion(strings.TrimPrefix(c, "v"))
	for i, r := range shard.Releases {
		if r.Version == c {
			return &shard.Releases[i]
		}
		if err == nil {
			if v, verr := r.SemVer(); verr == nil && v.Equal(want) {
				return &shard.Releases[i]
			}
		}
	}
	return nil
}

// Registry returns the registry this client talks to.
func (c *Client) Registry() Registry { return c.reg }

// Verifies reports whether this client checks signatures (the registry
// has keys and verification was not switched off).
func (c *Client) Verifies() bool { return c.verifier != nil && !c.opts.InsecureSkipVerify }

// ArchiveSigned is Archive plus the SHA-256 of the exact .sig file bytes
// that verified the archive, for callers that pin signatures (profile
// lock files). The signature is fetched once and those same bytes are
// both hashed and verified, so the digest returned always belongs to a
// signature that checked out. It is "" when the release has no signature
// (an unsigned registry; a client with keys refuses that).
func (c *Client) ArchiveSigned(ctx context.Context, name string, rel *index.Release) (path, sigSHA256 string, err error) {
	defer c.flush()
	if c.Verifies() && rel.Signature == "" {
		return "", "", walk.UnsignedRelease(rel)
	}
	path, raw, err := c.archive(ctx, name, rel, true)
	if err != nil || raw == nil {
		return path, "", err
	}
	return path, index.Digest(raw), nil
}

// Fork returns a client for use in another goroutine. A Client is not safe
// for concurrent use; a fork shares its transport, keys, options and the
// index.json already fetched and verified by Root (which Fork calls
// first), so parallel downloads do not each fetch and verify the index
// again. Each fork keeps its own Requests and Bytes. Call Root before
// forking from several goroutines: the parent is not safe for concurrent
// use either.
func (c *Client) Fork(ctx context.Context) (*Client, error) {
	if _, err := c.Root(ctx); err != nil {
		return nil, err
	}
	return &Client{reg: c.reg, tr: c.tr, verifier: c.verifier, opts: c.opts, root: c.root, rootData: c.rootData, wit: c.wit, air: c.air}, nil
}
