#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default
# 10000x: that many inputs, a count rather than a duration, because a
# duration can end in a spurious "context deadline exceeded" from the
# fuzzing engine on a loaded machine):
# a short, bounded pass for CI on top of the seed corpora that `go test`
# always replays. A failing input is written under the package's
# testdata/fuzz/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime="${FUZZTIME:-10000x}"
count=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    if ! out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" 2>&1); then
      echo "$out"
      echo "FAIL: $pkg $target; the failing input is under its testdata/fuzz/$target/"
      exit 1
    fi
    count=$((count + 1))
  done
done
echo "fuzzed $count targets for $fuzztime each"
