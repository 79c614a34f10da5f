// Package chartshape decides where the chart lies in a chart archive,
// from its entry names alone, for validation (package pack) and for the
// chart renderer (internal/chartrender) alike: the two must read one
// chart from one archive, or validation would vouch for a chart other
// than the one rendered, signed and installed.
//
// Helm's archive reader takes each name's first element for the chart's
// directory and drops it, whatever it is, so an archive's names must
// agree on that element for Helm and packgen to read the same files.
// The shapes accepted:
//
//	c/Chart.yaml    `helm package c`, `tar -C parent -czf x.tgz c`
//	./Chart.yaml    `tar -C c -czf x.tgz .`; Helm reads it (first element ".")
//	./c/Chart.yaml  `tar -C parent -czf x.tgz .`; Helm's loader cannot
//	                read it (it finds c/Chart.yaml, not Chart.yaml), so
//	                validation warns; the renderer takes c/ out
//
// Anything else (names with and without "./" mixed, an entry outside the
// chart's directory, two charts) is refused. Standard library only: a
// leaf both packgen and packgen-helm link.
package chartshape

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrLayout is an archive whose names do not all lie in one chart
// directory named one way.
var ErrLayout = errors.New("chart archive layout")

// ErrNoChart is an archive with no Chart.yaml where Helm looks for one.
var ErrNoChart = errors.New("chart archive has no <chart>/Chart.yaml")

// Shape is how an archive roots its chart.
type Shape int

const (
	Packaged Shape = iota + 1 // c/Chart.yaml
	DotRoot                   // ./Chart.yaml
	DotDir                    // ./c/Chart.yaml
)

// Entry is one entry of an archive as Helm's reader sees it: its name
// as the tar header gives it, and whether it is a directory (which
// Helm's reader skips). Extended headers are not entries.
type Entry struct {
	Name string
	Dir  bool
}

// EntryOf is the entry a tar header is to Helm's reader; false for a
// header that is no entry (git archive's pax_global_header, which
// Helm's reader skips too).
func EntryOf(h *tar.Header) (Entry, bool) {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return Entry{}, false
	}
	return Entry{Name: h.Name, Dir: h.Typeflag == tar.TypeDir || h.FileInfo().IsDir()}, true
}

// Layout says where the chart lies.
type Layout struct {
	Shape Shape
	// Dir is the chart's directory without "./" ("c"), "." for DotRoot.
	Dir string
	// ChartYAML is the clean name, without "./", of the Chart.yaml
	// entry that is the chart's: "c/Chart.yaml", or "Chart.yaml".
	ChartYAML string
}

// IsChartYAML says whether a regular file named name may be a chart's
// Chart.yaml under some shape, and returns the key Layout.ChartYAML
// names it by: a caller reading the archive once keeps these entries'
// content and takes the one Of picks. When two entries have one key,
// the later one is the chart's, as in Helm's loader.
func IsChartYAML(name string) (key string, ok bool) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	dir, base := path.Split(clean)
	if base != "Chart.yaml" || strings.Contains(strings.TrimSuffix(dir, "/"), "/") {
		return "", false
	}
	if dir == "" && !strings.HasPrefix(name, "./") {
		return "", false // Helm refuses "Chart.yaml" at the top
	}
	return clean, true
}

// Of decides the layout of an archive from its entries, in order.
func Of(entries []Entry) (Layout, error) {
	var first string // the first entry's name: the way all are named
	dotted, root := false, false
	var dirs []string // the directories holding a candidate Chart.yaml
	for _, e := range entries {
		if e.Dir && (e.Name == "." || e.Name == "./") {
			continue // tar(1)'s root entry; Helm's reader skips it
		}
		if strings.Contains(e.Name, `\`) {
			return Layout{}, fmt.Errorf("%w: entry %q uses backslashes, which Helm reads as separators: repack it with `helm package DIR`", ErrLayout, e.Name)
		}
		d := strings.HasPrefix(e.Name, "./")
		if first == "" {
			first, dotted = e.Name, d
		} else if d != dotted {
			return Layout{}, fmt.Errorf("%w: entry %q and entry %q are not both named with a leading \"./\", so tools disagree on which directory is the chart's: repack it with `helm package DIR`", ErrLayout, first, e.Name)
		}
		if e.Dir {
			continue
		}
		if key, ok := IsChartYAML(e.Name); ok {
			if key == "Chart.yaml" {
				root = true
			} else if dir := path.Dir(key); !contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
	}
	if root {
		// Every name starts "./", the directory Helm drops: ./c/Chart.yaml
		// is a file of this chart, as Helm reads it.
		return Layout{Shape: DotRoot, Dir: ".", ChartYAML: "Chart.yaml"}, nil
	}
	switch len(dirs) {
	case 0:
		return Layout{}, fmt.Errorf("%w: build it with `helm package`", ErrNoChart)
	case 1:
	default:
		return Layout{}, fmt.Errorf("%w: it holds more than one chart (%s and %s): repack the one meant with `helm package DIR`", ErrLayout, dirs[0], dirs[1])
	}
	l := Layout{Shape: Packaged, Dir: dirs[0], ChartYAML: dirs[0] + "/Chart.yaml"}
	if dotted {
		l.Shape = DotDir
	}
	for _, e := range entries {
		if e.Dir && (e.Name == "." || e.Name == "./") {
			continue
		}
		clean := path.Clean(strings.TrimPrefix(e.Name, "./"))
		top, _, below := strings.Cut(clean, "/")
		if top != l.Dir || (!below && !e.Dir) {
			return Layout{}, fmt.Errorf("%w: entry %q lies outside the chart's directory %s/, and tools disagree on which files such an archive holds: repack it with `helm package %s`", ErrLayout, e.Name, l.Dir, l.Dir)
		}
	}
	return l, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
