package airgap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"

	"github.com/packgen/packgen/airgap/list"
	"github.com/packgen/packgen/internal/ocimap"
	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/sign"
)

// TestAttackSignatureShape: a bundle's cosign signature tag (an image's
// sha256-HEX.sig, or a pack's) whose descriptor is not the image
// manifest cosign writes, though its JSON holds the right layers: an
// index that also lists other manifests (import would push those as
// the signature's, unchecked), or a config blob. Refused, naming the
// media type; so is a payload layer announcing a huge size (before any
// read: never OOM). The well-formed one passes, so the check is what
// refuses the others.
func TestAttackSignatureShape(t *testing.T) {
	ctx := context.Background()
	store, push := memStore(t)
	image := push(ocispec.MediaTypeImageManifest, emptyImage(""))
	other := push(ocispec.MediaTypeImageManifest, emptyImage("unchecked"))
	pl, err := json.Marshal(payload.SimpleContainerImage{Critical: payload.Critical{Type: payload.CosignSignatureType, Image: payload.Image{DockerManifestDigest: image.Digest.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	layer := push(ocimap.CosignPayloadMediaType, pl)
	manifest := func(mt string, extra map[string]any, layers ...ocispec.Descriptor) ocispec.Descriptor {
		t.Helper()
		m := map[string]any{"schemaVersion": 2, "mediaType": mt, "config": ocispec.DescriptorEmptyJSON, "layers": layers}
		for k, v := range extra {
			m[k] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return push(mt, b)
	}
	huge := layer
	huge.Size = 1 << 40
	b := blobs{store, "test.tar"}
	im := list.Image{Image: "example.com/a:1", Manifest: image}
	for _, c := range []struct {
		name string
		sig  ocispec.Descriptor
		want string // "" passes
	}{
		{"cosign's image manifest", manifest(ocispec.MediaTypeImageManifest, nil, layer), ""},
		{"docker's schema 2 manifest", manifest("application/vnd.docker.distribution.manifest.v2+json", nil, layer), ""},
		{"an index listing another manifest, with the layers too", manifest(ocispec.MediaTypeImageIndex, map[string]any{"manifests": []ocispec.Descriptor{other}}, layer), "not an image manifest"},
		{"a config blob", manifest(ocispec.MediaTypeImageConfig, nil, layer), "not an image manifest"},
		{"an image manifest saying it is an index", manifest(ocispec.MediaTypeImageManifest, map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "manifests": []ocispec.Descriptor{other}}, layer), "not an image manifest"},
		{"a payload of 1 TiB", manifest(ocispec.MediaTypeImageManifest, nil, huge), "of 1099511627776 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, check := range []struct {
				what string
				err  error
			}{
				{"image", second(b.checkImageSignature(ctx, im, list.Signature{Tag: list.CosignTag(image.Digest), Manifest: c.sig}, nil))},
				{"pack", b.checkPackSignature(ctx, c.sig, image.Digest, nil)},
			} {
				if c.want == "" && check.err != nil || c.want != "" && (check.err == nil || !strings.Contains(check.err.Error(), c.want)) {
					t.Errorf("%s signature: %v, want %q", check.what, check.err, c.want)
				}
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

// memStore is a blob store that fetches by digest alone, as the
// bundle's and the stage do (the memory store wants the whole
// descriptor), and a push that stores bytes under a media type,
// returning their descriptor.
func memStore(t *testing.T) (content.Storage, func(mt string, data []byte) ocispec.Descriptor) {
	store, err := oci.NewStorage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return store, func(mt string, data []byte) ocispec.Descriptor {
		t.Helper()
		d := content.NewDescriptorFromBytes(mt, data)
		if err := store.Push(context.Background(), d, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			t.Fatal(err)
		}
		return d
	}
}

// emptyImage is an image manifest with no layers, made distinct by an
// annotation ("" for none).
func emptyImage(who string) []byte {
	m := map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest, "config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{}}
	if who != "" {
		m["annotations"] = map[string]string{"who": who}
	}
	data, _ := json.Marshal(m)
	return data
}

// TestImageSignatureCounts: under --image-key an image is signed only by
// a signature that verified under a key for its own manifest, or for an
// index the bundle holds that lists it; signature tags are not counted.
// attackV F2: a referrers index of an SBOM alone (anyone who may push to
// the repository can `oras attach` one) passed as a signature. attackV
// F3: the list's upstream digest (unsigned, a bundle writer's word) lent
// a swapped image the genuine signature of the image it replaced.
// Without keys the same bundles pass, as before (binding only).
func TestImageSignatureCounts(t *testing.T) {
	ctx := context.Background()
	store, push := memStore(t)
	image := push(ocispec.MediaTypeImageManifest, emptyImage("vendor"))
	evil := push(ocispec.MediaTypeImageManifest, emptyImage("attacker"))
	arm := push(ocispec.MediaTypeImageManifest, emptyImage("arm64"))
	index := func(ds ...ocispec.Descriptor) ocispec.Descriptor {
		data, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: ds})
		return push(ocispec.MediaTypeImageIndex, data)
	}
	multi := index(image, arm) // the index the bundle holds, listing image
	armOnly := index(arm)      // one that does not list it
	absent := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"manifests":[]}`))

	key := testutil.NewKey(t)
	signer := key.Signer
	keys, err := sign.LoadPublicKey(key.Pub)
	if err != nil {
		t.Fatal(err)
	}
	// cosignSigWith is dg's legacy signature under the key, as tagged,
	// its manifest with a subject if one is given (cosign writes none).
	cosignSigWith := func(dg digest.Digest, subject *ocispec.Descriptor) list.Signature {
		payload, sigB64, err := signer.SignManifest("example.com/app", dg.String())
		if err != nil {
			t.Fatal(err)
		}
		p, err := ocimap.CosignManifest(payload, sigB64, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		push(ocimap.CosignPayloadMediaType, payload)
		m := p.Manifest
		if subject != nil {
			var fields map[string]any
			if err := json.Unmarshal(m, &fields); err != nil {
				t.Fatal(err)
			}
			fields["subject"] = subject
			m, _ = json.Marshal(fields)
		}
		return list.Signature{Tag: list.CosignTag(dg), Manifest: push(ocispec.MediaTypeImageManifest, m)}
	}
	cosignSig := func(dg digest.Digest) list.Signature { return cosignSigWith(dg, nil) }
	// sbom is a referrers index of dg holding one SBOM, as oras attach
	// --distribution-spec v1.1-referrers-tag writes it.
	sbom := func(dg ocispec.Descriptor) list.Signature {
		layer := push("application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
		m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest, "artifactType": "application/spdx+json",
			"config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{layer}, "subject": dg})
		d := push(ocispec.MediaTypeImageManifest, m)
		d.ArtifactType = "application/spdx+json"
		return list.Signature{Tag: list.ReferrersTag(dg.Digest), Manifest: index(d)}
	}

	b := blobs{store, "test.tar"}
	for _, c := range []struct {
		name     string
		manifest ocispec.Descriptor
		upstream digest.Digest
		sigs     []list.Signature
		want     string // under the key: "" signed, else ErrUnsignedImage naming what it carried
	}{
		{"own signature", image, image.Digest, []list.Signature{cosignSig(image.Digest)}, ""},
		{"own signature and an SBOM", image, image.Digest, []list.Signature{cosignSig(image.Digest), sbom(image)}, ""},
		{"an SBOM only (F2)", image, image.Digest, []list.Signature{sbom(image)}, "it carries 1 referrer, no cosign signature: --image-key requires"},
		{"nothing", image, image.Digest, []list.Signature{}, "--image-key requires"},
		{"narrowed: the index's signature, the index in the bundle", image, multi.Digest, []list.Signature{cosignSig(multi.Digest)}, ""},
		{"narrowed: an index that does not list it", image, armOnly.Digest, []list.Signature{cosignSig(armOnly.Digest)}, "it carries 1 signature of " + armOnly.Digest.String() + ", which the bundle does not show to be an index listing its manifest (a narrowed bundle of an older packgen lacks it: export again), no cosign signature"},
		{"narrowed: an index the bundle does not hold", image, absent.Digest, []list.Signature{cosignSig(absent.Digest)}, "it carries 1 signature of " + absent.Digest.String()},
		{"upstream lends another image's signature (F3)", evil, image.Digest, []list.Signature{cosignSig(image.Digest)}, "it carries 1 signature of " + image.Digest.String()},
		{"upstream lends one, an SBOM of its own", evil, image.Digest, []list.Signature{cosignSig(image.Digest), sbom(evil)}, "it carries 1 referrer, 1 signature of " + image.Digest.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			images := []list.Image{{Image: "example.com/app:1", Manifest: c.manifest, Upstream: c.upstream, Signatures: c.sigs}}
			for _, k := range []*sign.Verifier{nil, keys} {
				tallies, err := b.checkImageSignatures(ctx, images, k)
				if err != nil {
					t.Fatalf("keys %v: every signature is bound (and verifies): %v", k != nil, err)
				}
				var warned []string
				warn := func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }
				err = checkSigned(images, tallies, k, false, warn)
				switch {
				case k == nil && err != nil:
					t.Errorf("without keys: %v", err)
				case k != nil && c.want == "" && err != nil:
					t.Errorf("signed: %v", err)
				case k != nil && c.want != "" && (!errors.Is(err, ErrUnsignedImage) || !strings.Contains(err.Error(), "image example.com/app:1: "+c.want)):
					t.Errorf("%v, want ErrUnsignedImage naming %q", err, c.want)
				}
				if err := checkSigned(images, tallies, k, true, warn); err != nil || (k != nil && c.want != "") != (len(warned) == 1) {
					t.Errorf("keys %v, allowed: %v, warnings %q", k != nil, err, warned)
				}
			}
		})
	}
	// A signature under another key is its error, named once: the
	// image is not reported unsigned besides.
	other, err := sign.LoadPublicKey(testutil.NewKey(t).Pub)
	if err != nil {
		t.Fatal(err)
	}
	images := []list.Image{{Image: "example.com/app:1", Manifest: image, Upstream: image.Digest, Signatures: []list.Signature{cosignSig(image.Digest)}}}
	tallies, err := b.checkImageSignatures(ctx, images, other)
	if !errors.Is(err, ErrImageSignature) || !errors.Is(err, sign.ErrBadSignature) {
		t.Errorf("another key: %v, want ErrImageSignature", err)
	}
	if err := checkSigned(images, tallies, other, false, t.Logf); err != nil {
		t.Errorf("another key: reported unsigned too: %v", err)
	}
	// attackX F5: a referrer is an image manifest of blobs. One of
	// another shape, with the right subject, beside a good signature,
	// was carried as "no signature", and import pushed its graph into
	// the image's repository: an index listing an unsigned image, a
	// layer or config named as a manifest. Refused with or without
	// keys, naming the image, the tag and the referrer; the well-formed
	// SBOM above passes, so the shape is what refuses these.
	referrer := func(descMT string, m map[string]any) ocispec.Descriptor {
		m["schemaVersion"] = 2
		if _, ok := m["subject"]; !ok {
			m["subject"] = image
		}
		data, _ := json.Marshal(m)
		return push(descMT, data)
	}
	asManifest := unsigned(evil, ocispec.MediaTypeImageManifest)
	asIndex := unsigned(evil, ocispec.MediaTypeImageIndex)
	bundleLayer := push(sign.BundleMediaType, []byte(`{}`))
	for _, c := range []struct {
		name string
		ref  ocispec.Descriptor // a referrer of image
		want string
	}{
		{"an index listing an unsigned image", referrer(ocispec.MediaTypeImageIndex, map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "artifactType": "application/spdx+json", "manifests": []ocispec.Descriptor{evil}}),
			`the referrers index names a "` + ocispec.MediaTypeImageIndex + `", not an image manifest`},
		{"an image manifest saying it is an index", referrer(ocispec.MediaTypeImageManifest, map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "artifactType": "application/spdx+json", "config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{}, "manifests": []ocispec.Descriptor{evil}}),
			`the referrer says it is a "` + ocispec.MediaTypeImageIndex + `"`},
		{"a layer named as an image manifest", referrer(ocispec.MediaTypeImageManifest, map[string]any{"mediaType": ocispec.MediaTypeImageManifest, "artifactType": "application/spdx+json", "config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{asManifest}}),
			"the referrer: its layer 0 " + evil.Digest.String() + ` is a "` + ocispec.MediaTypeImageManifest + `": expected a blob`},
		{"a config named as an index", referrer(dockerManifest, map[string]any{"mediaType": dockerManifest, "config": asIndex, "layers": []ocispec.Descriptor{}}),
			"the referrer: its config " + evil.Digest.String() + ` is a "` + ocispec.MediaTypeImageIndex + `"`},
		{"an artifact manifest", referrer(artifactManifest, map[string]any{"mediaType": artifactManifest, "artifactType": "application/spdx+json", "blobs": []ocispec.Descriptor{asManifest}}),
			`names a "` + artifactManifest + `"`},
		{"a Sigstore bundle named as an index", referrer(ocispec.MediaTypeImageIndex, map[string]any{"mediaType": ocispec.MediaTypeImageIndex, "artifactType": sign.BundleMediaType, "config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{bundleLayer}, "manifests": []ocispec.Descriptor{evil}}),
			`names a "` + ocispec.MediaTypeImageIndex + `"`},
		// Its subject is in the graph import pushes too: another image's
		// would carry that image into this one's repository.
		{"an SBOM of another image", referrer(ocispec.MediaTypeImageManifest, map[string]any{"mediaType": ocispec.MediaTypeImageManifest, "artifactType": "application/spdx+json", "config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{}, "subject": evil}),
			"the referrer: its subject is " + evil.Digest.String() + ", not " + image.Digest.String()},
		{"an SBOM with no subject", referrer(ocispec.MediaTypeImageManifest, map[string]any{"mediaType": ocispec.MediaTypeImageManifest, "artifactType": "application/spdx+json", "config": ocispec.DescriptorEmptyJSON, "layers": []ocispec.Descriptor{}, "subject": nil}),
			"the referrer has no subject: expected " + image.Digest.String()},
	} {
		refs := index(c.ref)
		images := []list.Image{{Image: "example.com/app:1", Manifest: image, Upstream: image.Digest, Signatures: []list.Signature{cosignSig(image.Digest), {Tag: list.ReferrersTag(image.Digest), Manifest: refs}}}}
		for _, k := range []*sign.Verifier{nil, keys} {
			_, err := b.checkImageSignatures(ctx, images, k)
			if !errors.Is(err, ErrImageSignature) || !strings.Contains(fmt.Sprint(err), "image example.com/app:1: signature "+list.ReferrersTag(image.Digest)+": referrer "+c.ref.Digest.String()+": ") ||
				!strings.Contains(fmt.Sprint(err), c.want) || !strings.Contains(fmt.Sprint(err), "delete this one from the image's repository") {
				t.Errorf("%s, keys %v: %v, want ErrImageSignature naming the referrer and %q", c.name, k != nil, err, c.want)
			}
		}
	}
	// A cosign .sig manifest has no subject either (cosign writes none):
	// import would push the manifest it names, read by no check, into
	// the image's repository. Refused with or without keys, even its
	// own image, though its layer signs the image.
	for _, c := range []struct {
		name    string
		subject ocispec.Descriptor
	}{
		{"another image", evil},
		{"an index listing another image", index(evil)},
		{"its own image", image},
	} {
		sig := cosignSigWith(image.Digest, &c.subject)
		images := []list.Image{{Image: "example.com/app:1", Manifest: image, Upstream: image.Digest, Signatures: []list.Signature{sig}}}
		want := "image example.com/app:1: signature " + sig.Tag + ": the signature manifest has a subject " + c.subject.Digest.String() + ": expected none"
		for _, k := range []*sign.Verifier{nil, keys} {
			if _, err := b.checkImageSignatures(ctx, images, k); !errors.Is(err, ErrImageSignature) || !strings.Contains(fmt.Sprint(err), want) {
				t.Errorf(".sig with a subject, %s, keys %v: %v, want ErrImageSignature naming %q", c.name, k != nil, err, want)
			}
		}
	}
	// The referrers index itself has no subject: import would push it.
	data, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex, "subject": evil, "manifests": []ocispec.Descriptor{sbom(image).Manifest}})
	withSubject := []list.Image{{Image: "example.com/app:1", Manifest: image, Upstream: image.Digest, Signatures: []list.Signature{cosignSig(image.Digest), {Tag: list.ReferrersTag(image.Digest), Manifest: push(ocispec.MediaTypeImageIndex, data)}}}}
	if _, err := b.checkImageSignatures(ctx, withSubject, keys); !errors.Is(err, ErrImageSignature) || !strings.Contains(fmt.Sprint(err), "has a subject "+evil.Digest.String()) {
		t.Errorf("a referrers index with a subject: %v, want ErrImageSignature naming it", err)
	}
	// An index the bundle holds but cannot read is the bundle's error,
	// not an unsigned image (nor "export again").
	broken := blobs{failingFetch{store, multi.Digest}, "test.tar"}
	images = []list.Image{{Image: "example.com/app:1", Manifest: image, Upstream: multi.Digest, Signatures: []list.Signature{cosignSig(multi.Digest)}}}
	if _, err := broken.checkImageSignatures(ctx, images, keys); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "the index "+multi.Digest.String()) {
		t.Errorf("an unreadable index: %v, want ErrBundle naming it", err)
	}
}

// unsigned is d named with media type mt.
func unsigned(d ocispec.Descriptor, mt string) ocispec.Descriptor {
	d.MediaType = mt
	return d
}

// failingFetch fails to read one blob, as a damaged bundle would.
type failingFetch struct {
	content.Fetcher
	dg digest.Digest
}

func (f failingFetch) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	if d.Digest == f.dg {
		return nil, errors.New("read error")
	}
	return f.Fetcher.Fetch(ctx, d)
}
