package profile

import (
	"context"

	"github.com/packgen/packgen/internal/parallel"
)

// Archives fetches every locked layer's archive into the cache and
// verifies it as Fetch does (the registry's signed index, the shard still
// listing the locked digests, the archive's digest and signature),
// without extracting it: the verified archive files, in layer order.
// Every failure is reported. A retired release is judged as Fetch
// judges it (lockedRelease): a deprecated one warned of (env.Warn), a
// deleted one refused (ErrDeleted) unless allowDeleted.
func Archives(ctx context.Context, lock *Lock, env *Env, jobs int, allowDeleted bool) ([]string, error) {
	if jobs <= 0 {
		jobs = 4
	}
	clients, err := env.lockedClients(ctx, lock)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(lock.Layers))
	errs := make([]error, len(lock.Layers))
	warns := make([]string, len(lock.Layers))
	perr := parallel.Each(ctx, len(lock.Layers), jobs, func(i int) error {
		l := lock.Layers[i]
		c, err := clients[l.Registry.Name].Fork(ctx)
		if err == nil {
			paths[i], _, warns[i], err = lockedRelease(ctx, c, l, allowDeleted)
		}
		errs[i] = err
		return nil
	})
	if err := env.layersDone(warns, errs, perr); err != nil {
		return nil, err
	}
	return paths, nil
}
