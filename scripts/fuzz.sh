#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 5s):
# a short, bounded pass for CI on top of the seed corpora that `go test`
# always replays. A failing input is written under the package's
# testdata/fuzz/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime="${FUZZTIME:-5s}"
count=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >/dev/null
    count=$((count + 1))
  done
done
echo "fuzzed $count targets for $fuzztime each"
