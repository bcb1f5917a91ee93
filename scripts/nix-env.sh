# Sourced by the test, demo and bench scripts: Nix configured for this offline machine, from the one
# definition in scripts/nix-offline.conf (set NDA_KEEP_NIX_CONFIG=1 to keep a NIX_CONFIG of your own).
# Sourced from bash (any directory) or from npm's sh (the repository's root).
if [ -z "${NDA_KEEP_NIX_CONFIG:-}" ]; then
  nda_conf=scripts/nix-offline.conf
  if [ -n "${BASH_VERSION:-}" ]; then nda_conf="$(dirname "${BASH_SOURCE[0]}")/nix-offline.conf"; fi
  NIX_CONFIG="$(grep -v '^[[:space:]]*\(#\|$\)' "$nda_conf")" || return 1
  export NIX_CONFIG
  unset nda_conf
fi
# Root's ~/.bashrc on some machines runs slow shell setup; nothing here needs it.
export GIT_CONFIG_NOSYSTEM=1
