/**
 * Simulated hosts that boot systemd (systemd as PID 1), for the fleet harness (`init: 'systemd'`).
 *
 * Each host is a Debian systemd booted by `systemd-nspawn --boot` (Debian's systemd-container) on
 * an overlay root: the machine's `/` is the read-only lower layer and a tmpfs the upper one, so
 * nothing the host writes (its tmpfiles cleaning, journal, /var) ever reaches the machine. All of
 * it happens inside a private mount namespace held by an "anchor" process: the tmpfs, the overlay
 * and the tmpfs nspawn needs on /run/systemd/nspawn never appear in the machine's mount table.
 * The host gets its own /nix (`--bind=<host dir>/nix:/nix`), its own empty /root and its
 * simulation settings (/etc/sim-host: address, sshd config and keys, the boot script).
 *
 * Networking: the container shares the machine's network namespace (no --private-network); its
 * sshd (the unit sim-sshd.service, KillMode=process as NixOS's sshd) and the fixture's health
 * endpoint listen only on the host's own loopback address (127.A.B.x, A.B random per fleet), so
 * parallel fleets and the machine's own services never collide. Units of the machine's own that
 * would listen or touch anything (ssh, postgresql, timers, getty) are masked or not enabled.
 *
 * Boot: sim-host.service (in the image) copies the settings to /run/sim and activates the boot
 * default (/var/lib/sim/boot-system, set by the fixture's `switch`/`boot`), as NixOS's stage 2
 * activates the generation it booted. `systemctl reboot` inside ends nspawn with exit 133; the
 * anchor then boots it again on the same overlay and /nix (a disk that survives reboots), with a
 * fresh /run and a new boot id (nspawn gives each boot its own).
 *
 * Clean-up: the anchor watches the test process. When it dies (or `shutdown()` asks), the anchor
 * kills the container's PID 1 (which ends every process of its PID namespace), then everything in
 * its own mount namespace; the mounts vanish with the namespace.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { run } from '../../src/core/process.js'

/** Units of the machine's image that a simulated host must not run (they listen or change things). */
const MASKED = [
  'ssh.service',
  'ssh.socket',
  'sshd.service',
  'postgresql.service',
  'postgresql@.service',
  'getty@.service',
  'console-getty.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'man-db.timer',
  'e2scrub_all.timer',
  'fstrim.timer',
  'cron.service',
  'systemd-timesyncd.service',
  'systemd-networkd.service',
  'systemd-resolved.service',
  'networking.service'
]

/**
 * The anchor (run by `unshare --mount --propagation private`): overlay root, image, then boots
 * nspawn, again after each reboot (exit 133), until told to stop or its owner dies.
 * $1 host dir, $2 owner pid, $3 machine uuid (32 hex).
 */
