#!/usr/bin/env bash
# The integration tests again under today's Nix: 2.26 (Debian trixie) and 2.34 (Debian sid), each
# installed by scripts/nix-versions.sh into .nix-versions/<suite>. Called by scripts/test.sh after
# the run on the machine's Nix (2.8); also usable alone.
#
# Each version runs in a private mount namespace where .nix-versions/<suite>/nix is bound over
# /nix: its own store, database and profiles. A newer Nix never opens the machine's 2.8 store (it
# would upgrade the database schema): before jest starts, the runner proves /nix is that folder
# (same device and inode) and that the store there was made by this version (a marker file), and
# refuses otherwise. The simulated hosts run the runner's Nix (test/harness/fleet.ts links it into
# each host's /usr/local/sbin), so each host's store is opened by one version only.
#
# Usage: scripts/test-nix-versions.sh RESULTS_DIR [jest args...]
#   Writes RESULTS_DIR/integration-<suite>.json (jest --json; left empty when the suite could not
#   run) and prints one timing line per suite.
#   NDA_NIX_SUITES: the suites to run (default "trixie sid"; "none" runs nothing).
#   Without jest args, runs every integration file that runs Nix (NIX_FILES below).
# Exit status: non-zero when any suite failed or could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. scripts/nix-env.sh
export NODE_OPTIONS=--experimental-vm-modules

# The integration files that run Nix (all but repository and workflows, which read files only).
NIX_FILES=(
  check matrix build diff diff-report dry-activate deploy deploy-environment health fleet
  fleet-deploy cli security-forks security-injection security-output security-secrets binary-cache
  colmena drift update host-checks
)

if [ "${1:-}" = --inside ]; then
  # In the private mount namespace: bind the version's /nix, prove it, run jest.
  shift
  suite=$1 results=$2
  shift 2
  R=$top/.nix-versions/$suite
  mount --bind "$R/nix" /nix
  if [ "$(stat -c %d:%i /nix)" != "$(stat -c %d:%i "$R/nix")" ]; then
    echo "error: $suite: /nix is not $R/nix in the test namespace; refusing to run Nix $suite" >&2
    exit 1
  fi
  version=$("$R/bin/nix" --version | awk '{print $NF}')
  marker=/nix/var/nix-deploy-test-nix-version
  if [ -e /nix/var/nix/db ] && [ "$(cat "$marker" 2>/dev/null)" != "$version" ]; then
    echo "error: $suite: the store in $R/nix was made by Nix $(cat "$marker" 2>/dev/null || echo '(unknown)'), not $version; refusing to open it (remove $R/nix to start afresh)" >&2
    exit 1
  fi
  mkdir -p /nix/var
  echo "$version" >"$marker"
  export PATH=$R/bin:$PATH NDA_NIX_VERSION=$version
  if [ "$(nix --version | awk '{print $NF}')" != "$version" ]; then
    echo "error: $suite: 'nix' on PATH is not Nix $version" >&2
    exit 1
  fi
  exec npx jest --ci --selectProjects integration --runInBand --json \
    --outputFile="$results/integration-$suite.json" "$@"
fi

results=${1:?usage: scripts/test-nix-versions.sh RESULTS_DIR [jest args...]}
shift
mkdir -p "$results"
results=$(cd "$results" && pwd)
read -r -a suites <<<"${NDA_NIX_SUITES:-trixie sid}"
[ "${suites[*]}" != none ] || exit 0
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  for f in "${NIX_FILES[@]}"; do args+=("test/integration/$f.test.ts"); done
fi

# The machine's own Nix must not have been handed a newer store (the marker is written in the
# private /nix of each version only).
if [ -e /nix/var/nix-deploy-test-nix-version ]; then
  echo "error: /nix holds a store made by Nix $(cat /nix/var/nix-deploy-test-nix-version) for the tests; the machine's Nix must not open it" >&2
  exit 1
fi

bash scripts/nix-versions.sh "${suites[@]}"
# A bind mount needs its mount point: on a machine where Nix never ran there is no /nix yet.
[ -d /nix ] || mkdir -m 0755 /nix

status=0
for suite in "${suites[@]}"; do
  echo "== integration tests on Nix $("$top/.nix-versions/$suite/bin/nix" --version | awk '{print $NF}') ($suite)"
  start=$(date +%s)
  unshare --mount --propagation private -- bash "$top/scripts/test-nix-versions.sh" --inside \
    "$suite" "$results" "${args[@]}" || status=$?
  # A suite that never got to write its results still counts: an empty file is one failure in
  # test.sh's closing line (it cannot be read as jest's JSON).
  [ -s "$results/integration-$suite.json" ] || : >"$results/integration-$suite.json"
  echo "== $suite: $(($(date +%s) - start)) s"
done
exit $status
