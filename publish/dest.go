package publish

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/packgen/packgen/internal/location"
)

// Destinations are providers chosen by the location's scheme (as Helm's
// pkg/pusher): each registers itself from its own file, so a new kind of
// destination is a new file, not an edit of this one.

// DestOptions are every destination's option group; each provider reads
// its own.
type DestOptions struct {
	S3 S3Options
}

// Opener opens the target for a parsed destination.
type Opener func(ctx context.Context, loc location.Location, o DestOptions) (Target, error)

type destination struct {
	open  Opener
	usage string // the form of a location, for messages
}

var (
	destMu       sync.RWMutex
	destinations = map[string]destination{}
)

// RegisterDestination makes scheme (lower case) publish through open;
// usage is the form of such a location, for messages
// ("s3://BUCKET/PREFIX").
func RegisterDestination(scheme, usage string, open Opener) {
	destMu.Lock()
	defer destMu.Unlock()
	destinations[scheme] = destination{open, usage}
}

func init() {
	RegisterDestination("file", "file:///PATH", func(_ context.Context, loc location.Location, _ DestOptions) (Target, error) {
		return DirTarget{Dir: loc.Dir}, nil
	})
}

// Open returns the target for a destination: a directory path,
// file:///PATH, or a URL of a registered scheme (s3://BUCKET/PREFIX).
func Open(ctx context.Context, dest string, o DestOptions) (Target, error) {
	if dest == "" {
		return nil, fmt.Errorf("%w: no destination given", ErrDestination)
	}
	loc, err := location.Parse(dest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDestination, err)
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
		return nil, fmt.Errorf("%w: cannot publish to %q: give %s or a directory (for GitHub Pages, publish into the pages directory)", ErrDestination, dest, strings.Join(forms, ", "))
	}
	return d.open(ctx, loc, o)
}

// To publishes the site in dir to dest (see Open).
func To(ctx context.Context, dir, dest string, do DestOptions, o Options) (*Result, error) {
	t, err := Open(ctx, dest, do)
	if err != nil {
		return nil, err
	}
	return Publish(ctx, dir, t, o)
}
