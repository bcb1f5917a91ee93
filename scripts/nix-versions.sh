#!/usr/bin/env bash
# Installs today's Nix from Debian's own packages into private prefixes, next to the system's
# Nix 2.8, without touching the system's packages:
#   .nix-versions/trixie   Nix 2.26 (Debian 13)
#   .nix-versions/sid      Nix 2.34 (Debian unstable)
# Each prefix gets bin/ with nix and the nix-* links (they dispatch on their name) and a nix/ folder
# that the test runner binds over /nix, so a newer Nix never opens the 2.8 store.
# Usage: scripts/nix-versions.sh [suite...]   (default: trixie sid). Safe to run again.
# Prints one line per suite: "<suite> <prefix> <version>".
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)

# patchelf, and Debian's archive key (already there on Debian; a package of its own on Ubuntu).
need=()
command -v patchelf >/dev/null 2>&1 || need+=(patchelf)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The machine's own Debian mirror: the first stanza of its deb822 sources (or the first deb line);
# on another distribution (GitHub's Ubuntu runners), Debian's own mirror.
source_stanza() {
  local suite=$1
  local id
  id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
  if [ "$id" != debian ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$suite"
  elif [ -f /etc/apt/sources.list.d/debian.sources ]; then
    awk 'BEGIN{RS="";ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources |
      sed -e "s/^Suites:.*/Suites: $suite/" -e 's/^Components:.*/Components: main/'
  else
    local uri
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "${uri:-http://deb.debian.org/debian}" "$suite"
  fi
}

install_suite() {
  local suite=$1
  local R=$top/.nix-versions/$suite
  local A=$R/apt
  local arch
  arch=$(dpkg --print-architecture)
  local triplet
  triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
  if [ -x "$R/bin/nix" ] && "$R/bin/nix" --version >/dev/null 2>&1; then
    echo "$suite $R $("$R/bin/nix" --version | awk '{print $NF}')"
    return
  fi
  rm -rf "$R"
  mkdir -p "$A/etc/apt/sources.list.d" "$A/etc/apt/preferences.d" "$A/var/lib/apt/lists/partial" \
    "$A/var/cache/apt/archives/partial" "$R/root" "$R/nix"
  source_stanza "$suite" >"$A/etc/apt/sources.list.d/$suite.sources"
  : >"$A/status"
  local O=(-o "Dir=$A" -o "Dir::State::status=$A/status" -o Debug::NoLocking=1 -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
  apt-get "${O[@]}" update -qq >"$A/update.log" 2>&1 || {
    cat "$A/update.log" >&2
    echo "error: could not read Debian's $suite package lists" >&2
    exit 1
  }
  apt-get "${O[@]}" install --download-only -y -qq --no-install-recommends nix-bin >"$A/install.log" 2>&1 || {
    cat "$A/install.log" >&2
    echo "error: could not download nix-bin from Debian $suite" >&2
    exit 1
  }
  for d in "$A"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$d" "$R/root"; done
  local L=$R/root/usr/lib/$triplet
  local loader
  loader=$(ls "$L"/ld-linux*.so.* 2>/dev/null | head -n 1 || true)
  [ -n "$loader" ] || loader=$(ls "$R"/root/lib*/ld-linux*.so.* "$R"/root/usr/lib*/ld-linux*.so.* 2>/dev/null | head -n 1)
  mkdir -p "$R/bin"
  cp "$R/root/usr/bin/nix" "$R/bin/nix"
  patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$L:$R/root/lib/$triplet" "$R/bin/nix"
  for n in nix-build nix-channel nix-collect-garbage nix-copy-closure nix-env nix-hash nix-instantiate \
    nix-prefetch-url nix-shell nix-store nix-daemon; do
    ln -sf nix "$R/bin/$n"
  done
  rm -rf "$A/var/cache/apt/archives"
  echo "$suite $R $("$R/bin/nix" --version | awk '{print $NF}')"
}

for s in "${suites[@]}"; do install_suite "$s"; done
