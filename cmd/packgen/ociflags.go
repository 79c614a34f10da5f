package main

import (
	"time"

	"github.com/packgen/packgen/images/lookup"
	"github.com/packgen/packgen/internal/location"
	"github.com/packgen/packgen/internal/ocireg"
	"github.com/packgen/packgen/internal/transport"
	"github.com/spf13/cobra"
)

// ociFlags are the registry-access flags of every command that talks to
// an OCI registry (publish oci://…, fetch oci://…), the same everywhere.
type ociFlags struct {
	o ocireg.Options
}

func (f *ociFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.o.Username, "username", "", "OCI registry user name, with the password in $"+ocireg.PasswordEnv+" (default: docker/podman login credentials)")
	c.Flags().BoolVar(&f.o.PlainHTTP, "plain-http", false, "talk plain HTTP to the OCI registry (loopback registries only)")
	c.Flags().StringVar(&f.o.CAFile, "ca-file", "", "PEM bundle of extra CAs to trust for the OCI registry's TLS")
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
	oo, err := f.options()
	if err != nil {
		return nil, err
	}
	l, err := location.Parse(site)
	if err != nil {
		return nil, usageErr("%s: %v", flag, err)
	}
	tr, err := transport.Open(l, transport.Config{Timeout: 30 * time.Minute, OCI: oo})
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
