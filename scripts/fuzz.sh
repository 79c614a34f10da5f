#!/usr/bin/env bash
# fuzz.sh FUZZTIME FUZZMINIMIZE: runs every Fuzz* target of the module
# for FUZZTIME each (a duration, or a count such as 2000x).
#
# Each package's fuzzing test binary is built once (`go test -c -fuzz`)
# and run for each of its targets, as `go test -fuzz` would run it: from
# the package's directory (seed corpora and new crashers live in its
# testdata/fuzz/) with the fuzz cache Go uses. `go test -fuzz` takes one
# target a call and links the instrumented binary again each time: 50
# targets in 29 packages, 21 links too many (about 1.6 s each, warm).
# The binary writes its progress to stderr, where go test gave it on
# stdout: 2>&1 keeps it where fuzz-smoke's filter reads it.
set -euo pipefail
fuzztime=${1:?usage: fuzz.sh FUZZTIME FUZZMINIMIZE}
minimize=${2:?usage: fuzz.sh FUZZTIME FUZZMINIMIZE}
go=${GO:-go}

cd "$(dirname "$0")/.."
module=$($go list -m)
cache=$($go env GOCACHE)
bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT

files=$(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')
for dir in $(grep -l '^func Fuzz' $files | xargs -n1 dirname | sort -u); do
  dir=${dir#./}
  bin="$bindir/$(echo "$dir" | tr / _).test"
  $go test -c -fuzz=. -o "$bin" "./$dir"
  for f in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
    echo "== $dir $f"
    (cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^$f\$" -test.fuzztime="$fuzztime" \
      -test.fuzzminimizetime="$minimize" -test.fuzzcachedir="$cache/fuzz/$module/$dir" \
      -test.paniconexit0 -test.timeout=10m 2>&1)
  done
done
