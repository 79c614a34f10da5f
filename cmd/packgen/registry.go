package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/internal/location"
	"github.com/spf13/cobra"
)

func init() { register(newRegistryCmd) }

func (g *globalOptions) configPath() string {
	if g.config != "" {
		return g.config
	}
	return client.DefaultConfigPath()
}

// loadConfig reads the registries config. A missing default config is an
// empty one; a missing --config file is a mistake (a typo would otherwise
// read as "no registry configured").
func (g *globalOptions) loadConfig() (*client.Config, error) {
	if g.config != "" {
		if _, err := os.Stat(g.config); errors.Is(err, fs.ErrNotExist) {
			return nil, usageErr("--config %s: no such file (`packgen registry add` creates it)", g.config)
		}
	}
	return client.LoadConfig(g.configPath())
}

// registryLocation checks a URL given to registry add and makes a
// directory absolute, so the config means the same from any directory.
func registryLocation(loc string) (string, error) {
	if strings.Contains(loc, "://") {
		return loc, nil
	}
	if _, err := location.Parse(loc); err != nil {
		return "", usageErr("%v", err)
	}
	fi, err := os.Stat(loc)
	switch {
	case err == nil && !fi.IsDir():
		return "", usageErr("%s is a file: give the directory of a built site (packgen build --out DIR), or a URL", loc)
	case err != nil && (filepath.IsAbs(loc) || strings.HasPrefix(loc, ".")):
		// A path, not a host: https:///nope helps no one.
		return "", usageErr("%s: no such directory: give the directory of a built site (packgen build --out DIR), or a URL (https://HOST/PATH)", loc)
	case err != nil:
		return "", usageErr("%q is neither a URL nor an existing directory: give https://%s for a registry on the web, or the path of a built site", loc, strings.TrimPrefix(loc, "//"))
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		return "", err
	}
	return abs, nil
}

func newRegistryCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "registry",
		Short: "Manage the registries packgen fetches from",
		Long: `Registries are kept in $XDG_CONFIG_HOME/packgen/registries.yaml (or --config).
Each has a URL (https://, http://, oci://, file:// or a directory) and the public
keys that may sign it, given out of band by the registry's owner.`,
		Example: `  packgen registry add acme https://packs.acme.example --key acme.pub
  packgen registry add acme https://packs.acme.example --key old.pub --key new.pub   # during key rotation
  packgen registry list
  packgen registry remove acme`,
	}
	return group(c, newRegistryAddCmd(g), newRegistryListCmd(g), newRegistryRemoveCmd(g))
}

func newRegistryAddCmd(g *globalOptions) *cobra.Command {
	o := &registryAddOptions{}
	add := &cobra.Command{
		Use:   "add NAME URL",
		Short: "Add (or replace) a registry",
		Example: `  packgen registry add acme https://packs.acme.example --key acme.pub
  packgen registry add private https://packs.internal --key k.pub --token-env PACKS_TOKEN
  packgen registry add local ./site --key packgen.pub
  packgen registry add harbor oci://harbor.acme.example/packs --key k.pub
  packgen registry add acme https://packs.acme.example --key acme.pub --witness w1.pub --witness w2.pub --witnesses 1
  packgen registry add acme oci://harbor.acme.example/packs --key acme.pub --witness w1.pub --witness-max-age 168h`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return runRegistryAdd(cmd, g, o, args[0], args[1]) },
	}
	add.Flags().StringArrayVar(&o.keys, "key", nil, "public key PEM file (repeat for key rotation)")
	add.Flags().StringVar(&o.tokenEnv, "token-env", "", "environment variable holding a bearer token")
	add.Flags().BoolVar(&o.plainHTTP, "plain-http", false, "oci:// on a loopback host: talk plain HTTP")
	add.Flags().StringVar(&o.caFile, "ca-file", "", "oci://: a PEM bundle of CAs trusted for the registry's TLS")
	o.wit.add(add, "how many of the --witness keys must have cosigned the log checkpoint holding a release before it is used (default: all given)")
	add.Flags().StringVar(&o.signedName, "signed-name", "", "the registry's own name in its signed index.json (default: read from it now)")
	o.out.add(add)

	return add
}

