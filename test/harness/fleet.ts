/**
 * A simulated fleet of NixOS-like hosts on one machine, for integration tests (root only).
 *
 * Each host is a mount namespace (`unshare --mount --propagation private`) in which the host's own
 * directories are bind-mounted over `/nix` (its own store, database and profiles), `/run` (its
 * `/run/current-system`, sshd pid file, simulation state), `/root` (an empty home: root's real
 * ~/.bashrc costs ~0.8 s per SSH command) and `/etc/nix` (a nix.conf without substituters). A real
 * OpenSSH server runs in that namespace on the host's own loopback address (127.A.B.x:22, A.B
 * random per fleet so parallel fleets do not collide), so `ssh`, `nix copy --to ssh-ng://` and
 * `switch-to-configuration` over SSH act on that host only.
 *
 * A small "anchor" process holds each namespace (nsenter target) and watches the test process: if
 * the test process dies without `stop()`, the anchor kills everything in its namespace.
 *
 * With `init: 'systemd'` each host instead boots systemd as its PID 1 (systemd-nspawn on an
 * overlay root; see systemd-host.ts), reached the same way (same SimHost interface, same
 * addresses, its own /nix), so the same tests run on both kinds.
 *
 * Every host runs the Nix the test process runs (the first `nix` on its PATH: the machine's 2.8, or
 * a newer one from scripts/test-nix-versions.sh): links to it in the host's own /usr/local/sbin,
 * first on the PATH of commands run in the host and of sshd's sessions, so `nix-env`, `nix-store`
 * and ssh-ng's `nix-daemon --stdio` are that version. A host's store is written by the test
 * process too (`copyTo`, a chroot store), so it is never opened by two versions whose database
 * schemas differ.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createConnection } from 'node:net'
import { promises as fs, constants as fsConstants } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/core/process.js'
import { makeFlakeRepo as makeRepo } from './flake-repo.js'
import { NIX_CONFIG, nixEnv } from './nix-env.js'
import { Container, prepareSystemdHost } from './systemd-host.js'

/** test/fixtures/lib: the Nix library that makes NixOS-like hosts. */
export const FIXTURES_LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/lib')
/** test/fixtures/fleet: a small fleet flake (imports ../lib). */
export const FIXTURES_FLEET = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/fleet')

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface ExecOptions {
  timeoutMs?: number
  input?: string
  env?: Record<string, string | undefined>
}

export interface SimHost {
  name: string
  /** What runs as the host's PID 1: the simulation's own processes, or systemd. */
  init: HostInit
  /** The host's loopback address (sshd on port 22, health endpoint on its configured port). */
  address: string
  /** The host's directory on the machine (nix/, run/, root/, etc-nix/, ssh/). */
  dir: string
  /** Runs a command inside the host's namespace (nsenter, no SSH). Never throws on a non-zero exit. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>
  /** The store path /run/current-system resolves to on the host, or null when none. */
  currentSystem(): Promise<string | null>
  /** The store path the system profile (/nix/var/nix/profiles/system) resolves to, or null. */
  profileSystem(): Promise<string | null>
  /** The boot default (the fixture's simulated bootloader entry, set by `switch` and `boot`), or null. */
  bootSystem(): Promise<string | null>
  /** The system profile's generation numbers, ascending. */
  generations(): Promise<number[]>
  /** Whether sshd answers (an SSH banner) on the host's port 22. */
  sshAlive(): Promise<boolean>
  /** Stops the host's sshd listener (sessions already open go on). */
  stopSsh(): Promise<void>
  /** Starts the host's sshd and waits until it answers. */
  startSsh(): Promise<void>
  /** Whether a store path is valid in the host's own store. */
  hasPath(storePath: string): Promise<boolean>
  /**
   * SSH logins the host's sshd accepted so far ("Accepted publickey" lines of its own log,
   * /run/sim/sshd.log, written at LogLevel VERBOSE by the sshd the harness starts).
   */
  sshLogins(): Promise<number>
}

