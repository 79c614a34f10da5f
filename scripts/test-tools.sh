#!/usr/bin/env bash
# The outside tools the test suite uses, and which tests skip without
# them. `make test` runs `check` first and `summary` last, so a run that
# skipped something says so at its end instead of passing quietly.
#   check    CI=true: exit 1 when a tool CI must have is missing
#   summary  list what was (or, with check, will be) skipped and why
# Uses bash builtins only (command -v), so it works on any PATH.
set -uo pipefail
mode=${1:-summary}

# tool|required in CI|how it is found|what skips without it|how to get it
tools=(
  "git|yes|git|history, integrity and README tests (source, build, cmd/packgen)|apt-get install git"
  "gcc|yes|gcc|nothing: the race detector needs cgo, go test -race fails without it|apt-get install gcc"
  "chromium|yes|${PACKGEN_CHROMIUM:-} /usr/bin/chromium chromium chromium-browser google-chrome-stable google-chrome|the catalogue's browser tests (site.TestBrowser*)|apt-get install chromium"
  "cosign|no|${COSIGN_BIN:-} cosign|sign.TestCosignInterop (the checked-in fixtures made by cosign are verified regardless)|not packaged by Debian: set COSIGN_BIN to a cosign binary"
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
