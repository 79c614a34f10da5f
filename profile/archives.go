package profile

import (
	"context"
	"errors"

	"github.com/packgen/packgen/internal/parallel"
)

// Archives fetches every locked layer's archive into the cache and
// verifies it as Fetch does (the registry's signed index, the shard still
// listing the locked digests, the archive's digest and signature),
// without extracting it: the verified archive files, in layer order.
// Every failure is reported.
func Archives(ctx context.Context, lock *Lock, env *Env, jobs int) ([]string, error) {
	if jobs <= 0 {
		jobs = 4
	}
	clients, err := env.lockedClients(ctx, lock)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(lock.Layers))
	errs := make([]error, len(lock.Layers))
	perr := parallel.Each(ctx, len(lock.Layers), jobs, func(i int) error {
		l := lock.Layers[i]
		c, err := clients[l.Registry.Name].Fork(ctx)
		if err == nil {
			paths[i], _, err = lockedRelease(ctx, c, l)
		}
		errs[i] = err
		return nil
	})
	if err := errors.Join(append(errs, perr)...); err != nil {
		return nil, err
	}
	return paths, nil
}
