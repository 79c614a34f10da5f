#!/usr/bin/env bash
# How the fixtures in this directory were made (cosign v3.1.3, installed with
# `GOBIN=/tmp/cosignbin go install github.com/sigstore/cosign/v3/cmd/cosign@latest`).
# Re-running it makes new keys and signatures; the tests accept any.
set -euo pipefail
export COSIGN_PASSWORD=packgen-test
rm -f cosign.key cosign.pub blob.txt*
cosign generate-key-pair                                   # cosign.key (ENCRYPTED SIGSTORE PRIVATE KEY), cosign.pub
printf 'packgen cosign interop fixture\n' > blob.txt
# The classic .sig: base64 ASN.1 ECDSA signature over sha256(blob).
cosign sign-blob --key cosign.key --use-signing-config=false --tlog-upload=false \
  --new-bundle-format=false --output-signature blob.txt.sig blob.txt -y
# A Sigstore bundle v0.3 without transparency log (signing config with no services).
cosign signing-config create --out /tmp/no-services.json
cosign sign-blob --key cosign.key --signing-config /tmp/no-services.json --bundle blob.txt.sigstore.json blob.txt -y
# packgen.key/.pub and packgen-blob.txt.* were made with packgen's sign package
# (sign.Generate and Signer.SignFile) and checked with:
#   cosign verify-blob --key packgen.pub --signature packgen-blob.txt.sig --insecure-ignore-tlog=true packgen-blob.txt
#   cosign verify-blob --key packgen.pub --bundle packgen-blob.txt.sigstore.json --insecure-ignore-tlog=true packgen-blob.txt
