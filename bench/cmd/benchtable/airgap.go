package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/packgen/packgen/bench/measure"
	"github.com/packgen/packgen/internal/gitfixture"
	"github.com/packgen/packgen/internal/ocitest"
)

// airgapRows measures `packgen airgap export` (issue 18): a bundle of
// -airgap-images images over loopback against the raw transfer of the
// same blobs (GETs of every blob and manifest, -jobs at once, to
// /dev/null), and the export's peak RSS with those images and with one
// image whose layer is -airgap-big bytes.
func (e *env) airgapRows() error {
	ctx := context.Background()
	reg, err := startRegistry(filepath.Join(e.work, "airgap-registry"))
	if err != nil {
		return err
	}
	defer reg.stop()
	start := time.Now()
	var seeded []*ocitest.Seeded
	for i := range e.airgapImages {
		im := ocitest.SeedImage{Repo: fmt.Sprintf("bench/img%02d", i), Tag: "1.0", Base: fmt.Sprintf("base%d", i%4), Size: int64(e.airgapSize)}
		if i%5 == 0 {
			im.Platforms = []string{"linux/amd64", "linux/arm64"}
		}
		s, err := pushImage(ctx, reg.host, im)
		if err != nil {
			return err
		}
		seeded = append(seeded, s)
	}
	logf("seeded %d images in %s", len(seeded), time.Since(start).Round(time.Millisecond))

	lock, xdg, err := e.airgapLock("airgap", reg.host, seeded, 5)
	if err != nil {
		return err
	}
	bundle := filepath.Join(e.work, "airgap.tar")
	var raws, files []time.Duration
	var rawBytes int64
	filesDir := filepath.Join(e.work, "airgap-raw")
	export, err := measure.Median(e.runs, func(int) error {
		os.Remove(bundle)
		if err := settle(); err != nil {
			return err
		}
		// Interleaved: the raw transfers right before each export.
		d, n, err := rawTransfer(reg.host, seeded, 4, "")
		raws, rawBytes = append(raws, d), n
		if err != nil {
			return err
		}
		os.RemoveAll(filesDir)
		if err := os.MkdirAll(filesDir, 0o755); err != nil {
			return err
		}
		if err := settle(); err != nil {
			return err
		}
		d, _, err = rawTransfer(reg.host, seeded, 4, filesDir)
		files = append(files, d)
		if err != nil {
			return err
		}
		if err := settle(); err != nil {
			return err
		}
		os.RemoveAll(filesDir)
		return settle()
	}, func(int) (measure.Run, error) {
		return measure.Exec(e.cmd(&xdg, "airgap", "export", lock, bundle, "--plain-http", "-o", "json"))
	})
	if err != nil {
		return err
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	raw, toFiles := median(raws), median(files)
	fi, err := os.Stat(bundle)
	if err != nil {
		return err
	}
	e.add(fmt.Sprintf("air gap: raw transfer of the %d images' blobs over loopback (%s, 4 at once, to /dev/null)", len(seeded), measure.Size(rawBytes)), raw.Seconds(), measure.Dur(raw), measure.Goal{})
	e.add(fmt.Sprintf("air gap: `packgen airgap export` of the same %d images and 5 packs (bundle %s)", len(seeded), measure.Size(fi.Size())), export.Wall.Seconds(), timed(export), measure.Goal{})
	e.add("air gap: raw transfer of the same blobs, each written to a file once", toFiles.Seconds(), measure.Dur(toFiles), measure.Goal{})
	ratio := raw.Seconds() / export.Wall.Seconds()
	e.add("air gap: raw transfer time / export time", ratio, fmt.Sprintf("%.2f", ratio), measure.Goal{Text: "≥ 0.8", OK: func(v float64) bool { return v >= 0.8 }})
	ratio = toFiles.Seconds() / export.Wall.Seconds()
	e.add("air gap: transfer-to-files time / export time", ratio, fmt.Sprintf("%.2f", ratio), measure.Goal{})
	e.add(fmt.Sprintf("air gap: export peak RSS, %d images of %s", len(seeded), measure.Size(int64(e.airgapSize))), float64(export.MaxRSS), measure.Size(export.MaxRSS), measure.AtMost(128<<20, "128 MiB"))
	os.Remove(bundle)

	// One large image: the RSS must not grow with it.
	big, err := pushImage(ctx, reg.host, ocitest.SeedImage{Repo: "bench/big", Tag: "1.0", Size: int64(e.airgapBig)})
	if err != nil {
		return err
	}
	lock, xdg, err = e.airgapLock("airgap-big", reg.host, []*ocitest.Seeded{big}, 1)
	if err != nil {
		return err
	}
	r, err := measure.Exec(e.cmd(&xdg, "airgap", "export", lock, bundle, "--plain-http", "-o", "json"))
	if err != nil {
		return err
	}
	e.add(fmt.Sprintf("air gap: export peak RSS, one image with a %s layer (%s)", measure.Size(int64(e.airgapBig)), timed(r)), float64(r.MaxRSS), measure.Size(r.MaxRSS), measure.AtMost(128<<20, "128 MiB"))
	os.Remove(bundle)
	return nil
}

func pushImage(ctx context.Context, host string, im ocitest.SeedImage) (*ocitest.Seeded, error) {
	repo, err := remote.NewRepository(host + "/" + im.Repo)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = true
	return ocitest.PushImage(ctx, repo, im)
}

// airgapLock builds a signed registry of packs that deploy the images
// (spread over the packs, each declared and in a DaemonSet), configures
// it in a config home of its own and resolves a profile of every pack:
// it returns the lock and the config home.
func (e *env) airgapLock(name, host string, images []*ocitest.Seeded, packs int) (lock, xdg string, err error) {
	dir := filepath.Join(e.work, name)
	repo, err := gitfixture.Init(filepath.Join(dir, "repo"))
	if err != nil {
		return "", "", err
	}
	var prof strings.Builder
	fmt.Fprintf(&prof, "name: %s\ncloudType: aws\nlayers:\n", name)
	for p := range packs {
		pn := fmt.Sprintf("app%d", p)
		var declared, containers strings.Builder
		for i, im := range images {
			if i%packs != p {
				continue
			}
			ref := host + "/" + im.Repo + ":" + im.Tag
			fmt.Fprintf(&declared, "      - image: %s\n", ref)
			fmt.Fprintf(&containers, "        - name: c%d\n          image: %s\n", i, ref)
		}
		files := map[string]string{
			"pack.json":         fmt.Sprintf(`{"name": %q, "version": "1.0.0", "layer": "addon", "addonType": "monitoring", "displayName": %q, "cloudTypes": ["all"]}`, pn, pn),
			"values.yaml":       "pack:\n  namespace: " + pn + "\n  content:\n    images:\n" + declared.String(),
			"manifests/ds.yaml": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: " + pn + "\nspec:\n  selector:\n    matchLabels: {app: " + pn + "}\n  template:\n    metadata:\n      labels: {app: " + pn + "}\n    spec:\n      containers:\n" + containers.String(),
		}
		for f, data := range files {
			if err := repo.Write("packs/"+pn+"/"+f, []byte(data)); err != nil {
				return "", "", err
			}
		}
		fmt.Fprintf(&prof, "  - pack: %s\n    version: \"1.0.0\"\n", pn)
	}
	if _, err := repo.Commit("packs"); err != nil {
		return "", "", err
	}
	site := filepath.Join(dir, "site")
	if _, err := e.build(repo.Dir, site, false); err != nil {
		return "", "", err
	}
	xdg = filepath.Join(dir, "home")
	if _, err := measure.Exec(e.cmd(&xdg, "registry", "add", "acme", site, "--key", e.pub)); err != nil {
		return "", "", err
	}
	pf := filepath.Join(dir, "profile.yaml")
	if err := os.WriteFile(pf, []byte(prof.String()), 0o644); err != nil {
		return "", "", err
	}
	if _, err := measure.Exec(e.cmd(&xdg, "profile", "resolve", pf, "--partial")); err != nil {
		return "", "", err
	}
	return filepath.Join(dir, "profile.lock"), xdg, nil
}

// rawTransfer GETs every distinct blob and manifest of the images from
// the registry, jobs at once, into io.Discard (dir "": the transfer
// alone) or each into a file of dir (written once, as any mirror must).
func rawTransfer(host string, images []*ocitest.Seeded, jobs int, dir string) (time.Duration, int64, error) {
	type blob struct {
		repo, digest string
		manifest     bool
	}
	seen := map[digest.Digest]bool{}
	var blobs []blob
	for _, s := range images {
		manifests := map[digest.Digest]bool{s.Digest: true}
		for _, m := range s.Manifests {
			manifests[m] = true
		}
		for _, b := range s.Blobs {
			if !seen[b] {
				seen[b] = true
				blobs = append(blobs, blob{s.Repo, b.String(), manifests[b]})
			}
		}
	}
	start := time.Now()
	var mu sync.Mutex
	var total int64
	var firstErr error
	work := make(chan blob)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				kind := "/blobs/"
				if b.manifest {
					kind = "/manifests/"
				}
				req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/"+b.repo+kind+b.digest, nil)
				req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json")
				resp, err := http.DefaultClient.Do(req)
				var n int64
				if err == nil {
					var w io.Writer = io.Discard
					var f *os.File
					if dir != "" {
						if f, err = os.Create(filepath.Join(dir, strings.ReplaceAll(b.digest, ":", "-"))); err == nil {
							w = f
						}
					}
					if err == nil {
						n, err = io.Copy(w, resp.Body)
					}
					if f != nil {
						if cerr := f.Close(); err == nil {
							err = cerr
						}
					}
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET %s@%s: %s", b.repo, b.digest, resp.Status)
					}
				}
				mu.Lock()
				total += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, b := range blobs {
		work <- b
	}
	close(work)
	wg.Wait()
	return time.Since(start), total, firstErr
}
