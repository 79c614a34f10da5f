// Package location parses where a registry is read from or published to,
// once, with one set of rules: a directory path, file:///PATH, or a URL
// whose scheme names a provider (http, https, s3, and whatever the
// sources and destinations register). Readers and publishers then choose
// their provider by Scheme instead of each looking at the string.
package location

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrLocation marks a location that cannot be parsed.
var ErrLocation = errors.New("bad location")

// Location is a parsed registry location.
type Location struct {
	Raw string // as given
	// Scheme is "file" for a directory path or a file:// URL, else the
	// URL's scheme, lower case.
	Scheme string
	// Dir is the local directory of a "file" location.
	Dir string
	// URL is the parsed URL of any other location (nil for "file").
	URL *url.URL
}

// Parse parses a directory path or a URL. A string with "://" is a URL;
// anything else is a path (relative paths stay relative: Abs makes them
// absolute where a location is stored).
func Parse(s string) (Location, error) {
	if s == "" {
		return Location{}, fmt.Errorf("%w: empty", ErrLocation)
	}
	if !strings.Contains(s, "://") {
		// s3:/bucket or https:/host: a URL with a slash missing, not a
		// directory named "s3:" (which would publish into ./s3:/bucket).
		scheme, rest, ok := strings.Cut(s, ":")
		if ok && strings.EqualFold(scheme, "file") && strings.HasPrefix(rest, "/") {
			return Location{Raw: s, Scheme: "file", Dir: filepath.FromSlash(rest)}, nil // file:/PATH (RFC 8089)
		}
		if ok && knownScheme(scheme) && (rest == "" || rest[0] == '/') {
			return Location{}, fmt.Errorf("%w: %q: a URL's scheme takes two slashes: did you mean %s://%s?", ErrLocation, s, strings.ToLower(scheme), strings.TrimLeft(rest, "/"))
		}
		return Location{Raw: s, Scheme: "file", Dir: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("%w: %q: %v", ErrLocation, s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		return Location{}, fmt.Errorf("%w: %q has no scheme", ErrLocation, s)
	}
	if scheme != "file" {
		u.Scheme = scheme
		return Location{Raw: s, Scheme: scheme, URL: u}, nil
	}
	if (u.Host != "" && u.Host != "localhost") || u.Path == "" || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("%w: %q is not a file:///PATH URL", ErrLocation, s)
	}
	p := u.Path
	if runtime.GOOS == "windows" && len(p) > 2 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // file:///C:/packs
	}
	return Location{Raw: s, Scheme: "file", Dir: filepath.FromSlash(p)}, nil
}

// knownScheme: the schemes packgen reads or writes.
func knownScheme(s string) bool {
	switch strings.ToLower(s) {
	case "file", "http", "https", "s3", "oci":
		return true
	}
	return false
}

// Local reports whether the location is a directory on this machine.
func (l Location) Local() bool { return l.Scheme == "file" }

// String is the location as given.
func (l Location) String() string { return l.Raw }

// Abs returns the location with a local directory made absolute, for
// storing it (a relative path in a config file would mean another place
// from another working directory).
func (l Location) Abs() (Location, error) {
	if !l.Local() {
		return l, nil
	}
	abs, err := filepath.Abs(l.Dir)
	if err != nil {
		return l, err
	}
	if l.Raw == l.Dir {
		l.Raw = abs
	}
	l.Dir = abs
	return l, nil
}
