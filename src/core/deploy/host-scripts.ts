/**
 * The shell scripts the deploy runs on a host. Each is a constant of the suite: nothing from an
 * input or the flake is ever pasted into them. Values reach them only as positional arguments
 * ($1, $2, …), each quoted for the remote shell by `remoteScript`.
 *
 * State lives in /run/nix-deploy (tmpfs: gone at reboot, like the generation it guards):
 *   lock, lock.info                 the host lock (flock) and who holds it
 *   armed-ID, deadline-ID           when the watchdog was armed, and the current deadline (epoch s)
 *   beats-ID                        the heartbeats received: "<count> <epoch s of the last one>"
 *   confirm-ID                      the deployment was confirmed: the watchdog stands down
 *   switch-ID.log/.exit/.end        a detached activation's output, exit code and end time
 *   rollback-ID.log/.exit           the watchdog's rollback, when it fired
 *   watchdog-ID.pid, wd-ID.lock     the detached watchdog, and the lock that orders it with confirm
 *
 * Processes that must outlive the SSH connection (the watchdog, the activation) run as transient
 * systemd units where systemd runs (they leave the session's cgroup, as nixos-rebuild does for
 * switch-to-configuration), with the session's PATH (a unit's default PATH lacks
 * /run/current-system/sw/bin, where nix-env lives), or `setsid` detached processes elsewhere.
 *
 * Their scripts reach the unit as FILES (watchdog-ID.sh, switch-ID.sh in the root-only state dir),
 * never inside the unit's command line: systemd expands `${…}` in ExecStart itself before any
 * shell sees it (systemd 252 turned `${cur#system-}` into an empty string), and a transient unit
 * whose ExecStart holds a multi-line script fails to load again on every daemon-reload ("Invalid
 * section header", LoadState error). `systemd-run --expand-environment=no` would need systemd
 * 254+. The unit's command line is `/bin/sh <file> <args>`: the args are the state dir, the deploy
 * id, numbers, store paths and fixed words (no `$`, `%` or newline), one line in the unit.
 */

export const STATE_DIR = '/run/nix-deploy'
export const SYSTEM_PROFILE = '/nix/var/nix/profiles/system'

/**
 * Shell function: points the system profile back at the previous generation's own link (the
 * exact previous generation, same number) and deletes the failed generation the deploy made;
 * without a usable link, sets the profile to the previous store path (a new generation).
 * $1 previous toplevel, $2 previous generation link name (system-N-link, may be empty),
 * $3 "delete" to delete the generation being left (a failed deploy's).
 */
const RESTORE_PROFILE = `
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`

/** What the host runs now: key=value lines. */
const PROBE_FN = `
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${SYSTEM_PROFILE} 2>/dev/null || true)
  prof=$(readlink -f ${SYSTEM_PROFILE} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  wreal=; if [ "$want" = yes ]; then wreal=$(readlink -f "$want_path" 2>/dev/null || true); fi
  spec=
  if [ -n "$cur" ] && [ -n "$prof" ] && [ "$cur" != "$prof" ] && [ -d "$prof/specialisation" ]; then
    for s in "$prof"/specialisation/*; do
      if [ "$(readlink -f "$s" 2>/dev/null)" = "$cur" ]; then spec=\${s##*/}; break; fi
    done
  fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\nwanted-real=%s\\nspecialisation=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act" "$wreal" "$spec"
}
`

export const PROBE =
  PROBE_FN +
  `
probe_state "$1"
`

/**
 * Takes the host lock and holds it while this SSH session lives: the runner keeps the session's
 * input open and closes it when done. If the runner dies, the connection drops, \`cat\` ends and
 * the kernel releases the lock: a lock cannot outlive its holder. $3 caps its life in seconds.
 * Once it holds the lock it prints the host's state, as PROBE does (what to come back to, read
 * under the lock). $1 state dir, $2 holder description, $3 max seconds, $4 the wanted store path.
 */
export const LOCK =
  PROBE_FN +
  `
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`

/**
 * The watchdog: unless confirmed, restores the previous generation once the deadline passes.
 * Deadline: the one the runner last wrote (deadline-ID), else the activation's end + confirm
 * timeout, else the arming time + activation timeout + confirm timeout.
 * $1 state dir, $2 id, $3 confirm timeout, $4 previous toplevel ('' when none), $5 mode,
 * $6 activation timeout, $7 the previous generation's link name, $8 the system that link's
 * profile holds when $4 is one of its specialisations ('' : $4 itself).
 */
export const WATCHDOG =
  RESTORE_PROFILE +
  `
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "\${8:-$4}" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`