export interface Fleet {
  hosts: SimHost[]
  host(name: string): SimHost
  dir: string
  privateKey: string
  privateKeyPath: string
  /** known_hosts lines, one per host: `<address> ssh-ed25519 AAAA...`. */
  knownHosts: string
  knownHostsPath: string
  /** ssh options (no `ssh`, no destination) that reach every host of the fleet, strictly checked. */
  sshOptions(): string[]
  /** The same options as one string, for NIX_SSHOPTS (paths have no spaces). */
  nixSshOpts(): string
  /** `['ssh', ...options, 'root@<address>']`: append the remote command. */
  sshArgs(host: SimHost | string): string[]
  /** Copies store paths (with their closures) into a host's store, without SSH. */
  copyTo(host: SimHost | string, storePaths: string[]): Promise<void>
  /**
   * Makes `toplevel` the host's system: copies its closure into the host's store, sets the system
   * profile (a new generation) and runs its `switch-to-configuration switch` inside the host.
   * Throws when the switch fails. Returns the switch's output.
   */
  install(host: SimHost | string, toplevel: string): Promise<ExecResult>
  /** Kills every process of every host, removes the fleet's files. Idempotent. */
  stop(): Promise<void>
}

/** `none`: hosts are mount namespaces without an init; `systemd`: hosts boot systemd (PID 1). */
export type HostInit = 'none' | 'systemd'

export interface FleetOptions {
  hosts: string[]
  /** Default `none`. `systemd` needs systemd-nspawn (Debian's systemd-container). */
  init?: HostInit
  /** A directory to put the fleet in (must not be under /nix, /run, /root or /etc/nix). Default: a new temp dir. */
  dir?: string
}

/** Commands run inside a host get a clean, host-like environment (its own /etc/nix/nix.conf applies). */
const HOST_ENV: Record<string, string | undefined> = {
  NIX_CONFIG: undefined,
  NIX_REMOTE: undefined,
  NIX_PATH: undefined,
  NIX_SSHOPTS: undefined,
  HOME: '/root',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
}

/** Each host's /etc/nix/nix.conf: the same offline settings as the runner's (scripts/nix-offline.conf). */
const HOST_NIX_CONF = NIX_CONFIG + '\n'

/**
 * The anchor: bind-mounts the host's directories, records its pid, then waits for the owner (the
 * test process). If the owner dies, it kills every process in its mount namespace (the host's sshd,
 * health server, anything detached) so a crashed test run leaves nothing running.
 */
const ANCHOR_SCRIPT = `
set -e
h=$1
owner=$2
exec 2>"$h/anchor.err"
# A machine where Nix was installed but never run has no /etc/nix. The machine itself does not
# need one, so it is made in this namespace only: /etc becomes an overlay (the machine's /etc
# below, a tmpfs above) in which the mount point is created. Nothing reaches the machine's /etc.
if [ ! -d /etc/nix ]; then
  mkdir -p "$h/etc-overlay"
  mount -t tmpfs -o mode=0755 tmpfs "$h/etc-overlay"
  mkdir "$h/etc-overlay/upper" "$h/etc-overlay/work"
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$h/etc-overlay/upper,workdir=$h/etc-overlay/work" /etc
  mkdir /etc/nix
fi
mount --bind "$h/nix" /nix
mount --bind "$h/run" /run
mount --bind "$h/root" /root
mount --bind "$h/etc-nix" /etc/nix
# The host's own boot id and /usr/local/sbin (which holds its simulated \`reboot\`, first on
# root's PATH): a reboot inside the namespace can never reach the machine.
mount --bind "$h/boot_id" /proc/sys/kernel/random/boot_id
mount --bind "$h/sbin" /usr/local/sbin
[ -x /usr/local/sbin/reboot ] || exit 1
echo $$ > "$h/anchor.pid.tmp"
mv "$h/anchor.pid.tmp" "$h/anchor.pid"
set +e
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
me=$(readlink /proc/$$/ns/mnt)
for p in /proc/[0-9]*; do
  pid=\${p#/proc/}
  [ "$pid" = "$$" ] && continue
  [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$me" ] && kill -9 "$pid" 2>/dev/null
done
exit 0
`

