/**
 * SSH to the hosts: one private folder per run holding the key (0600) and the pinned known_hosts,
 * the ssh argv every connection uses, the NIX_SSHOPTS nix uses for `ssh-ng://`, and `remoteRun`,
 * the one way a command runs on a host: an argv list, each word quoted for the remote shell, the
 * destination after `--`, a timeout on every call, `sudo` when the user is not root.
 *
 * One connection per host: `connect(remote)` opens an OpenSSH master (ControlMaster) whose socket
 * lives in the run's private folder; from then on every command to that host, `nix copy`
 * (NIX_SSHOPTS carries the same ControlPath) and the long-lived sessions (lock, heartbeat) are
 * channels of that one login. `{ fresh: true }` asks for a connection of its own (proving that
 * the host accepts new logins). A master that went away (the connection dropped, the host
 * rebooted) is opened again on the next command. `close()` ends every master (`ssh -O exit`);
 * `closeMastersNow()` ends them at once when the step is cancelled; ControlPersist ends a master
 * whose runner was killed, a few seconds after its last channel closed.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError, hostError } from './errors.js'
import type { Logger } from './log.js'
import { run, shellQuote, type RunResult } from './process.js'
import { secrets } from './secrets.js'
import { sshDestination, nixStoreUri, type Target } from './target.js'

export type SudoMode = 'auto' | 'true' | 'false'

export interface SshSettings {
  /** Private key material (the `ssh-private-key` input); empty: ssh's own keys or agent. */
  privateKey: string
  /** known_hosts lines (the `ssh-known-hosts` input). */
  knownHosts: string
  /** `ssh-accept-new-host-keys`: trust a host's key on first contact. Never the default. */
  acceptNewHostKeys: boolean
  /** Extra ssh arguments from the workflow (`ssh-options`), trusted: the workflow author's own. */
  extraOptions: string[]
  sudo: SudoMode
  /** Seconds to wait for a connection. */
  connectTimeout: number
  /**
   * When no known hosts are given and new keys are not accepted: true uses the user's own
   * known_hosts (the terminal command); false refuses to connect (the actions).
   */
  allowUserKnownHosts?: boolean
}

/** A connection recipe for one host. */
export interface Remote {
  /** The host's name (for messages). */
  host: string
  target: Target
  /** Host-specific ssh options from the flake (already checked against an allow-list). */
  hostOptions: string[]
}

/** Seconds a master outlives its last channel (a killed runner's master ends by itself). */
export const CONTROL_PERSIST_SECONDS = 10

/** Pids of the masters this process opened, for `closeMastersNow` (a cancelled step). */
const masterPids = new Set<number>()

/** Ends every SSH master this process opened, at once (synchronous: for signal handlers). */
export function closeMastersNow(): void {
  for (const pid of masterPids) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      /* gone already */
    }
  }
  masterPids.clear()
}

/**
 * Ends the masters whose control sockets are in `dir` (the post step, after a main step that
 * could not: killed, crashed). A socket nobody listens on is left for the folder's removal.
 */
export async function closeMastersIn(dir: string): Promise<void> {
  const sockets = fs
    .readdirSync(dir)
    .filter(f => /^m\d+$/.test(f))
    .map(f => path.join(dir, f))
  await Promise.all(
    sockets.map(p =>
      run(['ssh', '-o', `ControlPath=${p}`, '-O', 'exit', '--', 'master'], {
        timeoutMs: 10_000,
        check: false
      })
    )
  )
}

interface Master {
  /** The control socket, inside the run's private folder. */
  path: string
  /** The master's pid, once known. */
  pid: number | null
  /** The open in progress, shared by concurrent callers. */
  opening: Promise<RunResult | null> | null
}

/** How a command reaches the host: through the host's master, or over a connection of its own. */
export interface ConnectOptions {
  /** A new login of its own, never the master (proves the host accepts new connections). */
  fresh?: boolean
}

/**
 * The run's SSH material on disk, in a private folder (0700) under `RUNNER_TEMP` (or the system
 * temporary folder). `dispose` removes it; the actions' post step removes it too, after a failure
 * or a cancel.
 */
export class SshSession {
  private readonly masters = new Map<string, Master>()

  private constructor(
    readonly settings: SshSettings,
    readonly dir: string,
    private readonly keyFile: string | null,
    private readonly knownHostsFile: string | null
  ) {}

