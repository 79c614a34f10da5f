package main

import (
	"errors"
	"strings"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/transport"
	"github.com/spf13/cobra"
)

// ociFlags are the registry-access flags of every command that talks to
// an OCI registry (publish oci://…, fetch oci://…, an oci:// site or
// --url of list, info, search, images, log show, verify --site, log
// audit), the same everywhere.
type ociFlags struct {
	o ocireg.Options
}

// add adds --username, --plain-http and --ca-file for the oci:// registry
// named on the command line.
func (f *ociFlags) add(c *cobra.Command) { f.addFor(c, "the oci:// registry") }

// addFor adds the flags, their help naming the registries they are for
// (profile's are for the image registries, not the packs' registry).
func (f *ociFlags) addFor(c *cobra.Command, which string) {
	c.Flags().StringVar(&f.o.Username, "username", "", "user name for "+which+", with the password in $"+ocireg.PasswordEnv+" (default: docker/podman login credentials)")
	c.Flags().BoolVar(&f.o.PlainHTTP, "plain-http", false, "talk plain HTTP to "+which+" (loopback registries only)")
	c.Flags().StringVar(&f.o.CAFile, "ca-file", "", "PEM bundle of extra CAs to trust for the TLS of "+which)
}

// given reports whether any of the flags was given.
func (f *ociFlags) given() bool {
	return f.o.PlainHTTP || f.o.CAFile != "" || f.o.Username != ""
}

// errOCIFlags: the OCI flags were given where they cannot apply.
var errOCIFlags = errors.New("--plain-http, --ca-file and --username go with an oci:// location given on the command line")

// refuseConfigured refuses the flags with a configured registry (name,
// or "" for every configured one): it keeps its own (registry add
// --plain-http --ca-file), and silently dropping or overriding them would
// reach the registry another way than it was configured.
func (f *ociFlags) refuseConfigured(name string) error {
	if !f.given() {
		return nil
	}
	which, add := "the configured registries keep their own", "NAME"
	if name != "" {
		which, add = esc(name)+" is a configured registry, which keeps its own", esc(name)
	}
	return usageErr("%w (oci://HOST/BASE, or --url oci://HOST/BASE); %s: `packgen registry add %s oci://… --plain-http --ca-file FILE` sets them, and its credentials come from docker login, podman login or $%s",
		errOCIFlags, which, add, ocireg.RegistryAuthFileEnv)
}

// forLocation returns the options for loc, read from the flags and the
// password from the environment; the flags are refused (never ignored)
// when loc is no oci:// location. what names loc in the error.
func (f *ociFlags) forLocation(what, loc string) (ocireg.Options, error) {
	if f.given() && !strings.HasPrefix(loc, client.OCIScheme) {
		return ocireg.Options{}, usageErr("%w; %s %s is not one (a directory or an http(s) URL takes none of them)", errOCIFlags, what, esc(loc))
	}
	return f.options()
}

// options returns the flags as ocireg.Options, the password read from
// the environment.
func (f *ociFlags) options() (ocireg.Options, error) {
	o, err := f.o.WithEnvPassword()
	if err != nil {
		return o, usageErr("%v", err)
	}
	return o, nil
}

// openSite opens the site a command checks whole (verify --site, log
// audit) the way every reader opens one, an oci:// registry with these
// flags. Archives are read whole, hence the long deadline (a stalled
// download still fails after the stall timeout).
func (f *ociFlags) openSite(flag, site string) (transport.Transport, error) {
	return f.open(flag, site, transport.Config{Timeout: 30 * time.Minute})
}

// open opens a site given on the command line (a directory, a file://,
// http(s) or oci:// URL) with c's deadlines and, for oci://, the flags.
func (f *ociFlags) open(flag, site string, c transport.Config) (transport.Transport, error) {
	oo, err := f.forLocation(flag, site)
	if err != nil {
		return nil, err
	}
	l, err := location.Parse(site)
	if err != nil {
		return nil, usageErr("%s: %v", flag, err)
	}
	c.OCI = oo
	tr, err := transport.Open(l, c)
	if err != nil {
		return nil, usageErr("%s: %v", flag, err)
	}
	return tr, nil
}

// lookup returns the flags as the options of image digest lookups
// (--check-images, --pin-images).
func (f *ociFlags) lookup() (lookup.Options, error) {
	o, err := f.options()
	return lookup.Options{OCI: o}, err
}
