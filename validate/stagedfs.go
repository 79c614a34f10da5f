package validate

import (
	"io/fs"
	"os"
	"path"

	"github.com/packgen/packgen/source"
)

// stagedFS shows of a pack directory on disk only the files `git add`
// would stage (source.Repo.WorkFiles) and the directories holding them:
// a file .gitignore leaves out is not in the commit the build reads, so
// it must neither satisfy nor break the pack's checks here.
type stagedFS struct {
	fsys  fs.FS
	files map[string]source.WorkFile
	dirs  map[string]bool
}

func newStagedFS(dir string, files map[string]source.WorkFile) *stagedFS {
	s := &stagedFS{fsys: os.DirFS(dir), files: files, dirs: map[string]bool{".": true}}
	for f := range files {
		for d := path.Dir(f); d != "." && !s.dirs[d]; d = path.Dir(d) {
			s.dirs[d] = true
		}
	}
	return s
}

func (s *stagedFS) check(op, name string) error {
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if _, ok := s.files[name]; !ok && !s.dirs[name] {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return nil
}

func (s *stagedFS) Open(name string) (fs.File, error) {
	if err := s.check("open", name); err != nil {
		return nil, err
	}
	return s.fsys.Open(name)
}

func (s *stagedFS) Stat(name string) (fs.FileInfo, error) {
	if err := s.check("stat", name); err != nil {
		return nil, err
	}
	return fs.Stat(s.fsys, name)
}

func (s *stagedFS) Lstat(name string) (fs.FileInfo, error) {
	if err := s.check("lstat", name); err != nil {
		return nil, err
	}
	return fs.Lstat(s.fsys, name)
}

func (s *stagedFS) ReadLink(name string) (string, error) {
	if err := s.check("readlink", name); err != nil {
		return "", err
	}
	return fs.ReadLink(s.fsys, name)
}

// ReadDir lists what is staged of a directory.
func (s *stagedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := s.check("readdir", name); err != nil {
		return nil, err
	}
	ents, err := fs.ReadDir(s.fsys, name)
	out := ents[:0]
	for _, e := range ents {
		p := path.Join(name, e.Name())
		if _, ok := s.files[p]; ok || s.dirs[p] {
			out = append(out, e)
		}
	}
	return out, err
}

var (
	_ fs.ReadDirFS  = (*stagedFS)(nil)
	_ fs.StatFS     = (*stagedFS)(nil)
	_ fs.ReadLinkFS = (*stagedFS)(nil)
)
