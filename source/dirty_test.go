package source

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/packgen/packgen/internal/gitfixture"
)

// TestDirtyMatchesStatus: Dirty, which reads the packs directory alone, reports what
// go-git's whole-tree Status reports under it, on repositories whose
// index git(1) wrote (stat data, racy timestamps) and go-git wrote: edits
// of one size, touches, modes, deletions, untracked and ignored files
// (.gitignore at the top, in the packs dir, in a pack; info/exclude),
// links, non-ASCII names, a file turned directory, staged changes, and
// changes outside the packs directory.
func TestDirtyMatchesStatus(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git(1)")
	}
	type step func(t *testing.T, dir string)
	write := func(rel, data string) step {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.WriteFile(p, []byte(data), 0o644))
		}
	}
	remove := func(rel string) step {
		return func(t *testing.T, dir string) { must(t, os.RemoveAll(filepath.Join(dir, filepath.FromSlash(rel)))) }
	}
	gitDo := func(args ...string) step {
		return func(t *testing.T, dir string) {
			if out, err := exec.Command(gitBin, append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
	}
	base := map[string]string{
		".gitignore":                        "*.bak\n",
		"README.md":                         "# packs\n",
		"packs/.gitignore":                  "scratch/\n",
		"packs/app-1.0/pack.json":           `{"name":"app","version":"1.0"}`,
		"packs/app-1.0/values.yaml":         "a: 1\n",
		"packs/app-1.0/manifests/a.yaml":    "kind: A\n",
		"packs/dex-v3.18/pack.json":         `{"name":"dex","version":"v3.18.0"}`,
		"packs/dex-v3.18/charts/.gitignore": "*.tmp\n",
		"packs/dex-v3.18/charts/c.tgz":      "chart",
		"packs/größe/pack.json":             `{"name":"groesse","version":"1.0.0"}`,
		"other/x.txt":                       "x\n",
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string // Dirty("packs"); nil: only compared with Status
		// goGitMisses: go-git's Status gets it wrong (it reads no
		// info/exclude, and has no guard for racy timestamps).
		goGitMisses bool
	}{
		{name: "clean"},
		{name: "same-size edit", steps: []step{write("packs/app-1.0/values.yaml", "a: 2\n")}, want: []string{"packs/app-1.0/values.yaml"}},
		{name: "touched, same content", steps: []step{func(t *testing.T, dir string) {
			later := time.Now().Add(time.Hour)
			must(t, os.Chtimes(filepath.Join(dir, "packs/app-1.0/values.yaml"), later, later))
		}}},
		{name: "made executable", steps: []step{func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "packs/app-1.0/values.yaml"), 0o755))
		}}, want: []string{"packs/app-1.0/values.yaml"}},
		{name: "file deleted", steps: []step{remove("packs/app-1.0/manifests/a.yaml")}, want: []string{"packs/app-1.0/manifests/a.yaml"}},
		{name: "pack deleted", steps: []step{remove("packs/dex-v3.18")}},
		{name: "untracked", steps: []step{write("packs/app-1.0/new.yaml", "n\n"), write("packs/app-2.0/pack.json", "{}")}, want: []string{"packs/app-1.0/new.yaml", "packs/app-2.0/pack.json"}},
		{name: "ignored", steps: []step{write("packs/app-1.0/values.yaml.bak", "b"), write("packs/scratch/x", "s"), write("packs/dex-v3.18/charts/c.tmp", "t"), write("packs/app-1.0/x.local", "l"), write(".git/info/exclude", "# local\n*.local\n")}, want: []string{}, goGitMisses: true},
		{name: "ignore file edited in the packs dir", steps: []step{write("packs/scratch/x", "s"), write("packs/.gitignore", "")}, want: []string{"packs/.gitignore", "packs/scratch/x"}},
		{name: "outside the packs dir", steps: []step{write("other/x.txt", "y\n"), write("README.md", "changed\n"), write("new-top.txt", "n")}, want: []string{}},
		{name: "non-ASCII", steps: []step{write("packs/größe/values.yaml", "ä: 1\n")}, want: []string{"packs/größe/values.yaml"}},
		{name: "link added, link target changed", steps: []step{
			func(t *testing.T, dir string) {
				must(t, os.Symlink("values.yaml", filepath.Join(dir, "packs/app-1.0/link.yaml")))
			}, gitDo("add", "-A"), gitDo("commit", "-qm", "link"),
			func(t *testing.T, dir string) {
				p := filepath.Join(dir, "packs/app-1.0/link.yaml")
				must(t, os.Remove(p))
				must(t, os.Symlink("manifests/a.yaml", p))
			}}, want: []string{"packs/app-1.0/link.yaml"}},
		{name: "file became a directory", steps: []step{remove("packs/app-1.0/values.yaml"), write("packs/app-1.0/values.yaml/x", "x")}, want: []string{"packs/app-1.0/values.yaml", "packs/app-1.0/values.yaml/x"}},
		{name: "staged", steps: []step{write("packs/app-1.0/staged.yaml", "s\n"), gitDo("add", "packs/app-1.0/staged.yaml"), write("packs/app-1.0/values.yaml", "a: 3\n"), gitDo("add", "-u")}, want: []string{"packs/app-1.0/staged.yaml", "packs/app-1.0/values.yaml"}},
		// What a sparse checkout does to a file it leaves out (go-git
		// cannot open a repository after `git sparse-checkout`, which
		// sets extensions.worktreeConfig).
		{name: "sparse: skip-worktree file absent", steps: []step{gitDo("update-index", "--skip-worktree", "packs/dex-v3.18/pack.json"), remove("packs/dex-v3.18/pack.json")}, want: []string{}, goGitMisses: true},
		{name: "racy: edited in the tick the index was written", steps: []step{
			func(t *testing.T, dir string) {
				p := filepath.Join(dir, "packs/app-1.0/values.yaml")
				fi, err := os.Stat(p)
				must(t, err)
				must(t, os.WriteFile(p, []byte("a: 9\n"), 0o644))
				must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime())) // same size, same mtime
				// The index written in the very tick the file was: its
				// stat data cannot tell an edit after it (git's "racy" case).
				must(t, os.Chtimes(filepath.Join(dir, ".git", "index"), fi.ModTime(), fi.ModTime()))
			}}, want: []string{"packs/app-1.0/values.yaml"}, goGitMisses: true},
	} {
		for _, writer := range []string{"git", "go-git"} {
			t.Run(tc.name+"/"+writer, func(t *testing.T) {
				dir := t.TempDir()
				var r *gitfixture.Repo
				if writer == "git" {
					gitDo("init", "-q", "-b", "main")(t, dir)
					gitDo("config", "user.email", "t@example.com")(t, dir)
					gitDo("config", "user.name", "t")(t, dir)
				} else {
					var err error
					r, err = gitfixture.Init(dir)
					must(t, err)
				}
				for rel, data := range base {
					write(rel, data)(t, dir)
				}
				if writer == "git" {
					gitDo("add", "-A")(t, dir)
					gitDo("commit", "-qm", "base")(t, dir)
				} else {
					_, err := r.Commit("base")
					must(t, err)
				}
				steps := tc.steps
				if writer == "go-git" && slices.ContainsFunc([]string{"link added", "staged", "sparse"}, func(s string) bool { return strings.HasPrefix(tc.name, s) }) {
					return // these steps run git(1) on the index
				}
				for _, s := range steps {
					s(t, dir)
				}
				repo, err := Open(dir)
				must(t, err)
				for _, packsDir := range []string{"packs", "", "packs/app-1.0"} {
					got, err := repo.Dirty(packsDir)
					must(t, err)
					want := goGitDirty(t, dir, packsDir)
					if !tc.goGitMisses && strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("Dirty(%q) = %q, go-git's Status says %q", packsDir, got, want)
					}
					if packsDir == "packs" && tc.want != nil && strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
						t.Errorf("Dirty(%q) = %q, want %q", packsDir, got, tc.want)
					}
				}
			})
		}
	}
}

