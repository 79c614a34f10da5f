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
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A git repository of packs (made with go-git from examples/packs)"
go run ./examples/demo -packs examples/packs -out "$DEMO/repo"

step "2. Validate every pack"
run "$PG" validate "$DEMO/repo/packs"

step "3. Build the registry from git (no checkout, no git binary)"
run "$PG" build --repo "$DEMO/repo" --out "$DEMO/site" --name demo

step "4. Rebuild: nothing changed, nothing re-archived, byte-identical"
before=$(cd "$DEMO/site" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
run "$PG" build --repo "$DEMO/repo" --out "$DEMO/site" --name demo
after=$(cd "$DEMO/site" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
[ "$before" = "$after" ] && echo "site unchanged: OK" || { echo "site changed on rebuild"; exit 1; }

step "5. Serve it on $URL"
"$PG" serve "$DEMO/site" --addr "127.0.0.1:$PORT" >"$DEMO/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$PG" list "$URL" >/dev/null 2>&1 && break; sleep 0.1; done

step "6. Browse it over HTTP"
run "$PG" list "$URL"
run "$PG" info calico --site "$URL"

step "Done"
cat <<MSG
The registry is in $DEMO/site. Next:
  $PG serve $DEMO/site                     # serve it again
  $PG info prometheus-operator --site $DEMO/site
  $PG validate examples/packs               # check your own packs
MSG