const ANCHOR_SCRIPT = `
set -e
h=$1; owner=$2; uuid=$3
R=$h/rootfs
mount -t tmpfs -o mode=755 tmpfs "$h/upper"
mkdir -p "$h/upper/u" "$h/upper/w"
mount -t overlay overlay -o "lowerdir=/,upperdir=$h/upper/u,workdir=$h/upper/w" "$R"
mkdir -p /run/systemd/nspawn
mount -t tmpfs -o mode=755 tmpfs /run/systemd/nspawn
# The machine's enabled units stay off; the image's own settings go on top.
rm -rf "$R"/etc/systemd/system/*.wants
cp -a --remove-destination "$h/image/." "$R/"
set +e
echo $$ > "$h/anchor.pid.tmp" && mv "$h/anchor.pid.tmp" "$h/anchor.pid"
# The owner watch: when the test process dies, end the container.
(
  while kill -0 "$owner" 2>/dev/null && [ ! -e "$h/stop" ]; do sleep 1; done
  touch "$h/stop"
  i=$(cat "$h/init.pid" 2>/dev/null) && [ -n "$i" ] && kill -9 "$i" 2>/dev/null
) &
# A cgroup of its own for each container (in every hierarchy where systemd tracks units): without
# it, every container's systemd would manage one shared tree, and "systemctl stop x.service" in
# one host would kill x.service's processes in every other host (of any fleet). Writing 0 to
# cgroup.procs moves the writing process (this subshell, then nspawn, which it becomes).
cg=nix-deploy-sim-$uuid
cgroups=
for hier in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
  [ -e "$hier/cgroup.procs" ] && cgroups="$cgroups $hier/$cg"
done
drop_cgroups() {
  for c in $cgroups; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done
}
boots=0
while [ ! -e "$h/stop" ]; do
  rm -f "$h/init.pid"
  boots=$((boots + 1))
  drop_cgroups
  (
    for c in $cgroups; do
      mkdir -p "$c" && echo 0 > "$c/cgroup.procs" || { echo "nix-deploy-sim: no cgroup of its own ($c)"; exit 1; }
    done
    exec systemd-nspawn --quiet --keep-unit --register=no --link-journal=no --console=passive \\
    --uuid="$uuid" --directory="$R" --boot \\
    --bind="$h/nix:/nix" --bind="$h/home:/root" --bind="$h/sim:/etc/sim-host"
  ) >>"$h/nspawn.log" 2>&1 &
  np=$!
  # The container's PID 1: nspawn's child in a PID namespace of its own.
  me=$(readlink /proc/$$/ns/pid)
  n=0
  while kill -0 "$np" 2>/dev/null && [ $n -lt 600 ]; do
    for c in $(cat /proc/$np/task/*/children 2>/dev/null); do
      if [ "$(readlink /proc/$c/ns/pid 2>/dev/null)" != "$me" ] && [ "$(cat /proc/$c/comm 2>/dev/null)" = systemd ]; then
        echo "$c" > "$h/init.pid.tmp" && mv "$h/init.pid.tmp" "$h/init.pid"
        break 2
      fi
    done
    sleep 0.05; n=$((n + 1))
  done
  wait "$np"; rc=$?
  echo "nix-deploy-sim: boot $boots ended with exit $rc" >>"$h/nspawn.log"
  # 133: the container asked for a reboot.
  [ $rc -eq 133 ] || break
done
touch "$h/stop"
rm -f "$h/init.pid"
drop_cgroups
me=$(readlink /proc/$$/ns/mnt)
for p in /proc/[0-9]*; do
  pid=\${p#/proc/}
  [ "$pid" = "$$" ] && continue
  [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$me" ] && kill -9 "$pid" 2>/dev/null
done
exit 0
`

/** The boot-time activation of the boot default (sim-host.service). */
const BOOT_SCRIPT = `#!/bin/sh
mkdir -p /run/sim
cp /etc/sim-host/address /etc/sim-host/hostname /run/sim/
boot=$(readlink -f /var/lib/sim/boot-system 2>/dev/null)
if [ -n "$boot" ] && [ -x "$boot/bin/switch-to-configuration" ]; then
  "$boot/bin/switch-to-configuration" test >/run/sim/boot.log 2>&1
  echo "$?" >/run/sim/boot.exit
fi
exit 0
`

const SIM_HOST_UNIT = `[Unit]
Description=Simulated host: activate the boot default
After=basic.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/sim-host/boot.sh

[Install]
WantedBy=multi-user.target
`

/** The host's sshd, as NixOS runs it: KillMode=process, so open sessions outlive a stop. */
const SIM_SSHD_UNIT = `[Unit]
Description=SSH Daemon (simulated host)

[Service]
ExecStart=/usr/sbin/sshd -D -f /etc/sim-host/sshd_config
RuntimeDirectory=sshd
RuntimeDirectoryPreserve=yes
KillMode=process
Restart=no

[Install]
WantedBy=multi-user.target
`

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

export interface SystemdHostFiles {
  /** nix.conf for the host. */
  nixConf: string
  /** sshd_config text (paths under /etc/sim-host). */
  sshdConfig: string
}

