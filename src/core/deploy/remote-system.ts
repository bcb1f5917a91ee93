/**
 * One host's system, over SSH: what it runs, its lock, the watchdog, activation, confirmation.
 * Every call is a constant script from host-scripts.ts with its values as arguments.
 */
import { hostError } from '../errors.js'
import type { Logger } from '../log.js'
import { startProcess, type LongRunning, type RunResult } from '../process.js'
import { shellQuote } from '../process.js'
import {
  remoteFailure,
  remoteScript,
  SSH_CONNECTION_FAILED,
  describeSshError,
  type Remote,
  type SshSession
} from '../ssh.js'
import {
  ACTIVATE,
  ARM,
  CONFIRM,
  DISARM,
  GENERATIONS,
  HEARTBEAT,
  LOCK,
  PROBE,
  REBOOT,
  SPECIALISATION,
  STATE_DIR,
  SYSTEMS,
  WAIT_ACTIVATION,
  WATCHDOG,
  WATCHDOG_STATE
} from './host-scripts.js'
import type { DeployMode } from '../model.js'

export interface Probe {
  current: string | null
  generation: number | null
  /** The profile's link name (system-N-link). */
  generationLink: string | null
  profile: string | null
  bootId: string
  systemd: boolean
  flock: boolean
  hasWanted: boolean
  /** The running system has bin/switch-to-configuration (it can be activated again). */
  activatable: boolean
  /** The wanted path with its links resolved (a specialisation's own system), when it exists. */
  wantedReal: string | null
  /** The specialisation of the profile's system that runs now (current is its own system). */
  specialisation: string | null
}

/** The parts of a system that only a reboot changes. */
export interface BootParts {
  kernel: string | null
  initrd: string | null
  modules: string | null
}

/** What `systems()` reads from a host. */
export interface HostSystems {
  current: string | null
  booted: string | null
  currentBoot: BootParts
  bootedBoot: BootParts
}

const SHORT = 60_000

export function parseGeneration(link: string): number | null {
  const m = /system-(\d+)-link$/.exec(link.trim())
  return m ? Number(m[1]) : null
}

export class RemoteSystem {
  constructor(
    readonly session: SshSession,
    readonly remote: Remote,
    private readonly logger?: Logger
  ) {}

  get host(): string {
    return this.remote.host
  }

  private script(
    script: string,
    args: string[],
    phase: string,
    what: string,
    timeoutMs = SHORT,
    check = true
  ) {
    return remoteScript(this.session, this.remote, script, args, {
      timeoutMs,
      phase,
      what,
      logger: this.logger,
      check
    })
  }

  /**
   * Opens the host's one SSH connection (the master every later command goes through). Throws
   * a connection ActionError in `phase` when the host cannot be reached.
   */
  async connect(phase: string, what: string): Promise<void> {
    const timeoutMs = (this.session.settings.connectTimeout + 30) * 1000
    const failed = await this.session.connect(this.remote, { timeoutMs, logger: this.logger })
    if (failed) throw remoteFailure(this.remote, failed, { phase, what, timeoutMs })
  }

  async probe(wanted: string, phase = 'probe'): Promise<Probe> {
    const r = await this.script(PROBE, [wanted], phase, 'reading the current system')
    return this.parseProbe(r.stdout.split('\n'), phase)
  }

