// Package site writes the static HTML catalogue of a registry build.
package site

import "github.com/packgen/packgen/index"

// Write renders the catalogue into dir, a staged registry directory that
// already holds the archives named by each shard.
func Write(dir string, root *index.Root, shards []*index.Shard) error {
	return nil
}
