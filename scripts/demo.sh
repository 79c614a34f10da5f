#!/usr/bin/env bash
# The README's main job: make a git repository from examples/packs (two
# commits, so calico has two versions), build a registry from it, serve it
# on loopback, then use the registry the way a user would.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-bin/packgen}
DEMO=${DEMO:-demo}
PORT=${PORT:-8089}
URL="http://127.0.0.1:$PORT"

rm -rf "$DEMO"
mkdir -p "$DEMO"
abs() { (cd "$(dirname "$1")" && printf '%s/%s' "$(pwd)" "$(basename "$1")"); }
A=$(abs "$DEMO") # absolute: XDG_* directories must be (relative ones are ignored)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A git repository of packs (made with go-git from examples/packs)"
go run ./examples/demo -packs examples/packs -out "$DEMO/repo"

step "2. Validate every pack"
run "$PG" validate "$DEMO/repo/packs"
# Every container image the packs deploy (charts rendered with Helm's
# engine), against what values.yaml declares for air-gapped mirrors.
run "$PG" images "$DEMO/repo/packs"

step "3. A signing key (cosign-compatible; the password comes from PACKGEN_PASSWORD)"
export PACKGEN_PASSWORD=${PACKGEN_PASSWORD:-demo-password}
run "$PG" key generate --prefix "$DEMO/registry"

step "4. Build the registry from git (no checkout, no git binary), signed"
# The demo's commits are dated 2024; the index is valid for a year from its
# time, so date it now (the reproducible-builds convention) to keep it fresh.
export SOURCE_DATE_EPOCH=$(date +%s)
run "$PG" build --repo "$DEMO/repo" --out "$DEMO/site" --name demo --key "$DEMO/registry.key"

step "5. Rebuild: nothing changed, nothing re-archived, byte-identical (signatures aside: ECDSA is randomised)"
digest() { (cd "$DEMO/site" && find . -type f ! -name '*.sig' ! -name '*.sigstore.json' -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
before=$(digest)
run "$PG" build --repo "$DEMO/repo" --out "$DEMO/site" --name demo --key "$DEMO/registry.key"
after=$(digest)
[ "$before" = "$after" ] && echo "site unchanged: OK" || { echo "site changed on rebuild"; exit 1; }

step "6. Serve it on $URL"
"$PG" serve "$DEMO/site" --addr "127.0.0.1:$PORT" >"$DEMO/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$PG" list "$URL" >/dev/null 2>&1 && break; sleep 0.1; done

step "7. Browse it over HTTP"
export XDG_CONFIG_HOME="$A/config" XDG_CACHE_HOME="$A/cache" XDG_STATE_HOME="$A/state"
run "$PG" registry add demo "$URL" --key "$DEMO/registry.pub"
run "$PG" list "$URL"
run "$PG" info calico --site "$URL"
run "$PG" search monitoring

step "8. Fetch a pack: resolve a constraint, verify index, shard, archive digest and signature, extract safely"
run "$PG" fetch calico@^3.27 -d "$DEMO/fetched/calico"
ls -l "$DEMO/fetched/calico"

step "9. Verify the whole registry over HTTP, then a single archive offline"
run "$PG" verify --site "$URL" --key "$DEMO/registry.pub"
run "$PG" verify "$DEMO"/site/packs/calico/3.27.3/calico-3.27.3.tar.gz --key "$DEMO/registry.pub"

step "Done"
# The hints are pasted into another shell, from anywhere, after the server
# above has stopped: absolute paths, no server needed, the config given.
APG=$(abs "$PG")
cat <<MSG
The registry is in $DEMO/site. Next (the server has stopped; these work from any directory):
  $APG serve $A/site --addr 127.0.0.1:$PORT   # serve it again (Ctrl-C stops it)
  $APG info prometheus-operator --site $A/site
  $APG fetch prometheus-operator@~57 --url $A/site --key $A/registry.pub -d $A/fetched/prometheus-operator
  XDG_CONFIG_HOME=$A/config $APG registry list   # the registry the demo configured
  $APG validate $A/repo/packs   # the packs the demo built from (check your own the same way)
MSG
