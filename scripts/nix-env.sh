# Sourced by the test, demo and bench scripts: Nix configured for this offline machine.
# (Flakes on, no sandbox, no substituters: the public cache is unreachable and retrying it costs seconds.)
if [ -z "${NDA_KEEP_NIX_CONFIG:-}" ]; then
  export NIX_CONFIG="experimental-features = nix-command flakes
sandbox = false
substituters =
warn-dirty = false"
fi
# Root's ~/.bashrc on some machines runs slow shell setup; nothing here needs it.
export GIT_CONFIG_NOSYSTEM=1
