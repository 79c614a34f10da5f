package pack

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/packgen/packgen/pack/meta"
)

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngHeader is a PNG with a well-formed IHDR claiming w×h (8-bit, colour
// type ct) followed by idat as the only image data and IEND.
func pngHeader(w, h uint32, ct byte, idat []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, ct, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	b = append(b, pngChunk("IDAT", idat)...)
	return append(b, pngChunk("IEND", nil)...)
}

// hugeLogo is the 74-byte logo.png of issue 14 item 3: its header claims
// 100000×100000 RGBA pixels (40 GB decoded); its data is a few zeros.
func hugeLogo() []byte {
	// zlib stream of 6 zero bytes, stored: header, one stored block, adler32.
	idat := []byte{0x78, 0x01, 0x01, 0x06, 0x00, 0xf9, 0xff}
	idat = append(idat, make([]byte, 6)...)
	idat = binary.BigEndian.AppendUint32(idat, 0x00060001)
	return pngHeader(100000, 100000, 6, idat)
}

func jpegBytes(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLogoHugeHeaderIsCheap(t *testing.T) {
	logo := hugeLogo()
	if len(logo) != 74 {
		t.Fatalf("the reproduction is %d bytes, want the issue's 74", len(logo))
	}
	m := baseFS()
	m["logo.png"] = &fstest.MapFile{Data: logo}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, ps := Load(m, ".", Options{})
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("validating a 74-byte logo allocated %d MB", got>>20)
	}
	errs := ps.Errors()
	if len(errs) != 1 || errs[0].File != "logo.png" || !strings.Contains(errs[0].Msg, "100000x100000 pixels") {
		t.Fatalf("want one error on logo.png naming its 100000x100000 pixels, got:\n%s", ps.Error())
	}
}

func TestLogoProblem(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		sev  meta.Severity
		frag string // "" for no problem
	}{
		{"png", pngBytes(t, 64, 32), meta.SevError, ""},
		{"png at the limit", pngBytes(t, 4096, 1), meta.SevError, ""},
		{"jpeg", jpegBytes(t, 64, 64), meta.SevWarning, "logo.png is a JPEG image (64x64)"},
		{"jpeg too wide", jpegBytes(t, 5000, 8), meta.SevError, "logo.png is 5000x8 pixels"},
		{"fake jpeg", []byte("\xff\xd8\xff\xe0 JFIF not a png"), meta.SevError, "logo.png is not a PNG image"},
		{"huge header", hugeLogo(), meta.SevError, "100000x100000 pixels"},
		{"zero width", pngHeader(0, 10, 0, nil), meta.SevError, "not a PNG image"},
		{"too tall", pngHeader(1, 1<<20, 0, nil), meta.SevError, "1x1048576 pixels"},
		{"damaged data", pngHeader(16, 16, 0, []byte("not zlib")), meta.SevError, "damaged PNG"},
		{"text", []byte("hello"), meta.SevError, "not a PNG image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sev, msg := logoProblem(tc.data, DefaultLimits.MaxLogoPixel)
			switch {
			case tc.frag == "" && msg != "":
				t.Errorf("unexpected problem: %s", msg)
			case tc.frag != "" && (sev != tc.sev || !strings.Contains(msg, tc.frag)):
				t.Errorf("got %v %q, want %v ...%s...", sev, msg, tc.sev, tc.frag)
			}
		})
	}
}

// FuzzLogo checks logos from the fuzzer, seeded with plausible PNG
// headers: a problem or none, never a panic, and nothing accepted outside
// the limits.
func FuzzLogo(f *testing.F) {
	f.Add(pngBytes(f, 3, 2))
	f.Add(hugeLogo())
	f.Add(pngHeader(1, 1, 0, []byte{0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01}))
	f.Add(pngHeader(4096, 4096, 6, nil))
	f.Add(pngHeader(1<<31-1, 1, 2, nil))
	f.Add(pngHeader(2, 2, 3, nil)) // paletted without PLTE
	f.Add(jpegBytes(f, 8, 8))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A small limit keeps every accepted decode cheap.
		sev, msg := logoProblem(data, 256)
		if msg == "" {
			if cfg, err := pngDecodeConfig(data); err != nil || cfg.Width > 256 || cfg.Height > 256 {
				t.Fatalf("accepted a logo that is not a PNG within 256x256: %+v %v", cfg, err)
			}
		} else if sev != meta.SevError && sev != meta.SevWarning {
			t.Fatalf("bad severity %v", sev)
		}
	})
}

func pngDecodeConfig(data []byte) (image.Config, error) {
	return png.DecodeConfig(bytes.NewReader(data))
}
