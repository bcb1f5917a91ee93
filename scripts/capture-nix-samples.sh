#!/usr/bin/env bash
# Captures real output of each Nix version this project tests against, for the unit tests:
#   test/fixtures/nix-samples/nix-<version>/   one folder per version (2.8, 2.26, 2.34)
# from the small flakes in test/fixtures/nix-samples/flakes/ (no network: their only input is a
# local git flake standing in for nixpkgs, so an error inside an input is real).
#
# Each version runs in a private mount namespace with a fresh, empty /nix and /tmp of its own
# (tmpfs), so no version ever opens the machine's store and the store paths in the samples are
# the same on every machine. Needs root; the newer versions come from scripts/nix-versions.sh.
# Usage: scripts/capture-nix-samples.sh [2.8|2.26|2.34 ...]   (default: all three)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
samples=$top/test/fixtures/nix-samples

if [ "${1:-}" = "--inside" ]; then
  # Inside the namespace: $2 is the folder holding `nix` ("" for the system's), $3 the output folder.
  bindir=$2 out=$3
  mount -t tmpfs tmpfs /nix
  mount -t tmpfs tmpfs /tmp
  [ -z "$bindir" ] || export PATH="$bindir:$PATH"
  export HOME=/tmp/home XDG_CACHE_HOME=/tmp/home/.cache GIT_CONFIG_NOSYSTEM=1
  mkdir -p "$HOME"
  export NIX_CONFIG="experimental-features = nix-command flakes
sandbox = false
substituters =
warn-dirty = false
build-users-group ="
  # Fixed authors and dates: the same commits, hence the same revisions, on every run.
  export GIT_AUTHOR_NAME=samples GIT_AUTHOR_EMAIL=samples@example.org GIT_COMMITTER_NAME=samples \
    GIT_COMMITTER_EMAIL=samples@example.org GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
    GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
  rm -rf "$out" && mkdir -p "$out"
  nix --version >"$out/version.txt"
  mkdir -p /tmp/flakes
  for f in "$samples"/flakes/*/; do
    name=$(basename "$f")
    cp -r "$f" "/tmp/flakes/$name"
    git -C "/tmp/flakes/$name" init -q -b main
    git -C "/tmp/flakes/$name" add -A
    git -C "/tmp/flakes/$name" commit -q -m "$name"
  done
  # One case: <name> <flake folder> argv…; writes <name>.stdout, <name>.stderr, and a line of
  # commands.tsv (name, exit code, argv).
  capture() {
    local name=$1 dir=$2
    shift 2
    local rc=0
    (cd "/tmp/flakes/$dir" && "$@") >"$out/$name.stdout" 2>"$out/$name.stderr" || rc=$?
    [ -s "$out/$name.stdout" ] || rm -f "$out/$name.stdout"
    [ -s "$out/$name.stderr" ] || rm -f "$out/$name.stderr"
    printf '%s\t%s\t%s\n' "$name" "$rc" "$*" >>"$out/commands.tsv"
    if [ "$rc" -ge 128 ]; then
      echo "capture-nix-samples: '$*' was killed (status $rc); nothing kept for this version" >&2
      rm -rf "$out"
      exit 1
    fi
  }
  # The input stand-in is locked first, so the user's flakes find it.
  capture lock-input-error input-error nix flake lock
  git -C /tmp/flakes/input-error add flake.lock
  git -C /tmp/flakes/input-error commit -q -m lock
  capture own-error.check own-error nix flake check --keep-going
  capture own-error.check-show-trace own-error nix flake check --keep-going --show-trace
  capture own-error.eval own-error nix eval .#nixosConfigurations.web.config.system.build.toplevel
  capture own-error.metadata own-error nix flake metadata --json
  capture own-error.archive own-error nix flake archive --json --dry-run
  capture input-error.check input-error nix flake check --keep-going
  capture input-error.check-show-trace input-error nix flake check --keep-going --show-trace
  capture input-error.metadata input-error nix flake metadata --json
  capture input-error.archive input-error nix flake archive --json --dry-run
  capture closure.build closure nix build --json --no-link .#default
  top_path=$(sed -n 's/.*"out":"\([^"]*\)".*/\1/p' "$out/closure.build.stdout" 2>/dev/null || true)
  [ -n "$top_path" ] || {
    echo "capture-nix-samples: the closure flake did not build" >&2
    exit 1
  }
  capture closure.path-info closure nix path-info --recursive --json "$top_path"
  capture closure.path-info-invalid closure nix path-info --json /nix/store/00000000000000000000000000000000-missing
  if nix path-info --help 2>/dev/null | grep -q -- '--json-format'; then
    capture closure.path-info-format-1 closure nix path-info --recursive --json --json-format 1 "$top_path"
    capture closure.path-info-format-2 closure nix path-info --recursive --json --json-format 2 "$top_path"
    capture closure.path-info-invalid-format-2 closure nix path-info --json --json-format 2 /nix/store/00000000000000000000000000000000-missing
  fi
  rm -f "$out/lock-input-error.stdout"
  exit 0
fi

[ "$(id -u)" = 0 ] || {
  echo "capture-nix-samples: needs root (a private mount namespace per version)" >&2
  exit 1
}
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.8 2.26 2.34)
for v in "${versions[@]}"; do
  case $v in
  2.8) bindir="" ;;
  2.26) bindir=$top/.nix-versions/trixie/bin ;;
  2.34) bindir=$top/.nix-versions/sid/bin ;;
  *)
    echo "capture-nix-samples: unknown version '$v' (2.8, 2.26 or 2.34)" >&2
    exit 1
    ;;
  esac
  if [ -n "$bindir" ] && [ ! -x "$bindir/nix" ]; then bash "$top/scripts/nix-versions.sh" >/dev/null; fi
  nixbin=${bindir:+$bindir/}nix
  got=$("$nixbin" --version | awk '{print $NF}')
  case $got in "$v" | "$v".*) ;; *)
    echo "capture-nix-samples: expected Nix $v, found $got" >&2
    exit 1
    ;;
  esac
  unshare --mount --propagation private bash "$0" --inside "$bindir" "$samples/nix-$v"
  echo "captured Nix $got into test/fixtures/nix-samples/nix-$v"
done