// registryAddOptions are the flags of registry add.
type registryAddOptions struct {
	keys                         []string
	tokenEnv, signedName, caFile string
	plainHTTP                    bool
	wit                          witnessFlags
	out                          madeOutput
}

// runRegistryAdd builds the registry from the flags, pins its signed
// name and saves the config.
func runRegistryAdd(cmd *cobra.Command, g *globalOptions, o *registryAddOptions, name, url string) error {
	cfg, err := client.LoadConfig(g.configPath()) // created when missing
	if err != nil {
		return err
	}
	r, err := o.registry(name, url)
	if err != nil {
		return err
	}
	if err := cfg.Add(r); err != nil {
		return usageErr("%v", err)
	}
	// Pin the registry's signed name (see Registry.SignedName), read
	// from its verified index now when it can be reached. Otherwise the
	// first fetch records it in the state, as it records the serial.
	r.SignedName = o.signedName
	if r.SignedName == "" && len(r.Keys) > 0 {
		if r.SignedName, err = readSignedName(cmd.Context(), g, r); err != nil {
			if errors.Is(err, client.ErrBadSignature) || errors.Is(err, client.ErrUnsigned) {
				// Read, and refused: not "could not read". Still added, as
				// after a key compromise clients take the new key before
				// the registry is re-signed (docs/SECURITY.md).
				o.out.warnf(g, "the index.json of %s does not verify under the given key(s) (%s): every fetch from %s fails until the registry is signed by one of them. Expected only while a compromised key is replaced (docs/SECURITY.md, \"Rotating a registry key\"); otherwise this is not the registry's key: ask its owner for its public key and run registry add again\n", r.URL, esc(err.Error()), esc(r.Name))
			} else {
				o.out.warnf(g, "could not read the signed index of %s now (%s): its signed name is pinned on the first fetch instead (or pass --signed-name)\n", r.URL, esc(err.Error()))
			}
			r.SignedName = cfg.PinnedSignedName(r)
		}
	}
	if err := cfg.Add(r); err != nil {
		return usageErr("%v", err)
	}
	if err := cfg.Save(g.configPath()); err != nil {
		return err
	}
	printRegistryAdd(g, &o.out, r)
	return o.out.done(g, map[string]any{"registry": rowOf(r)})
}

// registry is the registry the flags describe: its keys checked, its
// witnesses read, its quorum defaulted to all of them.
func (o *registryAddOptions) registry(name, url string) (client.Registry, error) {
	loc, err := registryLocation(url)
	if err != nil {
		return client.Registry{}, err
	}
	r := client.Registry{Name: name, URL: loc, TokenEnv: o.tokenEnv, PlainHTTP: o.plainHTTP, CAFile: o.caFile}
	for _, k := range o.keys {
		data, err := readPublicKey("--key", k)
		if err != nil {
			return r, err
		}
		r.Keys = append(r.Keys, string(data))
	}
	if err := o.wit.apply(&r); err != nil {
		return r, err
	}
	if r.WitnessQuorum > 0 && len(r.Keys) == 0 {
		return r, usageErr("--witness needs --key: witnesses cosign the log the registry's key vouches for")
	}
	return r, nil
}

// printRegistryAdd says what was added and what it will be trusted for.
func printRegistryAdd(g *globalOptions, out *madeOutput, r client.Registry) {
	out.summaryf(g, "registry %s added (%s, %d key(s))\n", r.Name, r.URL, len(r.Keys))
	if r.WitnessQuorum > 0 {
		out.summaryf(g, "a release is used only once %d of its %d witnesses cosigned the log that holds it\n", r.WitnessQuorum, len(r.Witnesses))
		if r.WitnessMaxAge != "" {
			out.summaryf(g, "a cosignature older than %s does not count\n", r.WitnessMaxAge)
		}
	}
	if r.SignedName != "" {
		out.summaryf(g, "it signs its index as registry %q: an index signed for another registry will be refused\n", esc(r.SignedName))
	}
	if len(r.Keys) == 0 {
		out.warnf(g, "no --key given: packs from %s cannot be verified\n", r.Name)
	}
}

