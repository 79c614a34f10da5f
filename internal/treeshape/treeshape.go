// Package treeshape lets tests build registries with a bucket tree of a
// chosen shape (a deep tree from a handful of packs) without exposing a
// knob in build.Options: it is internal, so only this module reaches it.
package treeshape

import "context"

// Func returns bits per level and the number of levels for n packs.
type Func func(n int) (bits, depth int)

type key struct{}

// With returns a context under which build.Run shapes its bucket tree with f.
func With(ctx context.Context, f Func) context.Context { return context.WithValue(ctx, key{}, f) }

// From returns the shape set by With, or nil.
func From(ctx context.Context) Func {
	f, _ := ctx.Value(key{}).(Func)
	return f
}