/**
 * The simulated host's `reboot`: everything running on the host stops, /run is emptied but for
 * the machine's own settings (/run/sim, /run/sshd), the host gets a new boot id, then its boot
 * default (/run/sim/boot-system, set by switch-to-configuration switch and boot) comes up, which
 * starts its sshd and health service again. Detached, so the SSH session that asked can end.
 */
const REBOOT_SHIM = `#!/bin/sh
h=@HOSTDIR@
setsid /bin/sh -c '
  h=$1
  sleep 1
  anchor=$(cat "$h/anchor.pid")
  me=$(readlink /proc/$$/ns/mnt)
  for p in /proc/[0-9]*; do
    pid=\${p#/proc/}
    if [ "$pid" = "$$" ] || [ "$pid" = "$anchor" ]; then continue; fi
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$me" ] && kill -9 "$pid" 2>/dev/null
  done
  find /run -mindepth 1 -maxdepth 1 ! -name sim ! -name sshd -exec rm -rf {} +
  cat /proc/sys/kernel/random/uuid > /proc/sys/kernel/random/boot_id
  sleep 1
  boot=$(readlink -f /run/sim/boot-system)
  if [ -n "$boot" ]; then "$boot/bin/switch-to-configuration" test > /run/sim/boot.log 2>&1; fi
' sim-reboot "$h" </dev/null >/dev/null 2>&1 &
exit 0
`

/** The Nix commands a host gets, linked to the test process's Nix (they dispatch on their name). */
const NIX_COMMANDS = [
  'nix',
  'nix-build',
  'nix-channel',
  'nix-collect-garbage',
  'nix-copy-closure',
  'nix-daemon',
  'nix-env',
  'nix-hash',
  'nix-instantiate',
  'nix-prefetch-url',
  'nix-shell',
  'nix-store'
]

