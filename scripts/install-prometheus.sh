#!/usr/bin/env bash
# Installs Debian's prometheus package, which gives promtool (`make
# test-rules` checks and unit-tests metrics/alerts.yml with it) and the
# prometheus server (the metrics integration tests start one, scraping a
# node on loopback). Nothing is done when both are on PATH already. The
# package's service is not started here: the tests start their own.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  promtool --version 2>&1 | head -n 1
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
promtool --version 2>&1 | head -n 1
prometheus --version 2>&1 | head -n 1
