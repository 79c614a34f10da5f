package pack

import (
	"io/fs"
	"path"

	"github.com/packgen/packgen/pack/meta"
)

// ListFiles lists what an archive of the pack at dir in fsys holds: the
// walk Load does, with the pack's .packignore and the same refusals,
// without the rest of validation. It is what the rebuild check compares
// a published archive against, so it must stay the walk WriteArchive's
// input comes from.
func ListFiles(fsys fs.FS, dir string) ([]File, meta.Problems) {
	v := &validator{fsys: fsys, dir: path.Clean(dir), opts: Options{Limits: DefaultLimits}}
	v.pack = &Pack{FS: fsys, Dir: v.dir}
	ig := &Ignorer{}
	if data, err := v.readSmall(IgnoreFile, 1<<20); err == nil {
		ig = ParseIgnore(data)
	}
	v.walk(ig)
	v.problems.Sort()
	return v.pack.Files, v.problems
}