/** The folder of the first `nix` on the test process's PATH: the Nix the hosts run too. */
export async function runnerNixDir(): Promise<string> {
  for (const d of (process.env.PATH ?? '').split(':')) {
    if (!d.startsWith('/')) continue
    try {
      await fs.access(join(d, 'nix'), fsConstants.X_OK)
      return d
    } catch {
      /* not here */
    }
  }
  throw new Error('fleet: no nix on PATH')
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

async function waitFor(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe()) return
    if (Date.now() > deadline)
      throw new Error(`fleet: timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path)
    return true
  } catch {
    return false
  }
}

/** Whether an SSH server answers on address:port (reads its banner). */
export function sshBanner(address: string, port = 22, timeoutMs = 2000): Promise<boolean> {
  return new Promise(resolveBanner => {
    const socket = createConnection({ host: address, port })
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      socket.destroy()
      resolveBanner(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('data', (d: Buffer) => finish(d.toString('latin1').startsWith('SSH-')))
    socket.once('error', () => finish(false))
    socket.once('close', () => finish(false))
  })
}

/** The mount namespace id of a process (`mnt:[4026532...]`), or null when it is gone. */
async function mountNs(pid: number | string): Promise<string | null> {
  try {
    return await fs.readlink(`/proc/${pid}/ns/mnt`)
  } catch {
    return null
  }
}

/** Whether a process runs (exists and is not a zombie waiting for its reaper). */
export async function processRunning(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/**
 * An open file of mount namespace `ns`, through the first of `pids` still in it (checked after the
 * open: the process may have ended and its pid been reused in between); null when none is.
 */
async function pinNamespace(pids: number[], ns: string): Promise<fs.FileHandle | null> {
  for (const pid of pids) {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(`/proc/${pid}/ns/mnt`, 'r')
    } catch {
      continue
    }
    if ((await mountNs(pid)) === ns) return handle
    await handle.close()
  }
  return null
}

/** Pids of every process in a mount namespace. */
async function pidsInNamespace(ns: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    if ((await mountNs(entry)) === ns) pids.push(Number(entry))
  }
  return pids
}

/**
 * Kills every process in the mount namespace of `anchorPid`, whose id must be `ns` (repeatedly: a
 * dying process may have forked). The namespace is pinned by an open file of it for the whole
 * loop: a namespace's id is freed when its last process ends and handed out again at once, and
 * every `nix` run as root unshares a mount namespace of its own, so a later round would otherwise
 * SIGKILL whatever nix process (of any test on the machine) got the freed id. When the anchor is
 * gone, the id may already be someone else's: nothing is killed.
 */
async function killNamespace(anchorPid: number, ns: string): Promise<void> {
  // Only through the anchor: any other process found by the id might be in a namespace that
  // reused it.
  const pin = await pinNamespace([anchorPid], ns)
  if (!pin) return
  try {
    for (let round = 0; round < 20; round++) {
      const pids = await pidsInNamespace(ns)
      if (pids.length === 0) return
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          /* gone already */
        }
      }
      await sleep(50)
    }
  } finally {
    await pin.close()
  }
}

async function sh(argv: string[], what: string): Promise<string> {
  const r = await run(argv, { timeoutMs: 60_000, what })
  return r.stdout
}

/**
 * What both kinds of simulated host share: commands run inside the host through nsenter, its
 * systems are read there, its generations from its own /nix. A kind says how to enter it and
 * where its boot default lives.
 */
abstract class BaseHost implements SimHost {
  abstract readonly init: HostInit
  /** Where the boot default (set by switch-to-configuration switch and boot) is kept. */
  protected abstract readonly bootSystemPath: string

  constructor(
    readonly name: string,
    readonly address: string,
    readonly dir: string
  ) {}

  /** nsenter's arguments that enter the running host (before `--`). */
  protected abstract enter(): Promise<string[]>

  abstract stopSsh(): Promise<void>
  abstract startSsh(): Promise<void>
  abstract sshLogins(): Promise<number>

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await run(['nsenter', ...(await this.enter()), '--wd=/', '--', ...argv], {
      timeoutMs: opts.timeoutMs ?? 120_000,
      check: false,
      env: { ...HOST_ENV, ...(opts.env ?? {}) },
      input: opts.input,
      host: this.name
    })
    return { code: r.exitCode ?? (r.timedOut ? 124 : 128), stdout: r.stdout, stderr: r.stderr }
  }

  private async resolved(path: string): Promise<string | null> {
    const r = await this.exec(['readlink', '-e', path])
    return r.code === 0 ? r.stdout.trim() : null
  }

  currentSystem(): Promise<string | null> {
    return this.resolved('/run/current-system')
  }

  profileSystem(): Promise<string | null> {
    return this.resolved('/nix/var/nix/profiles/system')
  }

  bootSystem(): Promise<string | null> {
    return this.resolved(this.bootSystemPath)
  }

  async generations(): Promise<number[]> {
    let entries: string[]
    try {
      entries = await fs.readdir(join(this.dir, 'nix/var/nix/profiles'))
    } catch {
      return []
    }
    return entries
      .map(e => /^system-(\d+)-link$/.exec(e))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(m => Number(m[1]))
      .sort((a, b) => a - b)
  }

  sshAlive(): Promise<boolean> {
    return sshBanner(this.address)
  }

  async hasPath(storePath: string): Promise<boolean> {
    const r = await this.exec(['nix-store', '--check-validity', storePath])
    return r.code === 0
  }
}

/** A host without an init: its mount namespace, held by an anchor process; sshd started by hand. */
class Host extends BaseHost {
  readonly init: HostInit = 'none'
  protected readonly bootSystemPath = '/run/sim/boot-system'
  anchorPid = 0
  ns = ''

  get sshdConfigPath(): string {
    return '/run/sim/sshd_config'
  }

  protected async enter(): Promise<string[]> {
    if (!this.anchorPid) throw new Error(`fleet: host ${this.name} is not running`)
    return ['-t', String(this.anchorPid), '-m']
  }

  async stopSsh(): Promise<void> {
    await this.exec([
      'sh',
      '-c',
      'pid=$(cat /run/sshd.pid 2>/dev/null) && kill "$pid"; rm -f /run/sshd.pid'
    ])
    await waitFor(`sshd on ${this.name} to stop`, 10_000, async () => !(await this.sshAlive()))
  }

  async startSsh(): Promise<void> {
    const r = await this.exec(['/usr/sbin/sshd', '-f', this.sshdConfigPath, '-E', SSHD_LOG])
    if (r.code !== 0)
      throw new Error(`fleet: sshd on ${this.name} did not start: ${r.stderr.trim()}`)
    await waitFor(`sshd on ${this.name}`, 10_000, () => this.sshAlive())
  }

  async sshLogins(): Promise<number> {
    const r = await this.exec(['cat', SSHD_LOG])
    return r.stdout.split('\n').filter(l => l.includes('Accepted publickey')).length
  }
}

/** Each host's sshd log (inside its namespace; /run/sim survives a simulated reboot). */
const SSHD_LOG = '/run/sim/sshd.log'

/**
 * A host that boots systemd: commands enter all of its namespaces through its PID 1; its sshd is
 * the unit sim-sshd.service; its boot default lives on its disk (/var/lib/sim/boot-system).
 */
class SystemdHost extends BaseHost {
  readonly init: HostInit = 'systemd'
  protected readonly bootSystemPath = '/var/lib/sim/boot-system'
  readonly container: Container

  constructor(name: string, address: string, dir: string) {
    super(name, address, dir)
    this.container = new Container(name, dir)
  }

  protected async enter(): Promise<string[]> {
    const pid = await this.container.initPid()
    if (!pid) throw new Error(`fleet: host ${this.name} is not running`)
    return ['-t', String(pid), '-a']
  }

  async stopSsh(): Promise<void> {
    await this.exec(['systemctl', 'stop', 'sim-sshd.service'])
    await waitFor(`sshd on ${this.name} to stop`, 10_000, async () => !(await this.sshAlive()))
  }

  async startSsh(): Promise<void> {
    const r = await this.exec(['systemctl', 'start', 'sim-sshd.service'])
    if (r.code !== 0)
      throw new Error(`fleet: sshd on ${this.name} did not start: ${r.stderr.trim()}`)
    await waitFor(`sshd on ${this.name}`, 10_000, () => this.sshAlive())
  }

  /** Its sshd (a unit) logs to the journal. */
  async sshLogins(): Promise<number> {
    const r = await this.exec(['journalctl', '--no-pager', '-o', 'cat', '-u', 'sim-sshd.service'])
    return r.stdout.split('\n').filter(l => l.includes('Accepted publickey')).length
  }
}

function randomOctet(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1))
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  if (process.getuid?.() !== 0)
    throw new Error('fleet: the simulated fleet needs root (mount namespaces, sshd on port 22)')
  const names = opts.hosts
  if (names.length === 0 || names.length > 200)
    throw new Error('fleet: give between 1 and 200 hosts')
  for (const n of names)
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(n)) throw new Error(`fleet: bad host name '${n}'`)
  if (new Set(names).size !== names.length) throw new Error('fleet: host names must be distinct')

  const createdDir = opts.dir === undefined
  const dir = opts.dir ? resolve(opts.dir) : await fs.mkdtemp(join(tmpdir(), 'nix-deploy-fleet-'))
  for (const hidden of ['/nix', '/run', '/root', '/etc/nix']) {
    if (dir === hidden || dir.startsWith(hidden + '/'))
      throw new Error(`fleet: the fleet directory cannot be under ${hidden}`)
  }
  if (/\s/.test(dir))
    throw new Error('fleet: the fleet directory cannot contain spaces (NIX_SSHOPTS splits on them)')
  await fs.mkdir(dir, { recursive: true, mode: 0o755 })
  // Each host's store is bind-mounted onto /nix. A machine where Nix was installed but never run
  // has no /nix yet; the fleet needs the machine's own Nix anyway (it builds what the hosts run),
  // and that Nix would create /nix on its first write, so the mount point is made here, as Nix makes it.
  await fs.mkdir('/nix', { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })

  // 127.A.B.x: A.B random per fleet, x per host.
  const a = randomOctet(100, 250)
  const b = randomOctet(1, 254)
  const init = opts.init ?? 'none'
  const hosts = names.map((name, i) => {
    const address = `127.${a}.${b}.${i + 10}`
    return init === 'systemd'
      ? new SystemdHost(name, address, join(dir, name))
      : new Host(name, address, join(dir, name))
  })

  const privateKeyPath = join(dir, 'client_ed25519')
  const knownHostsPath = join(dir, 'known_hosts')
  let stopped = false

  const fleet: Fleet = {
    hosts,
    dir,
    privateKey: '',
    privateKeyPath,
    knownHosts: '',
    knownHostsPath,
    host(name: string): SimHost {
      const h = hosts.find(x => x.name === name)
      if (!h) throw new Error(`fleet: no host named '${name}'`)
      return h
    },
    sshOptions(): string[] {
      return [
        '-F',
        '/dev/null',
        '-i',
        privateKeyPath,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        `UserKnownHostsFile=${knownHostsPath}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=5',
        '-o',
        'LogLevel=ERROR'
      ]
    },
    nixSshOpts(): string {
      return fleet.sshOptions().join(' ')
    },
    sshArgs(host: SimHost | string): string[] {
      const h = typeof host === 'string' ? fleet.host(host) : host
      return ['ssh', ...fleet.sshOptions(), `root@${h.address}`]
    },
    async copyTo(host: SimHost | string, storePaths: string[]): Promise<void> {
      const h = typeof host === 'string' ? fleet.host(host) : host
      // The host's /nix is <dir>/nix: a chroot store rooted at the host's directory.
      await run(['nix', 'copy', '--no-check-sigs', '--to', `local?root=${h.dir}`, ...storePaths], {
        timeoutMs: 600_000,
        env: nixEnv(),
        what: `copying to ${h.name}`
      })
    },
    async install(host: SimHost | string, toplevel: string): Promise<ExecResult> {
      const h = typeof host === 'string' ? fleet.host(host) : host
      await fleet.copyTo(h, [toplevel])
      const set = await h.exec(['nix-env', '-p', '/nix/var/nix/profiles/system', '--set', toplevel])
      if (set.code !== 0)
        throw new Error(
          `fleet: setting the system profile on ${h.name} failed: ${set.stderr.trim()}`
        )
      const sw = await h.exec([`${toplevel}/bin/switch-to-configuration`, 'switch'])
      if (sw.code !== 0)
        throw new Error(
          `fleet: switch-to-configuration on ${h.name} exited ${sw.code}: ${sw.stderr.trim()}`
        )
      return sw
    },
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      // systemd hosts: the container's PID 1 first (it ends its PID namespace), then the anchor.
      await Promise.all(hosts.map(h => (h instanceof SystemdHost ? h.container.shutdown() : null)))
      for (const h of hosts) {
        if (h instanceof SystemdHost) continue
        // The namespace id may not be known if start failed half-way: read it from the anchor.
        const ns = h.ns || (h.anchorPid ? await mountNs(h.anchorPid) : null)
        if (ns && h.anchorPid && ns !== (await mountNs('self')))
          await killNamespace(h.anchorPid, ns)
        h.anchorPid = 0
      }
      // The bind mounts lived only in the namespaces, which are gone with their processes. Make
      // sure nothing under the fleet directory is mounted here before removing it.
      const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8')
      if (mountinfo.split('\n').some(l => l.split(' ')[4]?.startsWith(dir + '/'))) {
        throw new Error(`fleet: something is still mounted under ${dir}; not removing it`)
      }
      if (createdDir) await fs.rm(dir, { recursive: true, force: true })
      else for (const h of hosts) await fs.rm(h.dir, { recursive: true, force: true })
    }
  }

  try {
    // One client key pair per fleet.
    await sh(
      ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-client', '-f', privateKeyPath],
      'generating the client key'
    )
    const clientPub = (await fs.readFile(privateKeyPath + '.pub', 'utf8')).trim()
    fleet.privateKey = await fs.readFile(privateKeyPath, 'utf8')

    const knownLines = await Promise.all(
      hosts.map(h =>
        h instanceof SystemdHost ? startSystemdHost(h, clientPub) : startHost(h, clientPub)
      )
    )
    fleet.knownHosts = knownLines.join('\n') + '\n'
    await fs.writeFile(knownHostsPath, fleet.knownHosts, { mode: 0o644 })
    return fleet
  } catch (err) {
    await fleet.stop().catch(() => undefined)
    throw err
  }
}

