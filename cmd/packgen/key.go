package main

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"

	"github.com/packgen/packgen/internal/gitsafe"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/translog"
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
	o := &keyGenerateOptions{}
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
with packgen and the other way round.

With --witness NAME, write a transparency log witness's key pair instead
(packgen log witness): PREFIX.key holds the private key in signed-note
form (PRIVATE+KEY+NAME+..., not encrypted: keep it as a CI secret) and
PREFIX.pub the C2SP cosignature/v1 verifier key clients pass to
packgen registry add --witness. NAME names the witness (letters, digits,
'-', '_', '.'), e.g. its domain.`,
		Example: `  PACKGEN_PASSWORD=s3cret packgen key generate --prefix registry
  packgen key generate --witness witness.example.org --prefix witness   # a witness's key (packgen log witness)
  packgen build --key registry.key --out site
  cosign verify-blob --key registry.pub --signature site/index.json.sig --insecure-ignore-tlog=true site/index.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runKeyGenerate(g, o) },
	}
	gen.Flags().StringVar(&o.prefix, "prefix", "packgen", "file name prefix for PREFIX.key and PREFIX.pub")
	gen.Flags().BoolVar(&o.ed, "ed25519", false, "generate an ed25519 key instead of ECDSA P-256")
	gen.Flags().StringVar(&o.witness, "witness", "", "generate a transparency log witness key named NAME (packgen log witness)")
	gen.Flags().BoolVar(&o.force, "force", false, "overwrite existing files, and write the private key inside a git work tree that does not ignore it")
	o.out.add(gen)
	return group(c, gen)
}

// keyGenerateOptions are the flags of key generate.
type keyGenerateOptions struct {
	prefix, witness string
	ed, force       bool
	out             madeOutput
}

// runKeyGenerate refuses to overwrite keys or to write a private key a
// git work tree would commit (unless --force), then writes the pair.
func runKeyGenerate(g *globalOptions, o *keyGenerateOptions) error {
	keyFile, pubFile := o.prefix+".key", o.prefix+".pub"
	if !o.force {
		for _, f := range []string{keyFile, pubFile} {
			if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
				return usageErr("%s already exists: choose another --prefix or pass --force", f)
			}
		}
		if err := gitsafe.CheckKeyOutside(keyFile); err != nil {
			return usageErr("%w", err)
		}
	}
	priv, pub, err := o.generate(g)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		return err
	}
	if o.witness != "" {
		o.out.summaryf(g, "Witness private key written to %s (keep it secret)\nWitness public key written to %s (give it to clients: packgen registry add NAME URL --key registry.pub --witness %s)\n", keyFile, pubFile, pubFile)
		return o.out.done(g, map[string]any{"private": keyFile, "public": pubFile, "witness": o.witness})
	}
	o.out.summaryf(g, "Private key written to %s (keep it secret; CI can read it from an env var with --key env://VAR)\nPublic key written to %s (give it to clients: packgen registry add NAME URL --key %s)\n", keyFile, pubFile, pubFile)
	fields := map[string]any{"private": keyFile, "public": pubFile}
	if v, err := sign.LoadPublicKey(pub); err == nil {
		fields["keyID"] = v.KeyIDs()[0] // as registry list names it
	}
	return o.out.done(g, fields)
}

// generate makes the key pair the flags ask for: a witness's signed-note
// pair, or a cosign-encrypted ECDSA P-256 (or ed25519) pair.
func (o *keyGenerateOptions) generate(g *globalOptions) (priv, pub []byte, err error) {
	if o.witness != "" {
		skey, vkey, err := translog.GenerateWitnessKey(rand.Reader, o.witness)
		if err != nil {
			return nil, nil, usageErr("--witness: %v", err)
		}
		return []byte(skey + "\n"), []byte(vkey + "\n"), nil
	}
	alg := sign.ECDSAP256
	if o.ed {
		alg = sign.Ed25519
	}
	return sign.Generate(alg, passFunc(g))
}
