// Package lookup resolves container image references to the digests
// their registries serve: one HEAD on the manifest per image through
// oras-go (internal/ocireg: docker and podman credentials as every OCI
// tool finds them, --plain-http only to loopback), a bounded number at a
// time. A registry that is down or refuses access is one error naming
// the registry and the images it held up, not one error per image.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/packgen/packgen/images/ref"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/parallel"
	"github.com/packgen/packgen/internal/phrase"
	"github.com/packgen/packgen/internal/textsafe"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Sentinels for errors.Is.
var (
	// ErrMissing: the registry answered, and has no such image.
	ErrMissing = errors.New("image does not exist")
	// ErrRegistry: a registry is down or refuses access; none of its
	// images could be checked.
	ErrRegistry = errors.New("registry cannot be checked")
	// ErrImage: the registry answered something else about one image
	// (its repository denied to this account, a server error).
	ErrImage = errors.New("image cannot be checked")
)

// Options say how to reach the registries.
type Options struct {
	// OCI is the access of every registry; OCI.PlainHTTP applies to
	// loopback registries only (images on other registries are checked
	// over https), Username and Password to every registry.
	OCI ocireg.Options
	// Jobs bounds the HEAD requests in flight (0: 8).
	Jobs int
}

// Result is the digest an image resolves to, or why it does not.
type Result struct {
	Image  string `json:"image"`            // normalised (ref.Normalize)
	Digest string `json:"digest,omitempty"` // sha256:…, the manifest's
	// Err matches ErrMissing, ErrImage or ErrRegistry (and ocireg's
	// sentinels); nil when Digest is set.
	Err error `json:"-"`
}

// RegistryError is a registry that is down or refuses access, with
// every image it held up.
type RegistryError struct {
	Host   string
	Images []string
	Err    error // ocireg's: ErrUnreachable, ErrUnauthorized, ErrForbidden…
}

func (e *RegistryError) Error() string {
	// e.Err names the host first (ocireg.Wrap).
	return fmt.Sprintf("%v (%s of %s not checked: %s)", e.Err, phrase.Count(len(e.Images), "image"), e.Host, strings.Join(e.Images, ", "))
}

func (e *RegistryError) Unwrap() []error { return []error{ErrRegistry, e.Err} }

// Report is what Resolve found, images in the order asked (duplicates
// dropped).
type Report struct {
	Results []Result
	// Registries lists the registries that are down or refuse access
	// (each of their images' Result.Err is the same *RegistryError).
	Registries []*RegistryError
}

// Digests maps every resolved image to its digest.
func (r *Report) Digests() map[string]string {
	out := map[string]string{}
	for _, res := range r.Results {
		if res.Err == nil {
			out[res.Image] = res.Digest
		}
	}
	return out
}

// Err joins the registry errors and every image's own error; nil when
// every image resolved.
func (r *Report) Err() error {
	var errs []error
	for _, re := range r.Registries {
		errs = append(errs, re)
	}
	for _, res := range r.Results {
		var re *RegistryError
		if res.Err != nil && !errors.As(res.Err, &re) {
			errs = append(errs, res.Err)
		}
	}
	return errors.Join(errs...)
}

// target is where one image is asked for.
type target struct {
	image string // normalised
	host  string // registry host as named: docker.io, ghcr.io, 127.0.0.1:5000
	repo  string
	ref   string // the digest when pinned, else the tag
}

func parse(image string) (target, error) {
	norm, err := ref.Normalize(image)
	if err != nil {
		return target{}, err
	}
	n, err := reference.ParseNormalizedNamed(norm)
	if err != nil {
		return target{}, fmt.Errorf("%w %q: %v", ref.ErrReference, image, err)
	}
	t := target{image: norm, host: reference.Domain(n), repo: reference.Path(n)}
	if d, ok := n.(reference.Digested); ok {
		t.ref = d.Digest().String()
	} else if tg, ok := n.(reference.Tagged); ok {
		t.ref = tg.Tag()
	}
	return t, nil
}

// Endpoint is the host a registry named in an image reference is
// reached at: Docker Hub's images name docker.io and are served by
// registry-1.docker.io (where docker's credentials are found too).
func Endpoint(host string) string {
	if host == "docker.io" || host == "index.docker.io" {
		return "registry-1.docker.io"
	}
	return host
}

