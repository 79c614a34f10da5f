package ocitest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSeed: Seed pushes real images the registry accepts (single- and
// multi-arch, a base layer shared across images and platforms), the
// same description gives the same digests, and a signed one verifies
// with the real cosign CLI under the seeding key.
func TestSeed(t *testing.T) {
	key, pub := CosignKeyPair(t)
	imgs := []SeedImage{
		{Repo: "library/app", Tag: "1.0", Base: "distroless", Sign: true},
		{Repo: "team/multi", Tag: "v2", Platforms: []string{"linux/amd64", "linux/arm64"}, Base: "distroless"},
		{Repo: "team/bundled", Tag: "1", SignBundle: true},
	}
	for _, mode := range []Mode{Anonymous, Basic} {
		t.Run(mode.String(), func(t *testing.T) {
			r := Start(t, mode)
			s := r.Seed(t, imgs, key)
			if s[0].MediaType != "application/vnd.oci.image.manifest.v1+json" || s[1].MediaType != "application/vnd.oci.image.index.v1+json" {
				t.Fatalf("media types %s, %s", s[0].MediaType, s[1].MediaType)
			}
			if len(s[1].Manifests) != 2 || s[1].Manifests["linux/amd64"] == s[1].Manifests["linux/arm64"] {
				t.Errorf("multi-arch manifests %v", s[1].Manifests)
			}
			// The base layer is the second blob of each platform manifest
			// (config, manifest, base, own): shared by all three.
			if s[0].Blobs[2] != s[1].Blobs[2] || s[1].Blobs[2] != s[1].Blobs[6] {
				t.Errorf("base layer not shared: %v / %v", s[0].Blobs, s[1].Blobs)
			}
			if s[0].Signature == "" || s[1].Signature != "" || s[0].SignatureTag != "sha256-"+s[0].Digest.Encoded()+".sig" || s[2].SignatureTag != "sha256-"+s[2].Digest.Encoded() {
				t.Errorf("signatures %q %q %q", s[0].SignatureTag, s[1].Signature, s[2].SignatureTag)
			}
			again := r.Seed(t, imgs[1:2], "")
			if again[0].Digest != s[1].Digest {
				t.Errorf("seeding again gave %s, then %s", s[1].Digest, again[0].Digest)
			}
			repo, err := r.repo("library/app")
			if err != nil {
				t.Fatal(err)
			}
			if d, err := repo.Resolve(context.Background(), "1.0"); err != nil || d.Digest != s[0].Digest {
				t.Fatalf("resolve: %v %v", d.Digest, err)
			}
			if mode != Anonymous {
				return
			}
			for _, i := range []int{0, 2} {
				cmd := exec.Command(Tool(t, "cosign"), "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", s[i].Ref)
				cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SIGSTORE_NO_CACHE=true")
				out, err := cmd.CombinedOutput()
				if err != nil || !strings.Contains(string(out), s[i].Digest.String()) {
					t.Errorf("cosign verify %s: %v\n%s", s[i].Ref, err, out)
				}
			}
		})
	}
}

// TestPushImage: the test helpers seed through the same path as Seed,
// with the one repository client, anonymous and Token (the realm on
// loopback, on the registry's port or one of its own): the same seed gives the same
// digest in any repository, another seed moves the tag, and PushIndex
// makes an index of one manifest per platform.
func TestPushImage(t *testing.T) {
	for name, c := range map[string]Config{
		"anonymous":       {Mode: Anonymous},
		"token":           {Mode: Token},
		"token-elsewhere": {Mode: Token, IssuerElsewhere: true},
	} {
		t.Run(name, func(t *testing.T) {
			r := StartWith(t, c)
			a := r.PushImage(t, "acme/a:1", "same")
			b := r.PushImage(t, "acme/b:1", "same")
			if a != b {
				t.Errorf("one seed, two digests: %s, %s", a, b)
			}
			moved := r.PushImage(t, "acme/a:1", "other")
			multi := r.PushIndex(t, "acme/multi:3", "multi", "linux/amd64", "linux/arm64")
			for _, c := range []struct{ repo, tag, want, mediaType string }{
				{"acme/a", "1", moved, "application/vnd.oci.image.manifest.v1+json"},
				{"acme/b", "1", b, "application/vnd.oci.image.manifest.v1+json"},
				{"acme/multi", "3", multi, "application/vnd.oci.image.index.v1+json"},
			} {
				repo, err := r.repo(c.repo)
				if err != nil {
					t.Fatal(err)
				}
				d, err := repo.Resolve(context.Background(), c.tag)
				if err != nil || d.Digest.String() != c.want || d.MediaType != c.mediaType {
					t.Errorf("%s:%s: %s %s %v, want %s %s", c.repo, c.tag, d.Digest, d.MediaType, err, c.want, c.mediaType)
				}
			}
			if moved == a {
				t.Errorf("another seed did not move the tag")
			}
		})
	}
}