/** The sshd_config of a simulated host: its own address only, the fleet's client key only. */
function sshdConfig(h: SimHost, hostKey: string, authorizedKeys: string, pidFile: string): string {
  return [
    `# sshd of simulated host ${h.name}`,
    `ListenAddress ${h.address}`,
    'Port 22',
    `HostKey ${hostKey}`,
    `PidFile ${pidFile}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'StrictModes no',
    'PrintMotd no',
    'PrintLastLog no',
    // Deployments open many connections at once (matrix jobs, health checks, nix copy).
    'MaxStartups 200:30:400',
    'MaxSessions 100',
    'Subsystem sftp internal-sftp',
    // Every accepted login is logged ("Accepted publickey …"), so tests can count them.
    'LogLevel VERBOSE',
    ''
  ].join('\n')
}

/**
 * Prepares a systemd host's image and keys, boots it, waits for multi-user.target and its sshd;
 * returns its known_hosts line.
 */
async function startSystemdHost(h: SystemdHost, clientPub: string): Promise<string> {
  await fs.mkdir(join(h.dir, 'sim'), { recursive: true })
  const hostKey = join(h.dir, 'sim/ssh_host_ed25519_key')
  await sh(
    ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `root@${h.name}`, '-f', hostKey],
    `generating ${h.name}'s host key`
  )
  await fs.writeFile(join(h.dir, 'sim/authorized_keys'), clientPub + '\n', { mode: 0o600 })
  // Inside the container, the host's sim/ folder is /etc/sim-host.
  await prepareSystemdHost(h.dir, h.name, h.address, {
    nixConf: HOST_NIX_CONF,
    sshdConfig: sshdConfig(
      h,
      '/etc/sim-host/ssh_host_ed25519_key',
      '/etc/sim-host/authorized_keys',
      '/run/sim-sshd.pid'
    )
  })
  await h.container.start(process.pid)
  await h.container.waitBooted()
  await waitFor(`sshd on ${h.name}`, 30_000, () => h.sshAlive())
  const pub = (await fs.readFile(hostKey + '.pub', 'utf8')).trim().split(/\s+/)
  return `${h.address} ${pub[0]} ${pub[1]}`
}

