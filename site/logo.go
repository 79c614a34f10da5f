package site

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
)

// Logos are shown at most 72 CSS pixels wide; 144 device pixels covers
// two-times screens. Packs ship logos of thousands of pixels and megabytes,
// so the build scales them down; the archive keeps the original.
const (
	logoPx = 144
	// maxLogoPixels bounds the decoded image (4 bytes a pixel, twice: the
	// decoded and the converted copy) against decompression bombs: a 2 MiB
	// PNG can claim to be 50,000 pixels square.
	maxLogoPixels = 4096 * 4096
	// keepLogo: a logo this small in both senses is shipped as it is.
	keepLogo = 48 << 10
)

// scaleLogo returns the PNG to publish for a pack's logo.png, or "" and a
// notice when it cannot be shown. The output depends only on the input
// (integer arithmetic, Go's deterministic PNG encoder).
func scaleLogo(b []byte) ([]byte, string) {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, "logo.png is not a readable PNG image"
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxLogoPixels {
		return nil, fmt.Sprintf("logo.png is %d×%d pixels, more than the catalogue scales", cfg.Width, cfg.Height)
	}
	if cfg.Width <= logoPx && cfg.Height <= logoPx && len(b) <= keepLogo {
		return b, ""
	}
	src, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, "logo.png is not a readable PNG image"
	}
	w, h := fit(cfg.Width, cfg.Height, logoPx)
	rgba := image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	draw.Draw(rgba, rgba.Bounds(), src, src.Bounds().Min, draw.Src)
	out := downscale(rgba, w, h)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, "logo.png could not be re-encoded"
	}
	if buf.Len() >= len(b) && cfg.Width <= logoPx && cfg.Height <= logoPx {
		return b, "" // small already; re-encoding did not help
	}
	return buf.Bytes(), ""
}

// fit scales w×h to fit in a box of side px, keeping the aspect ratio
// (never up).
func fit(w, h, px int) (int, int) {
	if w <= px && h <= px {
		return w, h
	}
	if w >= h {
		return px, max(1, (h*px+w/2)/w)
	}
	return max(1, (w*px+h/2)/h), px
}

// span is one source pixel's share of a destination pixel along an axis.
type share struct{ i, w int }

// shares splits n source pixels over m destination pixels (m ≤ n): in
// units where a source pixel is m wide and a destination pixel n wide,
// each destination pixel takes the integer overlap of every source pixel
// it covers; the weights of one destination pixel sum to n.
func shares(n, m int) [][]share {
	out := make([][]share, m)
	for d := 0; d < m; d++ {
		lo, hi := d*n, (d+1)*n // in units of 1/m source pixel
		for s := lo / m; s*m < hi; s++ {
			a, b := max(lo, s*m), min(hi, (s+1)*m)
			if b > a {
				out[d] = append(out[d], share{s, b - a})
			}
		}
	}
	return out
}

// downscale averages src's premultiplied pixels over each destination
// pixel's area (a box filter: what a logo needs, without ringing).
func downscale(src *image.RGBA, w, h int) *image.RGBA {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	xs, ys := shares(sw, w), shares(sh, h)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	total := int64(sw) * int64(sh) // sum of weights of one destination pixel
	row := make([][4]int64, sw)    // one destination row's vertical sums
	for dy := 0; dy < h; dy++ {
		for x := range row {
			row[x] = [4]int64{}
		}
		for _, y := range ys[dy] {
			p := src.Pix[y.i*src.Stride:]
			for x := 0; x < sw; x++ {
				q := p[x*4 : x*4+4]
				wy := int64(y.w)
				row[x][0] += int64(q[0]) * wy
				row[x][1] += int64(q[1]) * wy
				row[x][2] += int64(q[2]) * wy
				row[x][3] += int64(q[3]) * wy
			}
		}
		for dx := 0; dx < w; dx++ {
			var acc [4]int64
			for _, x := range xs[dx] {
				wx := int64(x.w)
				for c := 0; c < 4; c++ {
					acc[c] += row[x.i][c] * wx
				}
			}
			o := dst.Pix[dy*dst.Stride+dx*4:]
			for c := 0; c < 4; c++ {
				o[c] = uint8((acc[c] + total/2) / total)
			}
		}
	}
	return dst
}
