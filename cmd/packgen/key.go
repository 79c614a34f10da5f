package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/packgen/packgen/internal/gitsafe"
	"github.com/packgen/packgen/sign"
	"github.com/spf13/cobra"
)

func init() { register(newKeyCmd) }

func newKeyCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "key",
		Short: "Manage registry signing keys",
		Example: `  PACKGEN_PASSWORD=... packgen key generate
  packgen key generate --ed25519 --prefix registry`,
	}
	var prefix string
	var ed, force bool
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate a signing key pair (cosign-compatible)",
		Long: `Write PREFIX.key (the private key, encrypted with a password exactly like
cosign encrypts its keys) and PREFIX.pub (the public key clients are given
out of band). The password comes from PACKGEN_PASSWORD or COSIGN_PASSWORD,
or is asked on the terminal.

A private key is never written inside a git work tree that does not
ignore it (a later ` + "`git add .`" + ` would commit it): add it to .gitignore
first, write it outside the repository, or pass --force. Keys made by cosign generate-key-pair work
with packgen and the other way round.`,
		Example: `  PACKGEN_PASSWORD=s3cret packgen key generate --prefix registry
  packgen build --key registry.key --out site
  cosign verify-blob --key registry.pub --signature site/index.json.sig --insecure-ignore-tlog=true site/index.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			alg := sign.ECDSAP256
			if ed {
				alg = sign.Ed25519
			}
			keyFile, pubFile := prefix+".key", prefix+".pub"
			if !force {
				for _, f := range []string{keyFile, pubFile} {
					if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
						return usageErr("%s already exists: choose another --prefix or pass --force", f)
					}
				}
			}
			if !force {
				if err := gitsafe.CheckKeyOutside(keyFile); err != nil {
					return usageErr("%w", err)
				}
			}
			priv, pub, err := sign.Generate(alg, passFunc(g))
			if err != nil {
				return err
			}
			if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
				return err
			}
			g.summaryf("Private key written to %s (keep it secret; CI can read it from an env var with --key env://VAR)\nPublic key written to %s (give it to clients: packgen registry add NAME URL --key %s)\n", keyFile, pubFile, pubFile)
			return nil
		},
	}
	gen.Flags().StringVar(&prefix, "prefix", "packgen", "file name prefix for PREFIX.key and PREFIX.pub")
	gen.Flags().BoolVar(&ed, "ed25519", false, "generate an ed25519 key instead of ECDSA P-256")
	gen.Flags().BoolVar(&force, "force", false, "overwrite existing files, and write the private key inside a git work tree that does not ignore it")
	c.AddCommand(gen)
	return c
}