// Resolve asks each image's registry for the digest of its manifest.
// Images that do not parse are errors in their Result (ErrReference).
// Only ctx ending returns an error.
func Resolve(ctx context.Context, images []string, o Options) (*Report, error) {
	if o.Jobs <= 0 {
		o.Jobs = 8
	}
	rep := &Report{}
	byHost := map[string][]int{}
	var hosts []string
	seen := map[string]bool{}
	for _, im := range images {
		t, err := parse(im)
		if err != nil {
			rep.Results = append(rep.Results, Result{Image: im, Err: err})
			continue
		}
		if seen[t.image] {
			continue
		}
		seen[t.image] = true
		rep.Results = append(rep.Results, Result{Image: t.image})
		if byHost[t.host] == nil {
			hosts = append(hosts, t.host)
		}
		byHost[t.host] = append(byHost[t.host], len(rep.Results)-1)
	}
	sort.Strings(hosts)
	sem := make(chan struct{}, o.Jobs)
	var mu sync.Mutex
	// Registries are checked side by side, each image at most Jobs at
	// once over all of them.
	err := parallel.Each(ctx, len(hosts), len(hosts), func(h int) error {
		host := hosts[h]
		idx := byHost[host]
		re := resolveHost(ctx, host, idx, rep.Results, o, sem)
		if re != nil {
			mu.Lock()
			rep.Registries = append(rep.Registries, re)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sort.Slice(rep.Registries, func(i, j int) bool { return rep.Registries[i].Host < rep.Registries[j].Host })
	return rep, nil
}

// resolveHost resolves one registry's images into results[idx]: the
// first alone (a registry that is down fails it, and then the others
// are not tried), then the rest in parallel.
func resolveHost(ctx context.Context, host string, idx []int, results []Result, o Options, sem chan struct{}) *RegistryError {
	opts := o.OCI
	opts.PlainHTTP = opts.PlainHTTP && ocireg.IsLoopback(host)
	endpoint := Endpoint(host)
	reg, err := ocireg.Registry(ctx, endpoint, opts)
	if err != nil {
		return failHost(host, idx, results, err)
	}
	one := func(i int) {
		sem <- struct{}{}
		defer func() { <-sem }()
		t, _ := parse(results[i].Image)
		results[i].Digest, results[i].Err = head(ctx, reg, t)
	}
	one(idx[0])
	if err := results[idx[0]].Err; registryWide(err) && !denied(err) {
		// Down, or not to be talked to (TLS, plain HTTP, credentials):
		// the other images would fail the same way.
		return failHost(host, idx, results, errors.Unwrap(err))
	}
	_ = parallel.Each(ctx, len(idx)-1, cap(sem), func(k int) error {
		one(idx[k+1])
		return nil
	})
	// A registry that refuses every image refuses us; one that answers
	// some denies only those repositories (Docker Hub answers 401 for a
	// repository that does not exist). One that went down meanwhile is
	// still one error for what it left unchecked.
	var down, refused []int
	var downErr, refusedErr error
	for _, i := range idx {
		err := results[i].Err
		switch {
		case !registryWide(err):
		case denied(err):
			refused, refusedErr = append(refused, i), errors.Unwrap(err)
		default:
			down, downErr = append(down, i), errors.Unwrap(err)
		}
	}
	if len(refused) == len(idx) {
		return failHost(host, idx, results, refusedErr)
	}
	for _, i := range refused {
		results[i].Err = imageErr(results[i].Image, errors.Unwrap(results[i].Err))
	}
	if len(down) > 0 {
		return failHost(host, down, results, downErr)
	}
	return nil
}

// denied says whether a registry-wide error is a refusal (401, 403),
// which may be about one repository, not about the registry.
func denied(err error) bool {
	return errors.Is(err, ocireg.ErrUnauthorized) || errors.Is(err, ocireg.ErrForbidden)
}

func imageErr(image string, err error) error {
	return fmt.Errorf("%s: %w: %w", image, ErrImage, err)
}

// failHost records that the registry at host could not be asked about
// the images results[idx], for err.
func failHost(host string, idx []int, results []Result, err error) *RegistryError {
	re := &RegistryError{Host: host, Err: err}
	for _, i := range idx {
		re.Images = append(re.Images, results[i].Image)
		results[i].Err = re
	}
	return re
}

// registryErr marks an error about the registry as a whole, as head
// returns it before Resolve groups it.
type registryErr struct{ err error }

func (e registryErr) Error() string { return e.err.Error() }
func (e registryErr) Unwrap() error { return e.err }

func registryWide(err error) bool {
	var re registryErr
	return errors.As(err, &re)
}

// head asks for the manifest of t (HEAD, every manifest media type
// accepted) and returns its digest.
func head(ctx context.Context, reg *remote.Registry, t target) (string, error) {
	r, err := reg.Repository(ctx, t.repo)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %v", t.image, ref.ErrReference, err)
	}
	d, err := r.Resolve(ctx, t.ref)
	if err == nil {
		if d.Digest.Algorithm() != "sha256" || d.Digest.Validate() != nil {
			return "", fmt.Errorf("%s: %w: the registry answered digest %q, not a sha256 digest", t.image, ErrImage, textsafe.Escape(d.Digest.String()))
		}
		return d.Digest.String(), nil
	}
	return "", classify(t, reg, err)
}

// classify says what an error about one image means: the image missing
// (404 from a registry that answered), the registry down or refusing
// access (one error for the registry), or something about this image.
func classify(t target, reg *remote.Registry, err error) error {
	var resp *errcode.ErrorResponse
	answer := ""
	if errors.As(err, &resp) {
		answer = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if len(resp.Errors) > 0 {
			answer += ": " + resp.Errors.Error()
		}
		answer = textsafe.Escape(answer)
	}
	switch {
	case errors.Is(err, errdef.ErrNotFound) || (resp != nil && resp.StatusCode == http.StatusNotFound):
		if answer == "" {
			// A HEAD's 404 has no body to say more (oras-go's GET
			// reports the same 404 without the registry's error codes).
			answer = "404 Not Found: no such repository, tag or digest"
		}
		return fmt.Errorf("%s: %w: registry %s answered %s", t.image, ErrMissing, t.host, answer)
	}
	w := ocireg.Wrap(t.host, reg.Client, err)
	switch {
	case errors.Is(w, ocireg.ErrUnreachable), errors.Is(w, ocireg.ErrUnauthorized), errors.Is(w, ocireg.ErrForbidden),
		errors.Is(w, ocireg.ErrPlainHTTP), errors.Is(w, ocireg.ErrCredentials), errors.Is(w, ocireg.ErrInsecureRedirect):
		return registryErr{w}
	}
	return imageErr(t.image, w)
}
