package chartshape

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	f := func(name string) Entry { return Entry{Name: name} }
	d := func(name string) Entry { return Entry{Name: name, Dir: true} }
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    Layout
		err     error  // sentinel, when refused
		frag    string // the error names this
	}{
		{"helm package", []Entry{f("c/Chart.yaml"), f("c/values.yaml"), f("c/templates/a.yaml"), f("c/charts/sub/Chart.yaml")},
			Layout{Packaged, "c", "c/Chart.yaml"}, nil, ""},
		{"tar -C parent c", []Entry{d("c/"), f("c/Chart.yaml"), d("c/templates/"), f("c/templates/a.yaml")},
			Layout{Packaged, "c", "c/Chart.yaml"}, nil, ""},
		{"tar -C parent .", []Entry{d("./"), d("./c/"), f("./c/Chart.yaml"), f("./c/templates/a.yaml")},
			Layout{DotDir, "c", "c/Chart.yaml"}, nil, ""},
		{"tar -C parent . without slashes", []Entry{d("."), d("./c"), f("./c/Chart.yaml")},
			Layout{DotDir, "c", "c/Chart.yaml"}, nil, ""},
		{"tar -C c .", []Entry{d("./"), f("./Chart.yaml"), d("./templates/"), f("./templates/a.yaml")},
			Layout{DotRoot, ".", "Chart.yaml"}, nil, ""},
		// Helm reads c/Chart.yaml below ./ as a file of the chart at ./.
		{"tar -C c . holding a c/Chart.yaml", []Entry{f("./c/Chart.yaml"), f("./Chart.yaml")},
			Layout{DotRoot, ".", "Chart.yaml"}, nil, ""},
		// The review's archive: validation read c@1.0.0 while Helm,
		// dropping every first element, read x/c's "evil" chart.
		{"mixed ./ and bare", []Entry{f("./c/Chart.yaml"), f("x/c/Chart.yaml"), f("x/c/templates/b.yaml")},
			Layout{}, ErrLayout, `"./c/Chart.yaml" and entry "x/c/Chart.yaml"`},
		{"bare dir entry among ./ names", []Entry{d("c/"), f("./c/Chart.yaml")},
			Layout{}, ErrLayout, `"c/" and entry "./c/Chart.yaml"`},
		{"second top-level dir under ./", []Entry{f("./c/Chart.yaml"), f("./c/templates/a.yaml"), f("./d/x")},
			Layout{}, ErrLayout, `entry "./d/x" lies outside the chart's directory c/`},
		{"stray dir under ./", []Entry{f("./c/Chart.yaml"), d("./d/")},
			Layout{}, ErrLayout, `"./d/"`},
		{"second top-level dir", []Entry{f("c/Chart.yaml"), f("d/templates/x.yaml")},
			Layout{}, ErrLayout, `entry "d/templates/x.yaml" lies outside`},
		{"file at the top beside the chart", []Entry{f("c/Chart.yaml"), f("README.md")},
			Layout{}, ErrLayout, `entry "README.md" lies outside`},
		{"file named as the chart's directory", []Entry{f("./c"), f("./c/Chart.yaml")},
			Layout{}, ErrLayout, `entry "./c" lies outside`},
		{"climbing out and back", []Entry{f("c/Chart.yaml"), f("c/../d/x")},
			Layout{}, ErrLayout, `"c/../d/x"`},
		{"two charts", []Entry{f("app/Chart.yaml"), f("other/Chart.yaml")},
			Layout{}, ErrLayout, "more than one chart (app and other)"},
		{"two charts under ./", []Entry{f("./app/Chart.yaml"), f("./other/Chart.yaml")},
			Layout{}, ErrLayout, "more than one chart (app and other)"},
		{"backslashes", []Entry{f(`c\Chart.yaml`)}, Layout{}, ErrLayout, "backslashes"},
		{"Chart.yaml at the top, bare", []Entry{f("Chart.yaml"), f("templates/a.yaml")}, Layout{}, ErrNoChart, "helm package"},
		{"Chart.yaml too deep", []Entry{f("x/c/Chart.yaml")}, Layout{}, ErrNoChart, ""},
		{"Chart.yaml a directory", []Entry{d("./Chart.yaml/"), f("./Chart.yaml/x")}, Layout{}, ErrNoChart, ""},
		{"empty", nil, Layout{}, ErrNoChart, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Of(tc.entries)
			if tc.err == nil {
				if err != nil || got != tc.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.frag) {
				t.Fatalf("got %+v, %v; want %v naming %q", got, err, tc.err, tc.frag)
			}
			if tc.err == ErrLayout && !strings.Contains(err.Error(), "helm package") {
				t.Errorf("%v: does not say how to repack", err)
			}
		})
	}
}

// FuzzOf: whatever the names, a layout Of accepts puts every entry in
// the chart's directory (Helm's first element) and names a Chart.yaml
// that IsChartYAML keys as it.
func FuzzOf(f *testing.F) {
	f.Add("./c/Chart.yaml\n./c/t/a.yaml\n./", "")
	f.Add("c/Chart.yaml\nx/c/Chart.yaml", "c/")
	f.Add("./Chart.yaml\n./c/Chart.yaml", ".")
	f.Fuzz(func(t *testing.T, files, dirs string) {
		var entries []Entry
		for _, n := range strings.Split(files, "\n") {
			entries = append(entries, Entry{Name: n})
		}
		for _, n := range strings.Split(dirs, "\n") {
			entries = append(entries, Entry{Name: n, Dir: true})
		}
		l, err := Of(entries)
		if err != nil {
			return
		}
		found := false
		for _, e := range entries {
			if e.Dir && (e.Name == "." || e.Name == "./") {
				continue
			}
			if (l.Shape == DotRoot || l.Shape == DotDir) != strings.HasPrefix(e.Name, "./") {
				t.Fatalf("%+v: entry %q named the other way", l, e.Name)
			}
			clean := path.Clean(strings.TrimPrefix(e.Name, "./"))
			if l.Shape != DotRoot && clean != l.Dir && !strings.HasPrefix(clean, l.Dir+"/") {
				t.Fatalf("%+v: entry %q outside", l, e.Name)
			}
			if k, ok := IsChartYAML(e.Name); ok && !e.Dir && k == l.ChartYAML {
				found = true
			}
		}
		if !found {
			t.Fatalf("%+v: no entry is its Chart.yaml", l)
		}
	})
}
