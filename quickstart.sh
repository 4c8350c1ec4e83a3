#!/usr/bin/env bash
# Quick start: set up this machine (as root) and run vnm's main job, the paper's experiment:
# the old and new networks of the paper's test bed, migrated with no migration, Tunnel ASAP and
# Tunnel ALAP in turn while ping, TCP and DNS traffic runs; results in ./report/.
# Extra arguments go to `vnm experiment paper` (e.g. --short, --algorithms alap).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "vnm needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "vnm builds network namespaces and Open vSwitch bridges: run this as root (sudo $0)" >&2
  exit 1
fi

bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

mkdir -p report
exec node bin/vnm.js experiment paper --json report/results.json --out report "$@"
