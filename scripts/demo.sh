#!/usr/bin/env bash
# `npm run demo`: installs what is missing, builds dist/ if absent, runs the demo pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/nix-env.sh
[ -f dist/index.js ] || npm run package
exec node --import tsx demo/demo.ts "$@"