  private parseProbe(lines: string[], phase: string): Probe {
    const kv = new Map<string, string>()
    for (const line of lines) {
      const i = line.indexOf('=')
      if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim())
    }
    if (!kv.has('current')) {
      throw hostError(
        { host: this.host, phase, kind: 'host-state' },
        "the host's answer could not be read (is its login shell POSIX?)"
      )
    }
    return {
      current: kv.get('current') || null,
      generation: parseGeneration(kv.get('generation') ?? ''),
      generationLink: /^system-\d+-link$/.test(kv.get('generation') ?? '')
        ? (kv.get('generation') as string)
        : null,
      profile: kv.get('profile') || null,
      bootId: kv.get('boot') ?? '',
      systemd: kv.get('systemd') === 'yes',
      flock: kv.get('flock') === 'yes',
      hasWanted: kv.get('has-wanted') === 'yes',
      activatable: kv.get('activatable') === 'yes',
      wantedReal: kv.get('wanted-real') || null,
      specialisation: kv.get('specialisation') || null
    }
  }

  /**
   * Takes the host lock, held until `release()`. A second deploy to the same host fails fast
   * with who holds the lock.
   */
  async lock(
    holder: string,
    maxSeconds: number,
    wanted = ''
  ): Promise<{ release: () => Promise<void>; state: Probe }> {
    const privileged = this.session.needsSudo(this.remote)
    const words = [
      ...(privileged ? ['sudo', '-n', '--'] : []),
      'sh',
      '-c',
      LOCK,
      'nix-deploy',
      STATE_DIR,
      holder,
      String(maxSeconds),
      wanted
    ]
    const proc: LongRunning = startProcess(
      this.session.sshArgv(this.remote, words.map(shellQuote).join(' ')),
      {
        timeoutMs: (maxSeconds + 60) * 1000,
        logger: this.logger
      }
    )
    const line = await proc.waitForLine(l => l.startsWith('nix-deploy-lock-'), 60_000)
    if (line === 'nix-deploy-lock-acquired') {
      return {
        state: this.parseProbe(proc.lines, 'lock'),
        release: async () => {
          proc.closeInput()
          const done = await Promise.race([proc.done, new Promise(r => setTimeout(r, 5000, null))])
          if (done === null) proc.kill()
        }
      }
    }
    proc.kill()
    const result = await proc.done
    const where = { host: this.host, phase: 'lock' }
    if (line?.startsWith('nix-deploy-lock-busy')) {
      const who = line.slice('nix-deploy-lock-busy'.length).trim()
      throw hostError(
        { ...where, kind: 'busy' },
        `another deploy is running on this host${who ? ` (${who})` : ''}; try again when it has finished`
      )
    }
    if (result.exitCode === SSH_CONNECTION_FAILED) {
      throw hostError(
        { ...where, kind: 'connection' },
        `could not connect: ${describeSshError(result.stderr)}`
      )
    }
    const why = result.stderr.trim().split('\n').pop() ?? ''
    throw hostError(
      { ...where, kind: 'command', detail: result.stderr },
      `could not take the deploy lock${result.exitCode === 127 ? ' (flock is missing on the host)' : why ? `: ${why}` : ''}`
    )
  }

  async armWatchdog(
    id: string,
    confirmSeconds: number,
    previous: string | null,
    previousLink: string | null,
    mode: DeployMode,
    activationSeconds: number,
    previousProfileSystem: string | null = null
  ): Promise<void> {
    const args = [
      STATE_DIR,
      id,
      String(confirmSeconds),
      previous ?? '',
      mode,
      String(activationSeconds),
      WATCHDOG,
      previousLink ?? '',
      previousProfileSystem ?? ''
    ]
    await this.script(ARM, args, 'arm', 'arming the rollback watchdog')
  }

  /**
   * Sets the profile (unless mode is test) and runs switch-to-configuration detached, waiting for
   * it. Returns its exit code and output; a dropped connection gives `connectionLost`.
   */
  async activate(
    id: string,
    toplevel: string,
    action: 'switch' | 'boot' | 'test',
    profile: 'set' | 'keep' | 'restore' | 'restore-delete',
    timeoutSeconds: number,
    onLine?: (line: string) => void,
    restoreLink = '',
    run: { path?: string; installBootloader?: boolean } = {}
  ): Promise<{
    exitCode: number | null
    output: string
    connectionLost: boolean
    profileLink: string | null
  }> {
    const args = [
      STATE_DIR,
      id,
      toplevel,
      action,
      profile,
      String(timeoutSeconds),
      restoreLink,
      run.path ?? '',
      run.installBootloader ? '1' : ''
    ]
    const r = await remoteScript(this.session, this.remote, ACTIVATE, args, {
      timeoutMs: (timeoutSeconds + 30) * 1000,
      phase: 'activate',
      what: 'activating',
      logger: this.logger,
      check: false,
      onStderrLine: onLine
    })
    const profileLine = r.stdout.split('\n').find(l => l.startsWith('nix-deploy-profile '))
    const started = r.stdout.includes('nix-deploy-activation-started')
    const lost =
      r.exitCode === SSH_CONNECTION_FAILED || r.timedOut || (started && r.exitCode === null)
    return {
      exitCode: lost ? null : r.exitCode,
      output: r.stderr,
      connectionLost: lost,
      profileLink: profileLine ? profileLine.slice('nix-deploy-profile '.length).trim() : null
    }
  }

  /**
   * Whether `toplevel` (in the host's store) has the specialisation `name`; when it has not, the
   * names it has.
   */
  async specialisation(
    toplevel: string,
    name: string
  ): Promise<{ found: boolean; names: string[] }> {
    const r = await this.script(
      SPECIALISATION,
      [toplevel, name],
      'activate',
      'looking for the specialisation'
    )
    const lines = r.stdout.split('\n')
    return {
      found: lines.includes('found'),
      names: lines.filter(l => l.startsWith('has ')).map(l => l.slice(4).trim())
    }
  }

  /** After a dropped connection: waits (over a new connection) for the activation to end. */
  async waitActivation(
    id: string,
    timeoutSeconds: number
  ): Promise<{ exitCode: number | null; output: string; connectionLost: boolean }> {
    const r = await remoteScript(
      this.session,
      this.remote,
      WAIT_ACTIVATION,
      [STATE_DIR, id, '', '', '', String(timeoutSeconds)],
      {
        timeoutMs: (timeoutSeconds + 30) * 1000,
        phase: 'activate',
        what: 'waiting for the activation',
        logger: this.logger,
        check: false
      }
    )
    const lost = r.exitCode === SSH_CONNECTION_FAILED || r.timedOut
    return { exitCode: lost ? null : r.exitCode, output: r.stderr, connectionLost: lost }
  }

  /**
   * The heartbeat channel of the dead-man switch: a session (through the host's connection)
   * whose every input line pushes the watchdog's deadline to now + `confirmSeconds`. It answers
   * `nix-deploy-beat N` per line N, `nix-deploy-fired` once the watchdog fired. When the runner
   * dies or the connection drops, the lines stop and the deadline passes.
   */
  heartbeatChannel(id: string, confirmSeconds: number, timeoutSeconds: number): LongRunning {
    const privileged = this.session.needsSudo(this.remote)
    const words = [
      ...(privileged ? ['sudo', '-n', '--'] : []),
      'sh',
      '-c',
      HEARTBEAT,
      'nix-deploy',
      STATE_DIR,
      id,
      String(confirmSeconds)
    ]
    return startProcess(this.session.sshArgv(this.remote, words.map(shellQuote).join(' ')), {
      timeoutMs: timeoutSeconds * 1000,
      logger: this.logger
    })
  }

  /** A login of its own (not the host's shared connection): does the host accept new logins? */
  freshLogin(phase: string): Promise<RunResult> {
    return remoteScript(this.session, this.remote, 'true', [], {
      timeoutMs: SHORT,
      phase,
      what: 'a new SSH connection to the host',
      privileged: false,
      check: false,
      fresh: true,
      logger: this.logger
    })
  }

  async confirm(id: string): Promise<'confirmed' | 'fired'> {
    const r = await this.script(
      CONFIRM,
      [STATE_DIR, id],
      'confirm',
      'confirming the deployment',
      SHORT,
      false
    )
    if (r.exitCode === 0) return 'confirmed'
    if (r.exitCode === 92) return 'fired'
    throw hostError(
      {
        host: this.host,
        phase: 'confirm',
        kind: r.exitCode === SSH_CONNECTION_FAILED ? 'connection' : 'command'
      },
      r.exitCode === SSH_CONNECTION_FAILED
        ? `confirming failed: ${describeSshError(r.stderr)}`
        : `confirming failed with exit code ${r.exitCode}`
    )
  }

  /** Stands the watchdog down before rolling back from the runner. */
  async disarm(id: string): Promise<{ fired: boolean; exit: string }> {
    const r = await this.script(
      DISARM,
      [STATE_DIR, id],
      'rollback',
      'disarming the watchdog',
      10 * SHORT
    )
    const line = r.stdout.trim().split('\n').pop() ?? ''
    if (line.startsWith('fired')) return { fired: true, exit: line.slice(6).trim() }
    return { fired: false, exit: '' }
  }

  async watchdogState(id: string): Promise<{ fired: boolean; exit: string; log: string[] }> {
    const r = await this.script(
      WATCHDOG_STATE,
      [STATE_DIR, id],
      'rollback',
      'reading the watchdog',
      SHORT
    )
    const lines = r.stdout.split('\n')
    const fired = (lines.find(l => l.startsWith('fired=')) ?? 'fired=no').slice(6)
    return {
      fired: fired !== 'no',
      exit: fired === 'no' ? '' : fired,
      log: lines.filter(l => l.startsWith('log=')).map(l => l.slice(4))
    }
  }

  /** The system profile's generations, oldest first. */
  async generations(phase = 'resolve'): Promise<{ generation: number; storePath: string }[]> {
    const r = await this.script(GENERATIONS, [], phase, 'listing the system generations')
    return r.stdout
      .split('\n')
      .map(l => /^(\d+) (\/\S+)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(m => ({ generation: Number(m[1]), storePath: m[2] }))
      .sort((a, b) => a.generation - b.generation)
  }

  /**
   * What the host runs (/run/current-system) and booted (/run/booted-system), with the kernel,
   * initrd and kernel modules of each (null where the host has none). Read-only, never sudo.
   */
  async systems(phase = 'read'): Promise<HostSystems> {
    const r = await remoteScript(this.session, this.remote, SYSTEMS, [], {
      timeoutMs: SHORT,
      phase,
      what: 'reading /run/current-system and /run/booted-system',
      logger: this.logger,
      privileged: false
    })
    const kv = new Map<string, string>()
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf('=')
      if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim())
    }
    if (!kv.has('current'))
      throw hostError(
        { host: this.host, phase, kind: 'host-state' },
        "the host's answer could not be read (is its login shell POSIX?)"
      )
    const side = (name: 'current' | 'booted'): BootParts => ({
      kernel: kv.get(`${name}-kernel`) || null,
      initrd: kv.get(`${name}-initrd`) || null,
      modules: kv.get(`${name}-kernel-modules`) || null
    })
    return {
      current: kv.get('current') || null,
      booted: kv.get('booted') || null,
      currentBoot: side('current'),
      bootedBoot: side('booted')
    }
  }

  /** Asks the host to reboot (detached: this call returns before it goes down). */
  async reboot(): Promise<void> {
    await this.script(REBOOT, [], 'reboot', 'rebooting the host')
  }

  /**
   * Waits until the host answers with a boot id other than `before` (it rebooted), polling over
   * new connections. Returns its state then, or null when it did not come back in time.
   */
  async waitForBoot(before: string, timeoutSeconds: number): Promise<Probe | null> {
    const until = Date.now() + timeoutSeconds * 1000
    while (Date.now() < until) {
      await new Promise(r => setTimeout(r, 1000))
      try {
        const p = await this.probe('', 'reboot')
        if (p.bootId && p.bootId !== before) return p
      } catch {
        /* down or still booting */
      }
    }
    return null
  }
}
