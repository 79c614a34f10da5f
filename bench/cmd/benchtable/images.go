package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/packgen/packgen/bench/measure"
	"github.com/packgen/packgen/internal/synth"
)

// imagesRows measures `packgen images` on the benchmark repository's
// HEAD (every pack, its manifests rendered and its chart rendered by
// Helm's engine) beside the real `helm template` (Helm v4's own CLI,
// built from its module) run one process per chart on the same charts,
// with the namespace the pack gives them (issue 18: ≤ 2×). Both read the
// same files from disk; wall and CPU (user + sys) are reported, since
// the machine may be shared.
func (e *env) imagesRows() error {
	c := e.config
	repo := filepath.Join(c.work, "main-repo")
	if _, err := os.Stat(repo); err != nil {
		r, err := e.registry("main", synth.Full(c.packs, c.versions, c.chart, 100, true))
		if err != nil {
			return err
		}
		repo = r.repo
	}
	head := filepath.Join(c.work, "images-head")
	if err := os.RemoveAll(head); err != nil {
		return err
	}
	if err := os.MkdirAll(head, 0o755); err != nil {
		return err
	}
	// The HEAD's packs, as a checkout would have them.
	archive := exec.Command("sh", "-c", `git -C "$1" archive HEAD packs | tar -x -C "$2"`, "sh", repo, head)
	if _, err := measure.Exec(archive); err != nil {
		return err
	}
	charts, err := filepath.Glob(filepath.Join(head, "packs", "*", "charts", "*.tgz"))
	if err != nil {
		return err
	}
	sort.Strings(charts)
	packs, _ := filepath.Glob(filepath.Join(head, "packs", "*", "pack.json"))
	logf("images: %d packs, %d charts at HEAD", len(packs), len(charts))

	pg, err := measure.Best(c.runs, func(int) error { return settle() }, func(int) (measure.Run, error) {
		cmd := e.cmd(nil, "images", filepath.Join(head, "packs"), "-o", "json")
		cmd.Stdout = io.Discard
		return measure.Exec(cmd)
	})
	if err != nil {
		return err
	}
	helm, err := measure.Best(c.runs, func(int) error { return settle() }, func(int) (measure.Run, error) {
		var cmds []*exec.Cmd
		for _, ch := range charts {
			pack := filepath.Base(filepath.Dir(filepath.Dir(ch))) // in-place: the directory is the pack's name, its namespace
			cmd := exec.Command(e.helm, "template", ch, "--namespace", pack)
			cmd.Stdout = io.Discard
			cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(c.work, "helm-home"), "HELM_CONFIG_HOME="+filepath.Join(c.work, "helm-home"), "HELM_DATA_HOME="+filepath.Join(c.work, "helm-home"))
			cmds = append(cmds, cmd)
		}
		return measure.Sequence(cmds)
	})
	if err != nil {
		return err
	}
	e.add(fmt.Sprintf("packgen images, HEAD: %d packs, %d charts rendered", len(packs), len(charts)), pg.Wall.Seconds(), timed(pg), measure.Goal{})
	e.add("packgen images: peak RSS", float64(pg.MaxRSS), measure.Size(pg.MaxRSS), measure.Goal{})
	e.add(fmt.Sprintf("Helm: helm template, one process per chart, %d charts", len(charts)), helm.Wall.Seconds(), timed(helm), measure.Goal{})
	e.add("ratio: packgen images / helm template per chart (wall)", pg.Wall.Seconds()/helm.Wall.Seconds(), fmt.Sprintf("%.3f×", pg.Wall.Seconds()/helm.Wall.Seconds()), measure.AtMost(2, "2×"))
	e.add("ratio: packgen images / helm template per chart (CPU)", pg.CPU.Seconds()/helm.CPU.Seconds(), fmt.Sprintf("%.3f×", pg.CPU.Seconds()/helm.CPU.Seconds()), measure.Goal{})
	return nil
}