// registryRow is a configured registry in -o json (registry list, add).
type registryRow struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Keys     []string `json:"keyIDs"`
	TokenEnv string   `json:"tokenEnv,omitempty"`
	// SignedName is the name its index is pinned to (Registry.SignedName).
	SignedName string `json:"signedName,omitempty"`
	// Witnesses are the names of the witness keys; a release is
	// used once WitnessQuorum of them cosigned its log.
	Witnesses     []string `json:"witnesses,omitempty"`
	WitnessQuorum int      `json:"witnessQuorum,omitempty"`
	WitnessMaxAge string   `json:"witnessMaxAge,omitempty"`
}

func rowOf(r client.Registry) registryRow {
	rw := registryRow{Name: r.Name, URL: r.URL, TokenEnv: r.TokenEnv, SignedName: r.SignedName, Keys: []string{}, WitnessQuorum: r.WitnessQuorum, WitnessMaxAge: r.WitnessMaxAge}
	if v, err := r.Verifier(); err == nil && v != nil {
		rw.Keys = v.KeyIDs()
	}
	rw.Witnesses = r.WitnessNames()
	return rw
}

func newRegistryListCmd(g *globalOptions) *cobra.Command {
	var out madeOutput
	list := &cobra.Command{
		Use:     "list",
		Short:   "List configured registries",
		Example: `  packgen registry list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			rows := []registryRow{}
			for _, r := range cfg.Registries {
				rows = append(rows, rowOf(r))
			}
			if out.json() {
				return out.done(g, map[string]any{"registries": rows})
			}
			tw := table(g, "NAME\tURL\tKEYS")
			for _, r := range rows {
				keys := "none (unverified)"
				if len(r.Keys) > 0 {
					keys = ""
					for i, k := range r.Keys {
						if i > 0 {
							keys += ", "
						}
						keys += k[:16]
					}
				}
				if r.WitnessQuorum > 0 {
					keys += fmt.Sprintf("; %d of witnesses %s", r.WitnessQuorum, strings.Join(r.Witnesses, ", "))
					if r.WitnessMaxAge != "" {
						keys += ", cosigned within " + r.WitnessMaxAge
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.URL, keys)
			}
			return tw.Flush()
		},
	}
	out.add(list)
	return list
}

func newRegistryRemoveCmd(g *globalOptions) *cobra.Command {
	var out madeOutput
	remove := &cobra.Command{
		Use:               "remove NAME",
		Short:             "Remove a registry",
		Example:           `  packgen registry remove acme`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: g.completeRegistries,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if err := cfg.Remove(args[0]); err != nil {
				return usageErr("%v", err)
			}
			if err := cfg.Save(g.configPath()); err != nil {
				return err
			}
			out.summaryf(g, "registry %s removed\n", args[0])
			return out.done(g, map[string]any{"removed": args[0]})
		},
	}
	out.add(remove)
	return remove
}

// readSignedName reads r's index.json, verified with its keys (and
// recorded against rollback like any fetch), and returns the registry
// name it is signed for.
func readSignedName(ctx context.Context, g *globalOptions, r client.Registry) (string, error) {
	cl, err := client.New(r, client.Options{Timeout: 30 * time.Second, StallTimeout: 10 * time.Second, Warn: io.Discard})
	if err != nil {
		return "", err
	}
	root, err := cl.Root(ctx)
	if err != nil {
		return "", err
	}
	return root.Registry, nil
}

func (g *globalOptions) completeRegistries(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, r := range cfg.Registries {
		names = append(names, r.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
