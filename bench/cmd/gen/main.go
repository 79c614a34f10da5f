// Command gen writes a synthetic pack repository (internal/synth) for
// profiling by hand, or adds one commit bumping a pack:
//
//	gen -packs 1000 -versions 5 -chart 20480 DIR
//	gen -bump 7 -version 9 DIR     # pack-0007 to 1.9.0, one new commit
//	gen -charts CHARTDIR DIR       # also write the charts for Helm
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/packgen/packgen/internal/synth"
)

func main() {
	packs := flag.Int("packs", 1000, "packs")
	versions := flag.Int("versions", 5, "versions per pack")
	chart := flag.Int("chart", 20<<10, "bytes of each chart archive")
	bump := flag.Int("bump", -1, "add a commit bumping this pack instead")
	version := flag.Int("version", 0, "with -bump: the new version's minor number")
	charts := flag.String("charts", "", "also write every release's chart archive to this directory, as a Helm chart repository")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [flags] DIR")
		os.Exit(2)
	}
	spec := synth.Full(*packs, *versions, *chart, 100, true)
	start := time.Now()
	if *bump >= 0 {
		h, err := synth.Bump(flag.Arg(0), spec, *bump, *version)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(h)
		return
	}
	res, err := synth.Generate(flag.Arg(0), spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *charts != "" {
		if _, err := synth.WriteCharts(*charts, spec, res); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Printf("%d releases, %d commits in %v\n", res.Releases, res.Commits, time.Since(start).Round(time.Millisecond))
}
