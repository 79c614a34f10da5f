// Command helmbench does what Helm does with a chart repository, with
// Helm's own library (helm.sh/helm/v3/pkg/repo), so the benchmark driver
// can time it as a process beside packgen on the same chart archives:
//
//	helmbench index DIR URL            # repo.IndexDirectory + write DIR/index.yaml (helm repo index)
//	helmbench pull URL NAME DEST       # download index.yaml, LoadIndexFile, Get, download the chart (helm pull)
package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "helmbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "index":
		idx, err := repo.IndexDirectory(args[1], args[2])
		if err != nil {
			return err
		}
		idx.SortEntries()
		return idx.WriteFile(filepath.Join(args[1], "index.yaml"), 0o644)
	case len(args) == 4 && args[0] == "pull":
		return pull(args[1], args[2], args[3])
	}
	return fmt.Errorf("usage: helmbench index DIR URL | helmbench pull URL NAME DEST")
}

// pull follows helm pull: the whole index.yaml is downloaded to a cache
// file and loaded, the newest version of the chart looked up, and the
// chart archive downloaded.
func pull(base, name, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	cache := filepath.Join(dest, "index.yaml")
	if err := get(strings.TrimSuffix(base, "/")+"/index.yaml", cache); err != nil {
		return err
	}
	idx, err := repo.LoadIndexFile(cache)
	if err != nil {
		return err
	}
	cv, err := idx.Get(name, "")
	if err != nil {
		return err
	}
	if len(cv.URLs) == 0 {
		return fmt.Errorf("%s has no URL", name)
	}
	u, err := url.Parse(cv.URLs[0])
	if err != nil {
		return err
	}
	if !u.IsAbs() {
		if u, err = url.Parse(strings.TrimSuffix(base, "/") + "/" + cv.URLs[0]); err != nil {
			return err
		}
	}
	return get(u.String(), filepath.Join(dest, filepath.Base(u.Path)))
}

func get(u, file string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
