package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/packgen/packgen/internal/errmark"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/transport"
)

// Destinations are providers chosen by the location's scheme (as Helm's
// pkg/pusher): each registers itself from its own file, so a new kind of
// destination is a new file, not an edit of this one.

// DestOptions are every destination's option group; each provider reads
// its own.
type DestOptions struct {
	S3  S3Options
	OCI OCIOptions
}

// SitePublisher is a destination that is not a tree of files (an OCI
// registry, whose model is repositories, manifests and tags): it reads
// the site itself (src: a directory or a registry location) and keeps
// publish's rules in its own terms: everything verified before it is
// pushed, content before what references it, the root last, rollback
// and immutability refusals.
type SitePublisher interface {
	PublishSite(ctx context.Context, src string, o Options) (*Result, error)
	String() string
}

// PublisherOpener opens the publisher of a parsed destination.
type PublisherOpener func(ctx context.Context, loc location.Location, o DestOptions) (SitePublisher, error)

// Opener opens the target for a parsed destination.
type Opener func(ctx context.Context, loc location.Location, o DestOptions) (Target, error)

type destination struct {
	open      Opener
	publisher PublisherOpener // instead of open, for a SitePublisher
	usage     string          // the form of a location, for messages
	options   []string        // the options (flag names) only it uses: see CheckOptions
}

var (
	destMu       sync.RWMutex
	destinations = map[string]destination{}
)

// RegisterDestination makes scheme (lower case) publish through open;
// usage is the form of such a location, for messages
// ("s3://BUCKET/PREFIX"); options are the command-line options (flag
// names without dashes) its DestOptions field is filled from, which
// other destinations refuse (CheckOptions).
func RegisterDestination(scheme, usage string, open Opener, options ...string) {
	destMu.Lock()
	defer destMu.Unlock()
	destinations[scheme] = destination{open: open, usage: usage, options: options}
}

// RegisterPublisher makes scheme publish through a SitePublisher.
func RegisterPublisher(scheme, usage string, open PublisherOpener, options ...string) {
	destMu.Lock()
	defer destMu.Unlock()
	destinations[scheme] = destination{publisher: open, usage: usage, options: options}
}

// ErrOption: an option was given that the destination's kind does not
// use (--endpoint for a directory, --key for s3://): ignoring it would
// hide a mistake (a --key given to a directory publish signs nothing).
var ErrOption = errors.New("option not used by this destination")

// CheckOptions refuses the options given (flag names without dashes)
// that some registered destination uses and dest's does not, naming each
// with the kinds of destination it is for. Options no destination
// registered (--dry-run, --prune…) apply to every one.
func CheckOptions(dest string, given []string) error {
	d, loc, err := lookup(dest)
	if err != nil {
		return err
	}
	destMu.RLock()
	usedBy := map[string][]string{}
	for _, o := range destinations {
		for _, name := range o.options {
			usedBy[name] = append(usedBy[name], o.usage)
		}
	}
	destMu.RUnlock()
	var bad []string
	for _, name := range given {
		forms := usedBy[name]
		if len(forms) == 0 || slices.Contains(d.options, name) {
			continue
		}
		sort.Strings(forms)
		bad = append(bad, fmt.Sprintf("--%s is for %s", name, strings.Join(forms, ", ")))
	}
	if len(bad) == 0 {
		return nil
	}
	what := d.usage
	if loc.Scheme == "file" {
		what = "a directory"
	}
	them := "it"
	if len(bad) > 1 {
		them = "them"
	}
	return fmt.Errorf("%w: publishing to %s (%s) takes no such option: %s; leave %s out, or check the destination", ErrOption, dest, what, strings.Join(bad, "; "), them)
}

func init() {
	RegisterDestination("file", "file:///PATH", func(_ context.Context, loc location.Location, _ DestOptions) (Target, error) {
		// A first publish creates its directory, but not a whole path
		// from nothing: my-packs/registry is far likelier a bucket typed
		// without s3:// (which would then publish into ./my-packs and
		// say all went well) than a tree meant to be made.
		if _, err := os.Stat(loc.Dir); errors.Is(err, fs.ErrNotExist) {
			parent := filepath.Dir(filepath.Clean(loc.Dir))
			if _, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) {
				u := filepath.ToSlash(loc.Dir)
				return nil, fmt.Errorf("%w: %s: no such directory, nor its parent %s: a bucket or registry is a URL (s3://%s, oci://%s); to publish into a new directory, create %s first", ErrDestination, loc.Dir, parent, u, u, parent)
			}
		}
		return DirTarget{Dir: loc.Dir}, nil
	})
}