// goGitDirty is what Dirty replaced: go-git's Status of the whole work
// tree, cut to packsDir.
func goGitDirty(t *testing.T, dir, packsDir string) []string {
	g, err := git.PlainOpen(dir)
	must(t, err)
	wt, err := g.Worktree()
	must(t, err)
	st, err := wt.Status()
	must(t, err)
	out := []string{}
	for p, s := range st {
		if s.Worktree == git.Unmodified && s.Staging == git.Unmodified {
			continue
		}
		if packsDir == "" || p == packsDir || strings.HasPrefix(p, packsDir+"/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// TestDirtyGitSettings: what a first review found Dirty got wrong, each
// checked against git(1)'s own `status` (the reference; go-git's Status
// gets several of these wrong too).
func TestDirtyGitSettings(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git(1)")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	git := func(t *testing.T, dir string, args ...string) string {
		t.Helper()
		out, err := exec.Command(gitBin, append([]string{"-C", dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	write := func(t *testing.T, p, data string) {
		t.Helper()
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(data), 0o644))
	}
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, dir string)
		at   string // the directory Dirty and git status run in ("": the repository)
	}{
		{name: "same-size edit with the mtime put back", edit: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "packs/app/values.yaml")
			fi, err := os.Stat(p)
			must(t, err)
			time.Sleep(10 * time.Millisecond) // another ctime
			must(t, os.WriteFile(p, []byte("a: 2\n"), 0o644))
			must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
		}},
		{name: "ignored by the user's global excludes", edit: func(t *testing.T, dir string) {
			write(t, filepath.Join(home, ".config/git/ignore"), ".DS_Store\n")
			write(t, filepath.Join(dir, "packs/app/.DS_Store"), "finder")
		}},
		{name: "group executable bit only", edit: func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "packs/app/values.yaml"), 0o654))
		}},
		{name: "core.fileMode false", edit: func(t *testing.T, dir string) {
			git(t, dir, "config", "core.fileMode", "false")
			must(t, os.Chmod(filepath.Join(dir, "packs/app/values.yaml"), 0o755))
		}},
		{name: "core.autocrlf true, checked out with CRLF, touched", edit: func(t *testing.T, dir string) {
			git(t, dir, "config", "core.autocrlf", "true")
			must(t, os.Remove(filepath.Join(dir, "packs/app/values.yaml")))
			git(t, dir, "checkout", "--", "packs")
			later := time.Now().Add(time.Hour)
			must(t, os.Chtimes(filepath.Join(dir, "packs/app/values.yaml"), later, later))
		}},
		{name: "core.autocrlf true, CRLF written over an LF checkout", edit: func(t *testing.T, dir string) {
			git(t, dir, "config", "core.autocrlf", "true")
			write(t, filepath.Join(dir, "packs/app/values.yaml"), "a: 1\r\n")
		}},
		{name: "core.autocrlf true in the user's config, checked out with CRLF, touched", edit: func(t *testing.T, dir string) {
			cfg := filepath.Join(home, ".gitconfig")
			write(t, cfg, "[core]\n\tautocrlf = true\n")
			t.Cleanup(func() { os.Remove(cfg) })
			must(t, os.Remove(filepath.Join(dir, "packs/app/values.yaml")))
			git(t, dir, "checkout", "--", "packs")
			later := time.Now().Add(time.Hour)
			must(t, os.Chtimes(filepath.Join(dir, "packs/app/values.yaml"), later, later))
		}},
		{name: "excludesFile in the user's XDG config", edit: func(t *testing.T, dir string) {
			cfg := filepath.Join(home, ".config/git/config")
			write(t, cfg, "[core]\n\texcludesFile = ~/my-ignores\n")
			write(t, filepath.Join(home, "my-ignores"), "*.swp\n")
			t.Cleanup(func() { os.Remove(cfg) })
			write(t, filepath.Join(dir, "packs/app/.values.yaml.swp"), "vim")
		}},
		// What a case-only rename looks like to git on a case-insensitive
		// volume (macOS, Windows), where git sets core.ignorecase.
		{name: "core.ignorecase, a name in another case", edit: func(t *testing.T, dir string) {
			git(t, dir, "config", "core.ignorecase", "true")
			write(t, filepath.Join(dir, "packs/APP/values.yaml"), "a: 1\n")
		}},
		{name: "linked work tree", at: "linked", edit: func(t *testing.T, dir string) {
			git(t, dir, "worktree", "add", "-q", filepath.Join(dir, "..", "linked"))
			write(t, filepath.Join(dir, "..", "linked", "packs/app/values.yaml"), "a: 3\n")
			write(t, filepath.Join(dir, ".git/info/exclude"), "*.local\n")
			write(t, filepath.Join(dir, "..", "linked", "packs/app/x.local"), "l")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			must(t, os.MkdirAll(dir, 0o755))
			git(t, dir, "init", "-q", "-b", "main")
			git(t, dir, "config", "user.email", "t@example.com")
			git(t, dir, "config", "user.name", "t")
			write(t, filepath.Join(dir, "packs/app/pack.json"), `{"name":"app","version":"1.0.0"}`)
			write(t, filepath.Join(dir, "packs/app/values.yaml"), "a: 1\n")
			git(t, dir, "add", "-A")
			git(t, dir, "commit", "-qm", "one")
			tc.edit(t, dir)
			at := dir
			if tc.at != "" {
				at = filepath.Join(dir, "..", tc.at)
			}
			var want []string
			for _, line := range strings.Split(git(t, at, "status", "--porcelain", "-uall", "--", "packs"), "\n") {
				if len(line) > 3 {
					want = append(want, line[3:])
				}
			}
			repo, err := Open(at)
			must(t, err)
			got, err := repo.Dirty("packs")
			must(t, err)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Dirty = %q, git status says %q", got, want)
			}
		})
	}
}

