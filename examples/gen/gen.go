// Package gen makes the binary files of the example packs (a Helm chart
// archive and a logo) from source, deterministically: the committed bytes
// can always be regenerated and are checked by a test.
package gen

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/packgen/packgen/internal/testutil/tartest"
)

// Chart returns a .tgz of the chart directory src, like `helm package`
// but byte-for-byte reproducible: sorted entries, fixed times and owners,
// and a gzip header without name or time.
func Chart(src string) ([]byte, error) {
	name := filepath.Base(src)
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(src, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Header = gzip.Header{OS: 255}
	mtime := time.Unix(0, 0).UTC()
	entries := make([]tartest.Entry, len(files))
	for i, f := range files {
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		e := tartest.File(path.Join(name, f), data)
		e.Header.ModTime, e.Header.Format = mtime, tar.FormatUSTAR
		entries[i] = e
	}
	if err := tartest.Write(zw, entries...); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Logo draws a 64x64 MetalLB-like logo: a rounded badge with three bars.
func Logo() ([]byte, error) {
	const n = 64
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	bg := color.NRGBA{0x1f, 0x6f, 0xb5, 0xff}
	fg := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)-31.5, float64(y)-31.5
			if dx*dx+dy*dy <= 31*31 {
				img.SetNRGBA(x, y, bg)
			}
		}
	}
	for i, h := range []int{16, 26, 36} {
		x0 := 16 + i*12
		for y := 48 - h; y < 48; y++ {
			for x := x0; x < x0+8; x++ {
				img.SetNRGBA(x, y, fg)
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Outputs lists every generated file (relative to examples/) and how to make it.
func Outputs(examples string) map[string]func() ([]byte, error) {
	return map[string]func() ([]byte, error){
		"packs/ingress-nginx-4.10.1/charts/ingress-nginx-4.10.1.tgz": func() ([]byte, error) {
			return Chart(filepath.Join(examples, "charts", "ingress-nginx"))
		},
		"packs/lb-metallb-0.14.5/logo.png": Logo,
	}
}