/** Prepares a host's directories, starts its namespace and sshd; returns its known_hosts line. */
async function startHost(h: Host, clientPub: string): Promise<string> {
  for (const sub of ['nix/store', 'nix/var/nix', 'run/sim', 'run/sshd', 'root', 'etc-nix', 'ssh']) {
    await fs.mkdir(join(h.dir, sub), { recursive: true, mode: 0o755 })
  }
  await fs.chmod(join(h.dir, 'root'), 0o700)
  await fs.mkdir(join(h.dir, 'sbin'), { recursive: true })
  await fs.writeFile(join(h.dir, 'boot_id'), randomUUID() + '\n')
  await fs.writeFile(join(h.dir, 'sbin/reboot'), REBOOT_SHIM.replace('@HOSTDIR@', h.dir), {
    mode: 0o755
  })
  const nixDir = await runnerNixDir()
  for (const name of NIX_COMMANDS) {
    if (await exists(join(nixDir, name)))
      await fs.symlink(join(nixDir, name), join(h.dir, 'sbin', name))
  }
  await fs.writeFile(join(h.dir, 'etc-nix/nix.conf'), HOST_NIX_CONF)
  const hostKey = join(h.dir, 'ssh/ssh_host_ed25519_key')
  await sh(
    ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `root@${h.name}`, '-f', hostKey],
    `generating ${h.name}'s host key`
  )
  await fs.writeFile(join(h.dir, 'ssh/authorized_keys'), clientPub + '\n', { mode: 0o600 })
  await fs.writeFile(join(h.dir, 'run/sim/address'), h.address + '\n')
  await fs.writeFile(join(h.dir, 'run/sim/hostname'), h.name + '\n')
  await fs.writeFile(
    join(h.dir, 'run/sim/sshd_config'),
    sshdConfig(h, hostKey, join(h.dir, 'ssh/authorized_keys'), '/run/sshd.pid')
  )

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
      h.dir,
      String(process.pid)
    ],
    {
      detached: true,
      stdio: 'ignore'
    }
  )
  anchor.unref()
  let anchorExited = false
  anchor.once('exit', () => {
    anchorExited = true
  })
  if (!anchor.pid) throw new Error(`fleet: could not start the namespace of ${h.name}`)
  h.anchorPid = anchor.pid
  const pidFile = join(h.dir, 'anchor.pid')
  await waitFor(`the namespace of ${h.name}`, 10_000, async () => {
    if (anchorExited) {
      const why = (await fs.readFile(join(h.dir, 'anchor.err'), 'utf8').catch(() => '')).trim()
      throw new Error(
        `fleet: the namespace of ${h.name} failed to start (its mounts): ${why || 'no message'}`
      )
    }
    return exists(pidFile)
  })
  if (Number((await fs.readFile(pidFile, 'utf8')).trim()) !== anchor.pid)
    throw new Error(`fleet: unexpected anchor pid for ${h.name}`)
  const ns = await mountNs(anchor.pid)
  if (!ns || ns === (await mountNs('self')))
    throw new Error(`fleet: ${h.name} has no mount namespace of its own`)
  h.ns = ns

  await h.startSsh()
  const pub = (await fs.readFile(hostKey + '.pub', 'utf8')).trim().split(/\s+/)
  return `${h.address} ${pub[0]} ${pub[1]}`
}