  static create(settings: SshSettings, tempRoot: string = os.tmpdir()): SshSession {
    if (settings.privateKey) secrets.add(settings.privateKey)
    const known = settings.knownHosts.trim()
    if (!known && !settings.acceptNewHostKeys && !settings.allowUserKnownHosts) {
      throw new ActionError(
        "Input 'ssh-known-hosts' is required to connect to hosts: give the hosts' known_hosts lines (ssh-keyscan, checked), or set ssh-accept-new-host-keys: true to trust keys on first contact.",
        { input: 'ssh-known-hosts', phase: 'connect' }
      )
    }
    // nix splits NIX_SSHOPTS on whitespace: the folder's path must not contain any.
    const root = /\s/.test(tempRoot) ? os.tmpdir() : tempRoot
    fs.mkdirSync(root, { recursive: true })
    const dir = fs.mkdtempSync(path.join(root, 'nix-deploy-ssh-'))
    fs.chmodSync(dir, 0o700)
    let keyFile: string | null = null
    if (settings.privateKey.trim()) {
      keyFile = path.join(dir, 'id')
      // ssh refuses a key file without a final newline or with Windows line ends.
      const key = settings.privateKey.replace(/\r\n/g, '\n').trim() + '\n'
      if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
        fs.rmSync(dir, { recursive: true, force: true })
        throw new ActionError(
          "Input 'ssh-private-key' is not a private key (expected a '-----BEGIN … PRIVATE KEY-----' block).",
          {
            input: 'ssh-private-key'
          }
        )
      }
      fs.writeFileSync(keyFile, key, { mode: 0o600 })
    }
    let knownHostsFile: string | null = null
    if (known || settings.acceptNewHostKeys) {
      knownHostsFile = path.join(dir, 'known_hosts')
      fs.writeFileSync(knownHostsFile, known ? known.replace(/\r\n/g, '\n') + '\n' : '', {
        mode: 0o600
      })
    }
    return new SshSession(settings, dir, keyFile, knownHostsFile)
  }

  private masterKey(remote: Remote): string {
    const t = remote.target
    return `${t.user}@${t.host}:${t.port} ${remote.hostOptions.join(' ')}`
  }

  /** The control socket for a remote whose master was asked for, or null (no multiplexing). */
  controlPath(remote: Remote): string | null {
    return this.masters.get(this.masterKey(remote))?.path ?? null
  }

  private muxOptions(remote: Remote, how: ConnectOptions = {}): string[] {
    const p = how.fresh ? null : this.controlPath(remote)
    if (p && fs.existsSync(p)) return ['-o', 'ControlMaster=no', '-o', `ControlPath=${p}`]
    // A fresh connection every time: proving the host means proving a NEW connection works.
    return ['-o', 'ControlMaster=no', '-o', 'ControlPath=none']
  }

  /**
   * Opens the host's master connection (one SSH login) unless it is open. From then on commands
   * to this host go through it. Returns null when it is open, or the failed ssh run (exit code
   * 255 and ssh's words) when the host could not be reached.
   */
  async connect(
    remote: Remote,
    opts: { timeoutMs?: number; logger?: Logger } = {}
  ): Promise<RunResult | null> {
    const key = this.masterKey(remote)
    let m = this.masters.get(key)
    if (!m) {
      // Short (a socket path has a limit of ~100 bytes) and private (the folder is 0700).
      m = { path: path.join(this.dir, `m${this.masters.size}`), pid: null, opening: null }
      this.masters.set(key, m)
    }
    if (fs.existsSync(m.path)) return null
    if (m.opening) return m.opening
    const master = m
    master.opening = (async () => {
      if (master.pid !== null) masterPids.delete(master.pid)
      master.pid = null
      const argv = [
        'ssh',
        ...this.commonOptions(),
        ...this.settings.extraOptions,
        ...remote.hostOptions,
        '-o',
        'ControlMaster=yes',
        '-o',
        `ControlPath=${master.path}`,
        '-o',
        `ControlPersist=${CONTROL_PERSIST_SECONDS}`,
        '-N',
        '-f',
        '-p',
        String(remote.target.port),
        '--',
        sshDestination(remote.target)
      ]
      const r = await run(argv, {
        timeoutMs: opts.timeoutMs ?? (this.settings.connectTimeout + 30) * 1000,
        check: false,
        logger: opts.logger
      })
      if (r.exitCode !== 0 || r.timedOut) return r
      // The master answers on its socket (asked a few times: it may still be setting it up).
      for (let attempt = 0; attempt < 20; attempt++) {
        const check = await run(
          ['ssh', '-o', `ControlPath=${master.path}`, '-O', 'check', '--', 'master'],
          { timeoutMs: 10_000, check: false }
        )
        const pid = /pid=(\d+)/.exec(check.stderr + check.stdout)
        if (check.exitCode === 0 && pid) {
          master.pid = Number(pid[1])
          masterPids.add(master.pid)
          return null
        }
        await new Promise(res => setTimeout(res, 100))
      }
      return {
        ...r,
        exitCode: SSH_CONNECTION_FAILED,
        stderr: `${r.stderr}\nthe SSH master connection did not answer on its control socket`
      }
    })().finally(() => {
      master.opening = null
    })
    return master.opening
  }

  /** Ends every master connection of this session (`ssh -O exit`). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.masters.values()].map(async m => {
        if (m.opening) await m.opening.catch(() => null)
        if (fs.existsSync(m.path)) {
          await run(['ssh', '-o', `ControlPath=${m.path}`, '-O', 'exit', '--', 'master'], {
            timeoutMs: 10_000,
            check: false
          })
        }
        if (m.pid !== null) {
          try {
            process.kill(m.pid, 'SIGTERM')
          } catch {
            /* ended by -O exit */
          }
          masterPids.delete(m.pid)
        }
        m.pid = null
      })
    )
  }

  /** Options shared by ssh and NIX_SSHOPTS (no whitespace inside any word). */
  private commonOptions(): string[] {
    const o: string[] = []
    if (this.keyFile) o.push('-i', this.keyFile, '-o', 'IdentitiesOnly=yes')
    if (this.knownHostsFile) {
      o.push(
        '-o',
        `UserKnownHostsFile=${this.knownHostsFile}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null'
      )
    }
    o.push('-o', `StrictHostKeyChecking=${this.settings.acceptNewHostKeys ? 'accept-new' : 'yes'}`)
    o.push(
      '-o',
      'BatchMode=yes',
      '-o',
      `ConnectTimeout=${this.settings.connectTimeout}`,
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'LogLevel=ERROR'
    )
    return o
  }

  /**
   * The ssh argv for running `remoteCommand` (already a quoted string) on the remote: through
   * the host's master when one is open, else (or with `fresh`) over a connection of its own.
   */
  sshArgv(remote: Remote, remoteCommand: string, how: ConnectOptions = {}): string[] {
    return [
      'ssh',
      ...this.muxOptions(remote, how),
      ...this.commonOptions(),
      ...this.settings.extraOptions,
      ...remote.hostOptions,
      '-p',
      String(remote.target.port),
      '--',
      sshDestination(remote.target),
      remoteCommand
    ]
  }

  /** NIX_SSHOPTS and the store URI for `nix copy --to` / `--from`. */
  nixStore(remote: Remote): { uri: string; env: Record<string, string> } {
    const store = nixStoreUri(remote.target)
    const words = [
      ...this.muxOptions(remote),
      ...this.commonOptions(),
      ...this.settings.extraOptions,
      ...remote.hostOptions,
      ...store.sshOpts
    ]
    for (const w of words) {
      if (/\s/.test(w)) {
        throw new ActionError(
          `The ssh option '${w}' contains whitespace, which nix cannot pass on (NIX_SSHOPTS is split on spaces).`,
          {
            host: remote.host,
            input: 'ssh-options'
          }
        )
      }
    }
    return { uri: store.uri, env: { NIX_SSHOPTS: words.join(' ') } }
  }

  /**
   * NIX_SSHOPTS for a store reached over SSH that is not a deployed host (an `ssh-ng://` binary
   * cache): the session's key, known hosts and options, no connection sharing.
   */
  storeEnv(): Record<string, string> {
    const words = [...this.commonOptions(), ...this.settings.extraOptions]
    if (words.some(w => /\s/.test(w))) {
      throw new ActionError(
        'An ssh option contains whitespace, which nix cannot pass on (NIX_SSHOPTS is split on spaces).',
        { input: 'ssh-options' }
      )
    }
    return { NIX_SSHOPTS: words.join(' ') }
  }

  /** Whether commands need `sudo` for this target. */
  needsSudo(remote: Remote): boolean {
    if (this.settings.sudo === 'true') return true
    if (this.settings.sudo === 'false') return false
    return remote.target.user !== 'root'
  }

  /** Removes the folder (key, known_hosts, control sockets); masters still open are ended. */
  dispose(): void {
    for (const m of this.masters.values()) {
      if (m.pid === null) continue
      try {
        process.kill(m.pid, 'SIGTERM')
      } catch {
        /* closed already */
      }
      masterPids.delete(m.pid)
      m.pid = null
    }
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

export interface RemoteRunOptions extends ConnectOptions {
  timeoutMs: number
  /** Run as root (through sudo when the user is not root). Default true. */
  privileged?: boolean
  check?: boolean
  input?: string
  phase: string
  what: string
  logger?: Logger
  onStdoutLine?: (line: string) => void
  onStderrLine?: (line: string) => void
}

/** ssh exits 255 when the connection itself failed (as opposed to the remote command). */
export const SSH_CONNECTION_FAILED = 255

/** Runs `argv` on the host. Each word is quoted for the remote shell: nothing is interpreted. */
export async function remoteRun(
  session: SshSession,
  remote: Remote,
  argv: string[],
  opts: RemoteRunOptions
): Promise<RunResult> {
  const words =
    opts.privileged !== false && session.needsSudo(remote) ? ['sudo', '-n', '--', ...argv] : argv
  const command = words.map(shellQuote).join(' ')
  if (!opts.fresh && session.controlPath(remote)) {
    // The master went away (a dropped connection, a reboot): open it again, or say why not.
    const failed = await session.connect(remote, { logger: opts.logger })
    if (failed) {
      if (opts.check === false) return failed
      throw remoteFailure(remote, failed, opts)
    }
  }
  const result = await run(session.sshArgv(remote, command, opts), {
    timeoutMs: opts.timeoutMs,
    check: false,
    input: opts.input,
    logger: opts.logger,
    onStdoutLine: opts.onStdoutLine,
    onStderrLine: opts.onStderrLine
  })
  if (opts.check === false) return result
  if (result.exitCode === 0 && !result.timedOut) return result
  throw remoteFailure(remote, result, opts)
}

/** Runs a shell script that is a constant of the suite, with its arguments passed as $1, $2, … */
export async function remoteScript(
  session: SshSession,
  remote: Remote,
  script: string,
  args: string[],
  opts: RemoteRunOptions
): Promise<RunResult> {
  return remoteRun(session, remote, ['sh', '-c', script, 'nix-deploy', ...args], opts)
}

export function remoteFailure(
  remote: Remote,
  result: RunResult,
  opts: { phase: string; what: string; timeoutMs: number }
): ActionError {
  const at = `${remote.target.user}@${remote.target.host}:${remote.target.port}`
  let why: string
  if (result.timedOut) why = `timed out after ${Math.round(opts.timeoutMs / 1000)} s`
  else if (result.exitCode === SSH_CONNECTION_FAILED)
    why = `could not connect: ${describeSshError(result.stderr)}`
  else {
    const last = result.stderr.trim().split('\n').filter(Boolean).pop() ?? ''
    why = `failed with exit code ${result.exitCode}${last ? `: ${last.slice(0, 300)}` : ''}`
  }
  return hostError(
    {
      host: remote.host,
      at,
      phase: opts.phase,
      kind: result.exitCode === SSH_CONNECTION_FAILED ? 'connection' : 'command',
      result
    },
    `${opts.what} ${why}`
  )
}

/** ssh's own words, made into one clause. */
export function describeSshError(stderr: string): string {
  const text = stderr.trim()
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(text)) {
    if (
      /No .* host key is known|not in the list of known hosts/i.test(text) ||
      !/CHANGED/.test(text)
    ) {
      return 'its host key is not in ssh-known-hosts (host key verification failed)'
    }
    return 'its host key does not match the pinned key in ssh-known-hosts (host key verification failed)'
  }
  if (/Permission denied/.test(text)) return 'permission denied (the key was not accepted)'
  if (/Connection refused/.test(text)) return 'connection refused'
  if (/timed out/i.test(text)) return 'connection timed out'
  if (/Could not resolve hostname/.test(text)) return 'the host name does not resolve'
  if (/No route to host/.test(text)) return 'no route to host'
  const last = text.split('\n').filter(Boolean).pop()
  return last ? last.slice(0, 200) : 'ssh exited with code 255'
}

/** Splits the `ssh-options` input into words (whitespace; quotes are not interpreted). */
export function parseSshOptions(value: string): string[] {
  return value.split(/\s+/).filter(Boolean)
}
