#!/usr/bin/env bash
# The fresh-machine check (CI runs it): the README's two commands, `npm run demo` and `npm test`,
# on an emulated fresh Debian machine where Debian's nix-bin was just installed and never run, from
# a fresh clone of the commit under test (HEAD).
#
#   bash scripts/fresh-machine-check.sh [args for `npm test`]   (as root; default: the deploy tests)
#   NDA_FRESH_COMMIT=<rev> bash scripts/fresh-machine-check.sh   (another commit than HEAD)
#
# The emulated machine is this machine's root seen through an overlay (a tmpfs above, `/` below), in
# a private mount and PID namespace, entered with pivot_root. In it:
#   - /nix and /etc/nix do not exist (hidden by the overlay, if this machine has them);
#   - no `nixbld` group and no nixbld users (removed from the overlay's /etc/group, /etc/gshadow,
#     /etc/passwd, /etc/shadow);
#   - /root, /tmp and /run are fresh and empty (no npm cache, no git identity, no node_modules);
#   - the repository is a fresh `git clone` of HEAD in /root: only what git tracks.
# Every write lands in the tmpfs and every process dies with the PID namespace, so nothing reaches
# this machine; the check compares /nix, /etc/nix and the user and group files before and after,
# and fails if they changed. The network is this machine's (the npm registry; hosts on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'fresh-machine check: %s\n' "$*" >&2; }

if [ -z "${NDA_FRESH_STAGE:-}" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "needs root (mount and PID namespaces, overlay, pivot_root)."
    exit 1
  fi
  for tool in unshare pivot_root git node npm; do
    command -v "$tool" >/dev/null 2>&1 || { say "needs $tool, which is missing."; exit 1; }
  done
  # The emulated machine has Nix 2.8 from Debian's nix-bin (installed, never run).
  command -v nix >/dev/null 2>&1 || { say "needs Debian's nix-bin installed (apt-get install --no-install-recommends nix-bin)."; exit 1; }

  machine_state() {
    for p in /nix /etc/nix; do
      if [ -e "$p" ]; then echo "$p: $(stat -c '%F %a %U:%G' "$p"): $(ls -A "$p" | tr '\n' ' ')"; else echo "$p: absent"; fi
    done
    sha256sum /etc/group /etc/gshadow /etc/passwd /etc/shadow 2>&1
  }
  commit=$(git rev-parse --verify "${NDA_FRESH_COMMIT:-HEAD}^{commit}")
  if [ -z "${NDA_FRESH_COMMIT:-}" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    say "note: the work tree has uncommitted changes; the check runs the commit $commit only."
  fi
  before=$(machine_state)
  stage=$(mktemp -d /tmp/nda-fresh-machine.XXXXXX)
  trap 'rmdir "$stage" 2>/dev/null || true' EXIT
  say "commit $commit, on an overlay of this machine with no /nix, no /etc/nix, no nixbld group."
  started=$(date +%s)
  status=0
  NDA_FRESH_STAGE=$stage NDA_FRESH_REPO=$PWD NDA_FRESH_COMMIT=$commit \
    unshare --mount --pid --fork --propagation private -- bash "$0" "$@" || status=$?
  after=$(machine_state)
  if [ "$before" != "$after" ]; then
    say "FAILED: the check changed this machine:"
    diff <(echo "$before") <(echo "$after") >&2 || true
    status=1
  fi
  if [ "$status" -eq 0 ]; then
    say "passed in $(($(date +%s) - started)) s; /nix, /etc/nix and the user and group files are as before."
  else
    say "FAILED (exit $status) after $(($(date +%s) - started)) s."
  fi
  exit "$status"
fi

# --- Inside the private mount and PID namespaces (this shell is PID 1 there). ---
stage=$NDA_FRESH_STAGE
mount -t tmpfs -o size=12g,mode=0700 nda-fresh-machine "$stage"
mkdir "$stage/upper" "$stage/work" "$stage/root" "$stage/upper/etc"
# Overlay whiteouts (character devices 0:0) in the upper layer: /nix and /etc/nix do not exist.
mknod "$stage/upper/nix" c 0 0
mknod "$stage/upper/etc/nix" c 0 0
chmod 0755 "$stage/upper/etc"
root=$stage/root
mount -t overlay nda-fresh-machine -o "lowerdir=/,upperdir=$stage/upper,workdir=$stage/work" "$root"
[ ! -e "$root/nix" ] && [ ! -e "$root/etc/nix" ] || { say "the overlay still shows /nix or /etc/nix."; exit 1; }

# No nixbld group and no build users: what nix-bin without nix-setup-systemd leaves.
sed -i '/^nixbld[0-9]*:/d' "$root/etc/group" "$root/etc/gshadow" "$root/etc/passwd" "$root/etc/shadow"

mount -t tmpfs -o mode=0700 fresh-root "$root/root"
mount -t tmpfs -o mode=1777 fresh-tmp "$root/tmp"
mount -t tmpfs -o mode=0755 fresh-run "$root/run"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"

# The commit under test, cloned fresh: what git tracks, nothing else.
clone=$root/root/nix-deploy-action
git clone --quiet --no-hardlinks --no-checkout "$NDA_FRESH_REPO" "$clone"
git -C "$clone" -c advice.detachedHead=false checkout --quiet --detach "$NDA_FRESH_COMMIT"
if [ -n "$(git -C "$clone" status --porcelain --ignored)" ] || [ -e "$clone/node_modules" ]; then
  say "the fresh clone holds files git does not track."
  exit 1
fi

mkdir "$root/.fresh-machine-old-root"
cd "$root"
pivot_root . .fresh-machine-old-root
umount -l /.fresh-machine-old-root
rmdir /.fresh-machine-old-root
cd /root/nix-deploy-action

getent group nixbld >/dev/null && { say "the emulated machine still has a nixbld group."; exit 1; }
[ $# -gt 0 ] || set -- test/integration/deploy.test.ts

# A login's environment, nothing inherited from this shell but CI.
run() {
  say "\$ $*"
  env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ${CI:+CI=$CI} "$@"
}
run npm run demo
run npm test -- "$@"