/**
 * Arms the watchdog. $1 state dir, $2 id, $3 confirm timeout, $4 previous, $5 mode,
 * $6 activation timeout, $7 the watchdog script, $8 the previous generation's link name, $9 the
 * system of that generation when $4 is one of its specialisations ('' otherwise).
 * The script is written to $d/watchdog-$id.sh (root only) and run from there: see the top of
 * this file for why it must not travel inside the unit.
 */
export const ARM = `
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s\n' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" "$9" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" "$9" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`

/**
 * Sets the system profile (unless $5 is "no") and runs the toplevel's switch-to-configuration as
 * a process that outlives this connection, then waits for it and replays its output.
 * $1 state dir, $2 id, $3 toplevel, $4 action, $5 profile: set (a new generation), keep, or
 * restore (back to the generation link $7), $6 timeout seconds, $8 what to activate ('' : the
 * toplevel; else a specialisation of it, \`<toplevel>/specialisation/<name>\`, while the profile
 * gets the toplevel, as nixos-rebuild --specialisation does), $9 NIXOS_INSTALL_BOOTLOADER ('1' or
 * '', as nixos-rebuild --install-bootloader passes it to switch-to-configuration).
 */
export const ACTIVATE =
  RESTORE_PROFILE +
  `
d=$1; id=$2; top=$3; act=$4; run=\${8:-$3}; ib=\${9:-}
[ -x "$run/bin/switch-to-configuration" ] || { echo "nix-deploy: $run has no bin/switch-to-configuration" >&2; exit 94; }
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${SYSTEM_PROFILE} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${SYSTEM_PROFILE} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s\n' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" --setenv=NIXOS_INSTALL_BOOTLOADER="$ib" -- /bin/sh "$job" "$run" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  NIXOS_INSTALL_BOOTLOADER="$ib" setsid /bin/sh "$job" "$run" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
` +
  WAIT_BODY()

function WAIT_BODY(): string {
  return `
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`
}

/**
 * Whether a toplevel has the specialisation $2: prints "found", or "missing" and the names it
 * has, one per line ("has <name>"). $1 toplevel, $2 name (validated: no '/').
 */
export const SPECIALISATION = `
if [ -x "$1/specialisation/$2/bin/switch-to-configuration" ]; then echo found; exit 0; fi
echo missing
for s in "$1"/specialisation/*; do [ -e "$s" ] && printf 'has %s\\n' "\${s##*/}"; done
exit 0
`

/** Waits for an activation started earlier (after a dropped connection). Same arguments as ACTIVATE. */
export const WAIT_ACTIVATION =
  `
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
` + WAIT_BODY()

/**
 * The dead-man switch's heartbeat: each line the runner sends pushes the watchdog's deadline to
 * now + $3 (confirm-timeout) and is answered "nix-deploy-beat <line>". The count and time of the
 * last beat go to beats-ID ("<count> <epoch s>"). Ends when the input ends (the runner stopped
 * or died, the connection dropped), when the deploy is confirmed, or when the watchdog fired
 * ("nix-deploy-fired", exit 92). $1 state dir, $2 id, $3 confirm timeout.
 */
export const HEARTBEAT = `
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`

/**
 * Confirms the deployment: the watchdog stands down. Fails (92) when the watchdog already fired.
 * $1 state dir, $2 id.
 */
export const CONFIRM = `
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`

/**
 * Stands the watchdog down without confirming (the runner rolls back itself) and says whether it
 * had already fired: prints "fired <exit code or running>" or "disarmed". $1 state dir, $2 id.
 */
export const DISARM = `
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`

/** The watchdog's rollback log and exit code, when it fired. $1 state dir, $2 id. */
export const WATCHDOG_STATE = `
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`

/** The system profile's generations: "<number> <store path>" lines. */
export const GENERATIONS = `
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`

/**
 * What a host runs and what it booted, for the drift report: `current=`, `booted=` (the store
 * paths /run/current-system and /run/booted-system resolve to, empty when missing) and, for each
 * of them, `<side>-kernel=`, `<side>-initrd=`, `<side>-modules=` (the kernel, initrd and kernel
 * modules that system boots), so the runner can tell whether a reboot would change anything.
 */
export const SYSTEMS = `
for side in current booted; do
  p=$(readlink -f "/run/$side-system" 2>/dev/null || true)
  [ -n "$p" ] && [ -e "$p" ] || p=
  printf '%s=%s\\n' "$side" "$p"
  for part in kernel initrd kernel-modules; do
    v=
    if [ -n "$p" ]; then v=$(readlink -f "$p/$part" 2>/dev/null || true); fi
    printf '%s-%s=%s\\n' "$side" "$part" "$v"
  done
done
`

/**
 * Reboots the host a second from now, detached, so this SSH command returns first.
 * `systemctl reboot` where systemd runs (NixOS), `reboot` elsewhere.
 */
export const REBOOT = `
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`
