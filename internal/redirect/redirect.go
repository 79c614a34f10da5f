// Package redirect is the one redirect policy of every HTTP client that
// carries credentials to an outside server (the site transports and the
// OCI registry client): bounded, never from https down to http, and
// credentials for the first host:port only.
package redirect

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrTooMany marks a redirect loop or a chain longer than the bound.
	ErrTooMany = errors.New("too many redirects")
	// ErrInsecure marks an https server redirecting to http, which would
	// let anyone on the path serve (and see) the rest.
	ErrInsecure = errors.New("refusing a redirect from https to http")
)

// Policy is an http.Client CheckRedirect that follows at most max
// redirects. net/http keeps Authorization (and a set Cookie) for the
// same host name on another port and for subdomains; credentials are for
// the first request's host:port only, so they are dropped on any other
// (a registry's blob storage, a CDN).
func Policy(max int) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= max {
			return fmt.Errorf("%w: stopped after %d redirects", ErrTooMany, len(via))
		}
		if req.URL.Scheme != "https" && via[0].URL.Scheme == "https" {
			return fmt.Errorf("%w: %s", ErrInsecure, req.URL.Redacted())
		}
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
			req.Header.Del("Cookie")
		}
		return nil
	}
}