// ---------------------------------------------------------------------------------------------
// Flakes in throw-away git repositories.

export interface FlakeRepo {
  /** The repository's directory (flake ref: `git+file://<path>`, or `?dir=<sub>`). */
  path: string
  /** The revision of the first commit. */
  rev: string
  /** Writes (or, with null, deletes) files, commits them all, returns the new revision. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>
  /** Removes the repository. */
  remove(): Promise<void>
}

export interface FlakeRepoOptions {
  /** Where to create the repository (default: a new temp dir). */
  dir?: string
  /** Copy test/fixtures/lib to `lib/` (default true): flakes do `import ./lib` (or `../lib` from a subdirectory). */
  withLib?: boolean
}

/**
 * Creates a git repository holding `lib/` (the fixture library) and `files` (e.g. `flake.nix`
 * doing `import ./lib`): the async face of `makeFlakeRepo` in flake-repo.ts, the one
 * implementation.
 */
export async function makeFlakeRepo(
  files: Record<string, string>,
  opts: FlakeRepoOptions = {}
): Promise<FlakeRepo> {
  const repo = makeRepo(files, {
    withLib: opts.withLib,
    dir: opts.dir,
    prefix: 'nix-deploy-flake-'
  })
  return {
    path: repo.dir,
    rev: repo.head(),
    commit: async (changes, message) => repo.commit(changes, message),
    remove: async () => repo.remove()
  }
}

/** Builds an installable (no result link) and returns its output path. */
export async function nixBuild(installable: string, timeoutMs = 600_000): Promise<string> {
  const r = await run(['nix', 'build', '--json', '--no-link', installable], {
    timeoutMs,
    env: nixEnv(),
    what: `building ${installable}`
  })
  const parsed = JSON.parse(r.stdout) as Array<{ outputs: Record<string, string> }>
  const out = parsed[0]?.outputs.out
  if (!out) throw new Error(`nixBuild: no output path for ${installable}`)
  return out
}

/** Builds `nixosConfigurations.<host>.config.system.build.toplevel` of a flake. */
export function buildToplevel(flake: string, host: string): Promise<string> {
  return nixBuild(`${flake}#nixosConfigurations.${host}.config.system.build.toplevel`)
}

/** Evaluates a flake attribute as JSON (`apply`: a Nix function applied to it first). */
export async function nixEvalJson<T = unknown>(installable: string, apply?: string): Promise<T> {
  const argv = ['nix', 'eval', '--json', installable, ...(apply ? ['--apply', apply] : [])]
  const r = await run(argv, {
    timeoutMs: 120_000,
    env: nixEnv(),
    what: `evaluating ${installable}`
  })
  return JSON.parse(r.stdout) as T
}