/** Prepares the image a systemd host boots: units, masks, nix.conf, hostname. */
export async function prepareSystemdHost(
  dir: string,
  name: string,
  address: string,
  files: SystemdHostFiles
): Promise<void> {
  for (const sub of ['nix/store', 'nix/var/nix', 'upper', 'rootfs', 'home', 'sim']) {
    await fs.mkdir(join(dir, sub), { recursive: true, mode: 0o755 })
  }
  await fs.chmod(join(dir, 'home'), 0o700)
  const image = join(dir, 'image')
  const units = join(image, 'etc/systemd/system')
  await fs.mkdir(join(units, 'multi-user.target.wants'), { recursive: true })
  await fs.mkdir(join(image, 'etc/nix'), { recursive: true })
  await fs.mkdir(join(image, 'var/lib/sim'), { recursive: true })
  for (const u of MASKED) await fs.symlink('/dev/null', join(units, u))
  await fs.writeFile(join(units, 'sim-host.service'), SIM_HOST_UNIT)
  await fs.writeFile(join(units, 'sim-sshd.service'), SIM_SSHD_UNIT)
  for (const u of ['sim-host.service', 'sim-sshd.service'])
    await fs.symlink(`../${u}`, join(units, 'multi-user.target.wants', u))
  await fs.writeFile(join(image, 'etc/nix/nix.conf'), files.nixConf)
  await fs.writeFile(join(image, 'etc/hostname'), name + '\n')
  await fs.writeFile(join(dir, 'sim/address'), address + '\n')
  await fs.writeFile(join(dir, 'sim/hostname'), name + '\n')
  await fs.writeFile(join(dir, 'sim/boot.sh'), BOOT_SCRIPT, { mode: 0o755 })
  await fs.writeFile(join(dir, 'sim/sshd_config'), files.sshdConfig)
}

/**
 * One booted container. `exec` enters all of its namespaces (`nsenter -a`) through its current
 * PID 1, read afresh each time (a reboot makes a new one).
 */
export class Container {
  anchorPid = 0
  readonly uuid = randomBytes(16).toString('hex')

  constructor(
    readonly name: string,
    readonly dir: string
  ) {}

  async initPid(): Promise<number | null> {
    try {
      const pid = Number((await fs.readFile(join(this.dir, 'init.pid'), 'utf8')).trim())
      return pid > 0 ? pid : null
    } catch {
      return null
    }
  }

  /** Starts the anchor (and so the first boot). Resolves once the anchor runs. */
  async start(ownerPid: number): Promise<void> {
    const anchor = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        ANCHOR_SCRIPT,
        'anchor',
        this.dir,
        String(ownerPid),
        this.uuid
      ],
      { detached: true, stdio: 'ignore' }
    )
    anchor.unref()
    let exited = false
    anchor.once('exit', () => {
      exited = true
    })
    if (!anchor.pid) throw new Error(`fleet: could not start the container of ${this.name}`)
    this.anchorPid = anchor.pid
    const pidFile = join(this.dir, 'anchor.pid')
    for (let i = 0; ; i++) {
      if (exited)
        throw new Error(`fleet: the container of ${this.name} failed to start (overlay root)`)
      try {
        await fs.access(pidFile)
        break
      } catch {
        if (i > 400) throw new Error(`fleet: the container of ${this.name} did not start`)
        await sleep(50)
      }
    }
  }

  /** Waits until systemd in the container has finished booting (multi-user.target active). */
  async waitBooted(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const pid = await this.initPid()
      if (pid) {
        const r = await run(
          ['nsenter', '-t', String(pid), '-a', 'systemctl', 'is-system-running', '--wait'],
          { timeoutMs: 60_000, check: false }
        )
        const state = r.stdout.trim()
        if (state === 'running' || state === 'degraded') {
          const t = await run(
            ['nsenter', '-t', String(pid), '-a', 'systemctl', 'is-active', 'multi-user.target'],
            { timeoutMs: 30_000, check: false }
          )
          if (t.stdout.trim() === 'active') return
        }
      }
      if (Date.now() > deadline) {
        const log = await fs.readFile(join(this.dir, 'nspawn.log'), 'utf8').catch(() => '')
        throw new Error(
          `fleet: ${this.name} did not reach multi-user.target in ${timeoutMs} ms; nspawn said: ${log.slice(-2000)}`
        )
      }
      await sleep(200)
    }
  }

  /** Ends the container and its anchor; nothing of it remains mounted or running. */
  async shutdown(): Promise<void> {
    await fs.writeFile(join(this.dir, 'stop'), '').catch(() => undefined)
    const init = await this.initPid()
    if (init) {
      try {
        process.kill(init, 'SIGKILL')
      } catch {
        /* gone already */
      }
    }
    if (!this.anchorPid) return
    // The anchor ends by itself once nspawn ends; wait for it (it reaps its namespace).
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(this.anchorPid, 0)
      } catch {
        this.anchorPid = 0
        return
      }
      const stat = await fs.readFile(`/proc/${this.anchorPid}/stat`, 'utf8').catch(() => '')
      if (stat === '' || / [ZX] /.test(stat.slice(stat.lastIndexOf(')')))) break
      await sleep(50)
    }
    this.anchorPid = 0
  }
}
