package pack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/Masterminds/semver/v3"

	"github.com/packgen/packgen/internal/atomicfile"
	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/pack/meta"
)

// ScaffoldOptions describe a new pack.
type ScaffoldOptions struct {
	Name       string
	Version    string // default 1.0.0
	Layer      meta.Layer
	AddonType  string   // for add-ons; default "system app"
	CloudTypes []string // default ["all"]
	Chart      string   // path of a Helm chart .tgz to include
	Manifests  string   // directory of YAML manifests to include
	Parent     string   // where to create NAME-VERSION/
	// Images, when set, lists the images the staged pack deploys (the
	// images package, which imports this one), to declare them under
	// pack.content.images so that the new pack validates clean.
	Images func(dir string) ([]string, error)
}

var (
	// ErrScaffoldInput: the options name no pack Scaffold may write (a
	// bad name, layer or version, a directory that exists, a chart or
	// manifests path that is not there): the caller's mistake.
	ErrScaffoldInput = errors.New("bad input for a new pack")
	// ErrScaffoldContent: the chart or manifests given were read and
	// are not what a pack may hold (not a chart, no version, no YAML, a
	// chart that does not render).
	ErrScaffoldContent = errors.New("content cannot make a valid pack")
)

// Scaffold creates a new, valid pack directory and returns its path. It
// refuses to overwrite anything. Its errors match ErrScaffoldInput or
// ErrScaffoldContent, or are failures to read and write files.
func Scaffold(o ScaffoldOptions) (string, error) {
	if err := o.defaults(); err != nil {
		return "", errmark.Wrap(ErrScaffoldInput, err)
	}
	dir := filepath.Join(o.Parent, o.Name+"-"+o.Version)
	if _, err := os.Lstat(dir); err == nil {
		return "", errmark.New(ErrScaffoldInput, "%s already exists: choose another name or version", dir)
	}
	stage, err := os.MkdirTemp(o.Parent, ".packgen-new-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	values, err := scaffoldFiles(stage, o)
	if err != nil {
		return "", err
	}
	if err := scaffoldImages(stage, values, o); err != nil {
		return "", fromStage(err, stage, dir, o)
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(stage, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// stageError is an error about the stage's files, told about the files
// they were copied from.
type stageError struct {
	msg string
	err error
}

func (e *stageError) Error() string { return e.msg }
func (e *stageError) Unwrap() error { return e.err }

// Is: what the stage's pack failed on is its content (the chart does
// not render, its images cannot be listed), unless a file could not be
// read or written: that is the machine's failure.
func (e *stageError) Is(target error) bool {
	var pe *fs.PathError
	return target == ErrScaffoldContent && !errors.As(e.err, &pe)
}

// fromStage names, in err, the user's chart or manifests directory
// instead of their copies in the stage, which is removed on return (a
// chart that does not render was reported at
// packs/.packgen-new-2710519774/charts/c.tgz), and the pack's directory
// for the rest.
func fromStage(err error, stage, dir string, o ScaffoldOptions) error {
	msg := err.Error()
	if o.Chart != "" {
		msg = strings.ReplaceAll(msg, filepath.Join(stage, ChartsDir, filepath.Base(o.Chart)), o.Chart)
	}
	if o.Manifests != "" {
		msg = strings.ReplaceAll(msg, filepath.Join(stage, ManifestsDir), filepath.Clean(o.Manifests))
	}
	return &stageError{msg: strings.ReplaceAll(msg, stage, dir), err: err}
}

// defaults checks the options and fills the ones left empty.
func (o *ScaffoldOptions) defaults() error {
	if !meta.ValidName(o.Name) {
		return fmt.Errorf("name %q is not a valid pack name: lowercase letters, digits and '-', at most %d characters", o.Name, meta.MaxNameLen)
	}
	if !o.Layer.Valid() {
		return fmt.Errorf("layer %q is not one of %s", o.Layer, layerList())
	}
	if o.Version == "" {
		o.Version = "1.0.0"
	}
	// What validate accepts (two parts, leading zeros: a warning there).
	if _, err := semver.NewVersion(o.Version); err != nil {
		return fmt.Errorf("version %q is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.3)", o.Version)
	}
	if o.Chart != "" && o.Manifests != "" {
		return errors.New("give a chart or manifests, not both")
	}
	if o.Layer == meta.LayerAddon && o.AddonType == "" {
		o.AddonType = "system app"
	}
	if len(o.CloudTypes) == 0 {
		o.CloudTypes = []string{"all"}
	}
	if o.Parent == "" {
		o.Parent = "."
	}
	return nil
}

// scaffoldFiles writes pack.json, values.yaml, README.md and the copied
// chart or manifests into stage, and returns values.yaml's text.
func scaffoldFiles(stage string, o ScaffoldOptions) (string, error) {
	m := meta.Manifest{Name: o.Name, Version: o.Version, Layer: o.Layer, DisplayName: displayName(o.Name), CloudTypes: o.CloudTypes,
		Annotations: map[string]string{"source": "community"}}
	if o.Layer == meta.LayerAddon {
		m.AddonType = o.AddonType
	}
	values := fmt.Sprintf(`# Parameters of the %s pack. Users override these in their cluster profile.
pack:
  # Namespace the pack installs into.
  namespace: %q
  # Order among the profile's add-ons: lower installs first.
  # spectrocloud.com/install-priority: "0"
`, o.Name, o.Name)
	switch {
	case o.Chart != "":
		chartName, err := copyChart(o.Chart, filepath.Join(stage, ChartsDir))
		if err != nil {
			return "", err
		}
		m.Charts = []string{path.Join(ChartsDir, filepath.Base(o.Chart))}
		values += fmt.Sprintf("\ncharts:\n  %s:\n    # Values passed to the %s chart.\n    {}\n", chartName, chartName)
	case o.Manifests != "":
		files, err := copyManifests(o.Manifests, filepath.Join(stage, ManifestsDir))
		if err != nil {
			return "", err
		}
		m.KubeManifests = files
		values += "\nmanifests:\n  # Parameters for the manifests.\n  {}\n"
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	readme := fmt.Sprintf("# %s\n\n%s pack (layer `%s`).\n\n## Parameters\n\nSee `values.yaml`.\n", displayName(o.Name), displayName(o.Name), o.Layer)
	for name, content := range map[string][]byte{ManifestFile: append(data, '\n'), ValuesFile: []byte(values), ReadmeFile: []byte(readme)} {
		if err := os.WriteFile(filepath.Join(stage, name), content, 0o644); err != nil {
			return "", err
		}
	}
	return values, nil
}

// scaffoldImages lists the images o.Images finds in the staged pack under
// pack.content.images of values.yaml.
func scaffoldImages(stage, values string, o ScaffoldOptions) error {
	if o.Images == nil {
		return nil
	}
	imgs, err := o.Images(stage)
	if err != nil || len(imgs) == 0 {
		return err
	}
	list := "  # Images the pack deploys, which the platform mirrors for air-gapped\n  # installs (`packgen images` lists them).\n  content:\n    images:\n"
	for _, im := range imgs {
		list += fmt.Sprintf("      - image: %s\n", im)
	}
	values = strings.Replace(values, "\n\n", "\n"+list+"\n", 1)
	if !strings.Contains(values, list) {
		values += list
	}
	return os.WriteFile(filepath.Join(stage, ValuesFile), []byte(values), 0o644)
}

func displayName(name string) string {
	parts := strings.Split(name, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

func copyChart(src, dstDir string) (string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", inputErr("chart", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return "", errmark.New(ErrScaffoldInput, "chart %s is a directory: give the chart archive (`helm package %s` makes one)", src, src)
	}
	name, version, _, err := inspectChart(f)
	if err != nil {
		return "", errmark.Wrap(ErrScaffoldContent, fmt.Errorf("chart %s: %w", src, err))
	}
	if _, err := semver.NewVersion(version); err != nil {
		return "", errmark.New(ErrScaffoldContent, "chart %s: version %q is not semver", src, version)
	}
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return name, copyFile(f, filepath.Join(dstDir, filepath.Base(src)))
}

func copyManifests(src, dstDir string) ([]string, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, inputErr("manifests", err)
	}
	var out []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.Type().IsRegular() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		if err := os.MkdirAll(dstDir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			return nil, err
		}
		err = copyFile(f, filepath.Join(dstDir, e.Name()))
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, path.Join(ManifestsDir, e.Name()))
	}
	if len(out) == 0 {
		return nil, errmark.New(ErrScaffoldContent, "manifests: no .yaml files in %s", src)
	}
	sort.Strings(out)
	return out, nil
}

// inputErr is a path the caller gave that cannot be read: missing or
// not the kind of file asked for is the caller's mistake (its own
// permissions and I/O failures stay plain).
func inputErr(what string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return errmark.Wrap(ErrScaffoldInput, fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func copyFile(r io.Reader, dst string) error {
	return atomicfile.CreateNew(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

var _ fs.FS = os.DirFS(".")