// Open returns the target for a destination: a directory path,
// file:///PATH, or a URL of a registered scheme (s3://BUCKET/PREFIX).
func Open(ctx context.Context, dest string, o DestOptions) (Target, error) {
	d, loc, err := lookup(dest)
	if err != nil {
		return nil, err
	}
	if d.open == nil {
		return nil, fmt.Errorf("%w: %s is not a tree of files", ErrDestination, dest)
	}
	return d.open(ctx, loc, o)
}

func lookup(dest string) (destination, location.Location, error) {
	if dest == "" {
		return destination{}, location.Location{}, fmt.Errorf("%w: no destination given", ErrDestination)
	}
	loc, err := location.Parse(dest)
	if err != nil {
		return destination{}, loc, fmt.Errorf("%w: %v", ErrDestination, err)
	}
	destMu.RLock()
	d, ok := destinations[loc.Scheme]
	var forms []string
	for scheme, d := range destinations {
		if scheme != "file" {
			forms = append(forms, d.usage)
		}
	}
	fileForm := destinations["file"].usage
	destMu.RUnlock()
	if !ok {
		sort.Strings(forms)
		forms = append(forms, fileForm)
		return d, loc, fmt.Errorf("%w: cannot publish to %q: give %s or a directory (for GitHub Pages, publish into the pages directory)", ErrDestination, dest, strings.Join(forms, ", "))
	}
	return d, loc, nil
}

// ErrSource: the site to publish is a registry URL (oci://, https://…)
// and the destination is a tree of files, which publishes a site
// directory only. It also matches ErrDestination (exit 2).
var ErrSource = errors.New("the site is a registry URL")

// CheckSource refuses, before any option is checked or anything read, a
// site named by a URL when dest is a tree of files (a directory, s3://):
// only a SitePublisher (oci://) reads a registry as its source
// (promotion). Taken as a directory, oci://HOST/BASE was reported as a
// site with no index.json, with advice to build into it.
func CheckSource(site, dest string) error {
	src, err := location.Parse(site)
	if err == nil && src.Scheme == "file" {
		return nil
	}
	d, _, derr := lookup(dest)
	if derr != nil {
		return derr
	}
	if d.publisher != nil {
		return nil
	}
	kind := "a registry URL"
	if err == nil {
		kind += " (" + src.Scheme + "://)"
	}
	destMu.RLock()
	var promote []string
	for _, o := range destinations {
		if o.publisher != nil {
			promote = append(promote, o.usage)
		}
	}
	destMu.RUnlock()
	sort.Strings(promote)
	return errmark.Wrap(ErrDestination, errmark.New(ErrSource, "SITE %s is %s, and %s is a tree of files, which publish fills from a site directory only: a registry URL is published (promoted, verified, release by release) only to %s. For the same registry as static files, build it from its repository with the published registry as the previous build, then publish that directory: `packgen build --previous %s --out site && packgen publish site %s` (the published releases are read back, verified and reused byte for byte)", site, kind, dest, strings.Join(promote, ", "), site, dest))
}

// To publishes the site in dir to dest (see Open). A destination that is
// a SitePublisher reads the site itself: dir may then also be a registry
// location (oci://… to promote from one OCI registry to another).
func To(ctx context.Context, dir, dest string, do DestOptions, o Options) (*Result, error) {
	if o.Timeout <= 0 {
		return to(ctx, dir, dest, do, o)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout,
		fmt.Errorf("%w: the publish to %s did not finish within the time limit of %s", transport.ErrTimeout, dest, o.Timeout))
	defer cancel()
	res, err := to(ctx, dir, dest, do, o)
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, transport.ErrTimeout) && !errors.Is(err, transport.ErrTimeout) {
		// The libraries say "context deadline exceeded": the limit
		// the user set, and what was under way, say more.
		err = fmt.Errorf("%w (%w)", cause, err)
	}
	return res, err
}

func to(ctx context.Context, dir, dest string, do DestOptions, o Options) (*Result, error) {
	if err := CheckSource(dir, dest); err != nil {
		return nil, err
	}
	d, loc, err := lookup(dest)
	if err != nil {
		return nil, err
	}
	if d.publisher != nil {
		p, err := d.publisher(ctx, loc, do)
		if err != nil {
			return nil, err
		}
		return p.PublishSite(ctx, dir, o)
	}
	t, err := Open(ctx, dest, do)
	if err != nil {
		return nil, err
	}
	return Publish(ctx, dir, t, o)
}
