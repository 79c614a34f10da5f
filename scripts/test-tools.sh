#!/usr/bin/env bash
# The outside tools the test suite uses, and which tests skip without
# them. `make test` runs `check` first and `summary` last, so a run that
# skipped something says so at its end instead of passing quietly.
#   check    CI=true: exit 1 when a tool CI must have is missing
#   summary  list what was (or, with check, will be) skipped and why
# Uses bash builtins only (command -v), so it works on any PATH.
set -uo pipefail
mode=${1:-summary}
# go install puts the OCI tools here; make test adds it to PATH too.
gobin=
command -v go >/dev/null 2>&1 && gobin="$(go env GOPATH 2>/dev/null | cut -d: -f1)/bin"

# tool|required in CI|how it is found|what skips without it|how to get it
tools=(
  "git|yes|git|history, integrity and README tests (source, build, cmd/packgen)|apt-get install git"
  "gcc|yes|gcc|nothing: the race detector needs cgo, go test -race fails without it|apt-get install gcc"
  "chromium|yes|${PACKGEN_CHROMIUM:-} /usr/bin/chromium chromium chromium-browser google-chrome-stable google-chrome|the catalogue's browser tests (site.TestBrowser*)|apt-get install chromium"
  "cosign|yes|${COSIGN_BIN:-} cosign ${gobin:+$gobin/cosign}|sign.TestCosignInterop, cmd/packgen TestFirstHourSignedAfterUnsigned/cosign and the OCI signature tests (the checked-in fixtures made by cosign are verified regardless)|go install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.2, or set COSIGN_BIN"
  "registry|yes|registry ${gobin:+$gobin/registry}|every test against a real OCI registry (internal/ocireg, internal/ocitest, client OCI fetch)|go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2"
  "oras|yes|oras ${gobin:+$gobin/oras}|the ORAS interop tests (a pack pushed the vendor's way, fetched by packgen)|go install oras.land/oras/cmd/oras@v1.3.6"
)

missing=() required_missing=()
for t in "${tools[@]}"; do
  IFS='|' read -r name required candidates skips get <<<"$t"
  found=
  for c in $candidates; do
    if command -v "$c" >/dev/null 2>&1; then found=$c; break; fi
  done
  if [ -z "$found" ]; then
    missing+=("$name: $skips ($get)")
    [ "$required" = yes ] && required_missing+=("$name")
  fi
done

case $mode in
check)
  if [ "${CI:-}" = true ] && [ ${#required_missing[@]} -gt 0 ]; then
    echo "test-tools: CI must run every test, but these tools are missing: ${required_missing[*]}" >&2
    for m in "${missing[@]}"; do echo "  $m" >&2; done
    exit 1
  fi
  ;;
summary)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "test-tools: every outside tool was there; no test skipped for lack of one"
  else
    echo "test-tools: SKIPPED for lack of a tool:"
    for m in "${missing[@]}"; do echo "  $m"; done
  fi
  ;;
*)
  echo "usage: $0 check|summary" >&2
  exit 2
  ;;
esac
