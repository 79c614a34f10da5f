package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/packgen/packgen/internal/errmark"
)

// InOrder tries the registries regs in order with try, opening a client
// for each with open, until one has the pack name (ref as the user wrote
// it, for the message). Only "not there" (ErrNotFound) moves on to the
// next: a registry that fails verification stops the search (it must not
// fall through to another's pack of that name). The errors of try carry a
// suggestion of the names the registries tried so far hold; an error of
// open is returned as it is.
func InOrder(ctx context.Context, regs []Registry, open func(Registry) (*Client, error), name, ref string, try func(*Client) error) error {
	var misses []string
	var clients []*Client
	for _, reg := range regs {
		cl, err := open(reg)
		if err != nil {
			return errmark.Wrap(errOpen, err)
		}
		clients = append(clients, cl)
		err = try(cl)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotFound) || len(regs) == 1 {
			if len(misses) > 0 {
				// Its failure must not hide that the others simply had no match.
				what := fmt.Sprintf("the %d registries tried before it have", len(misses))
				if len(misses) == 1 {
					what = "the 1 registry tried before it has"
				}
				err = fmt.Errorf("%w\n(%s no match:\n  %s)", err, what, strings.Join(misses, "\n  "))
			}
			return WithSuggestion(ctx, err, name, clients)
		}
		misses = append(misses, err.Error())
	}
	err := errmark.New(ErrNotFound, "%s in none of the %d configured registries:\n  %s", ref, len(regs), strings.Join(misses, "\n  "))
	return WithSuggestion(ctx, err, name, clients)
}

// errOpen marks an error of InOrder's open, which OpenError tells apart.
var errOpen = errors.New("registry not opened")

// OpenError returns the error of InOrder's open that err is, or nil when
// err came from a registry (a caller reports the two differently).
func OpenError(err error) error { return errors.Unwrap(errmark.Find(err, errOpen)) }

// Complete lists what completes prefix on a command line from the
// catalogues of clients: pack names, or after NAME@ the versions of NAME
// (newest first). Registries that fail are skipped: completion is a hint.
// A registry that cannot be read now offers what this machine cached of
// it (client/cached.go).
func Complete(ctx context.Context, clients []*Client, prefix string) []string {
	var out []string
	seen := map[string]bool{}
	name, _, versions := strings.Cut(prefix, "@")
	for _, cl := range clients {
		if versions {
			shard, err := cl.Shard(ctx, name)
			if err != nil {
				shard, err = cl.cachedShard(name) // offline: what the cache has
			}
			if err != nil {
				continue
			}
			for i := len(shard.Releases) - 1; i >= 0; i-- {
				if v := name + "@" + shard.Releases[i].Version; strings.HasPrefix(v, prefix) && !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
			continue
		}
		packs, err := cl.Catalog(ctx)
		if err != nil {
			packs, err = cl.cachedCatalog()
		}
		if err != nil {
			continue
		}
		for _, p := range packs {
			if strings.HasPrefix(p.Name, prefix) && !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, p.Name)
			}
		}
	}
	return out
}
