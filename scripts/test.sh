#!/usr/bin/env bash
# `npm test`: installs what is missing, then the type check and every test (unit and integration:
# real nix, real sshd hosts, the committed bundles run as GitHub's runner runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/nix-env.sh
echo "== typecheck"
npx tsc --noEmit -p .
echo "== tests"
export NODE_OPTIONS=--experimental-vm-modules
if [ $# -gt 0 ]; then exec npx jest --ci --runInBand "$@"; fi
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
npx jest --ci --selectProjects unit --json --outputFile="$results/unit.json" || status=$?
npx jest --ci --selectProjects integration --runInBand --json --outputFile="$results/integration.json" || status=$?
# One closing line for both runs: "tests: N passed, N failed, N skipped" (with CI=true, a skip fails).
node scripts/test-summary.mjs "$results/unit.json" "$results/integration.json" || status=$?
exit $status