// TestDirtyPacksDirNotADirectory: a packs dir that the index holds as a
// file (a committed link) is an error, not a crash.
func TestDirtyPacksDirNotADirectory(t *testing.T) {
	dir := t.TempDir()
	r, err := gitfixture.Init(dir)
	must(t, err)
	must(t, r.Write("real/app/pack.json", []byte("{}")))
	must(t, os.Symlink("real", filepath.Join(dir, "packs")))
	_, err = r.Commit("one")
	must(t, err)
	repo, err := Open(dir)
	must(t, err)
	if _, err := repo.Dirty("packs"); err == nil || !strings.Contains(err.Error(), "packs directory must be one") {
		t.Errorf("Dirty of a packs dir that is a link: %v", err)
	}
}

// TestWorkFilesFileModeOff: with core.fileMode false an untracked file
// is staged 0644 whatever its bits (a filesystem that shows everything
// as 0755), as `git add` stages it.
func TestWorkFilesFileModeOff(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git(1)")
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "core.fileMode", "false"}} {
		if out, err := exec.Command(gitBin, append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	must(t, os.MkdirAll(filepath.Join(dir, "packs/app"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "packs/app/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	repo, err := Open(dir)
	must(t, err)
	files, err := repo.WorkFiles("packs/app")
	must(t, err)
	if f, ok := files["run.sh"]; !ok || f.Mode != filemode.Regular {
		t.Errorf("run.sh: %+v, want mode %v as git add stages it", files, filemode.Regular)
	}
}
