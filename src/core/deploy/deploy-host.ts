/**
 * Deploys one host, in phases: probe, lock, copy, record, arm, activate, verify, confirm, and
 * rollback when anything after the switch fails. Returns a plain HostResult; never leaves a host
 * half-changed without saying exactly what state it is in.
 */
import { exit4Reason, parseActivationOutput, type ActivationReport } from '../activation-output.js'
import { ActionError } from '../errors.js'
import { formatDuration } from '../format.js'
import { runHealthChecks, type HealthResult } from '../health.js'
import type { HealthCheck } from '../health-config.js'
import type { Logger } from '../log.js'
import { nixCopy } from '../nix.js'
import { remoteRun, type Remote, type SshSession } from '../ssh.js'
import { targetAddress } from '../target.js'
import { RemoteSystem, type Probe } from './remote-system.js'
import {
  newHostResult,
  type DeployMode,
  type HostResult,
  type PhaseName,
  type PhaseRecord
} from './types.js'

export interface DeployHostOptions {
  session: SshSession
  remote: Remote
  storePath: string
  mode: DeployMode
  /** With mode boot: reboot into the new generation, prove it, and on failure boot the previous one. */
  reboot?: boolean
  healthChecks: HealthCheck[]
  healthTimeoutSeconds: number
  confirmTimeoutSeconds: number
  /** Roll back when anything fails after the switch (the `rollback` input). */
  rollback: boolean
  substituteOnTarget: boolean
  /** How long switch-to-configuration may run. */
  activationTimeoutSeconds: number
  /** Who deploys, for the lock ("run 4242 of octo/fleet"). */
  holder: string
  logger: Logger
  /** Called when a phase starts, for progress lines. */
  onPhase?: (host: string, phase: PhaseName) => void
}

class PhaseFailure extends Error {
  constructor(
    readonly phase: PhaseName,
    message: string
  ) {
    super(message)
  }
}

export function newDeployId(): string {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0')}`
}

export async function deployHost(opts: DeployHostOptions): Promise<HostResult> {
  const started = Date.now()
  const host = opts.remote.host
  const log = opts.logger
  const system = new RemoteSystem(opts.session, opts.remote, log)
  const phases: PhaseRecord[] = []
  const result: HostResult = { ...newHostResult(host, 'failed', opts.storePath), phases }
  const finish = (): HostResult => {
    result.durationSeconds = (Date.now() - started) / 1000
    return result
  }
  const phase = async <T>(
    name: PhaseName,
    fn: () => Promise<T>,
    detail?: (v: T) => string | undefined
  ): Promise<T> => {
    opts.onPhase?.(host, name)
    const t0 = Date.now()
    try {
      const v = await fn()
      phases.push({ name, status: 'ok', durationMs: Date.now() - t0, detail: detail?.(v) })
      return v
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err)
      phases.push({ name, status: 'failed', durationMs: Date.now() - t0, detail: msg })
      throw err instanceof ActionError || err instanceof PhaseFailure
        ? err
        : new PhaseFailure(name, msg)
    }
  }
  const fail = (phaseName: PhaseName, message: string): HostResult => {
    result.status = 'failed'
    result.failedPhase = phaseName
    result.error = message
    return finish()
  }

  // 1-2. What runs there now; nothing to do when it already runs the wanted system.
  let probe: Probe
  try {
    probe = await phase(
      'probe',
      () => system.probe(opts.storePath),
      p => `running ${p.current ?? 'no system yet'}`
    )
  } catch (err) {
    return fail('probe', errorText(err, host, 'probe'))
  }
  result.previousStorePath = probe.current
  result.previousGeneration = probe.generation
  result.activeStorePath = probe.current
  result.generation = probe.generation
  if (probe.current === opts.storePath && opts.mode !== 'boot') {
    result.status = 'unchanged'
    log.info(`${host}: already runs ${opts.storePath}; nothing to do.`)
    return finish()
  }
  if (!probe.flock) {
    return fail(
      'probe',
      `Host ${host}, phase probe: the host has no 'flock' command (util-linux), which the deploy lock and the rollback watchdog need.`
    )
  }

  // 3. The lock, held until the end.
  const maxSeconds =
    opts.activationTimeoutSeconds +
    opts.healthTimeoutSeconds * 2 +
    opts.confirmTimeoutSeconds +
    4 * 3600
  let lock: { release: () => Promise<void>; state: Probe }
  try {
    lock = await phase('lock', () => system.lock(opts.holder, maxSeconds, opts.storePath))
  } catch (err) {
    return fail('lock', errorText(err, host, 'lock'))
  }

  try {
    return await deployLocked()
  } finally {
    await lock.release()
  }

  async function deployLocked(): Promise<HostResult> {
    // 4. Copy the closure.
    try {
      await phase(
        'copy',
        async () => {
          if (lock.state.hasWanted) return 'already there'
          const store = opts.session.nixStore(opts.remote)
          await nixCopy([opts.storePath], {
            to: store.uri,
            env: store.env,
            noCheckSigs: true,
            substituteOnDestination: opts.substituteOnTarget,
            logger: log,
            host,
            phase: 'copy',
            what: `copying the closure to ${host}`,
            onStderrLine: line => log.debug(line)
          })
          return 'copied'
        },
        v => v
      )
    } catch (err) {
      return fail('copy', errorText(err, host, 'copy'))
    }

    // 5. Record what to come back to: the state the lock script read once it held the lock (the
    // host may have changed since the first probe; the copy does not change the running system).
    let prev: Probe
    try {
      prev = await phase(
        'record',
        async () => lock.state,
        p => p.current ?? 'no previous system'
      )
    } catch (err) {
      return fail('record', errorText(err, host, 'record'))
    }
    result.previousStorePath = prev.current
    result.previousGeneration = prev.generation
    const id = newDeployId()
    const setProfile = opts.mode !== 'test'
    // The profile link of the system to come back to (when it is the running one).
    const prevLink = prev.profile === prev.current ? prev.generationLink : null
    const action = opts.mode
    const guarded = opts.rollback && opts.mode !== 'boot'

    // 6. Arm the watchdog (it needs something to restore).
    if (guarded && prev.current) {
      try {
        await phase('arm', () =>
          system.armWatchdog(
            id,
            opts.confirmTimeoutSeconds,
            prev.current,
            prevLink,
            opts.mode,
            opts.activationTimeoutSeconds
          )
        )
      } catch (err) {
        return fail('arm', errorText(err, host, 'arm'))
      }
    }

    // 7. Switch.
    let activation: ActivationReport | undefined
    let activationFailure: string | null = null
    let connectionLost = false
    try {
      await phase(
        'activate',
        async () => {
          const lines: string[] = []
          let r = await system.activate(
            id,
            opts.storePath,
            action,
            setProfile ? 'set' : 'keep',
            opts.activationTimeoutSeconds,
            line => {
              lines.push(line)
              log.info(`${host}: ${line}`)
            }
          )
          if (r.connectionLost) {
            log.warning(
              `${host}: the SSH connection dropped during activation; reconnecting to follow it.`
            )
            r = {
              ...(await reconnectAndWait(system, id, opts.activationTimeoutSeconds)),
              profileLink: r.profileLink
            }
          }
          activation = parseActivationOutput(r.output || lines.join('\n'))
          result.activation = activation
          if (r.connectionLost) {
            connectionLost = true
            throw new PhaseFailure(
              'activate',
              'the connection to the host was lost during activation'
            )
          }
          if (r.exitCode !== 0) {
            activationFailure =
              r.exitCode === 4
                ? `switch-to-configuration ${action} exited with code 4 (${exit4Reason(activation)})`
                : `switch-to-configuration ${action} exited with code ${r.exitCode}`
            throw new PhaseFailure('activate', activationFailure)
          }
          return activation
        },
        a => summarizeActivation(a)
      )
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      return await recover('activate', `activation failed: ${why}`, connectionLost)
    }

    if (opts.mode === 'boot' && opts.reboot) return await rebootInto()

    if (opts.mode === 'boot') {
      result.status = 'deployed'
      result.generation = (await safeProbe())?.generation ?? null
      result.activeStorePath = prev.current
      log.info(
        `${host}: ${opts.storePath} is the boot default; it becomes active at the next reboot.`
      )
      return finish()
    }

    // 8. Prove the host: a new SSH connection (which also extends the watchdog), then health checks.
    let health: HealthResult | undefined
    try {
      await phase(
        'verify',
        async () => {
          if (guarded && prev.current) {
            const alive = await system.extend(
              id,
              opts.healthTimeoutSeconds + opts.confirmTimeoutSeconds + 30
            )
            if (!alive)
              throw new PhaseFailure(
                'verify',
                'the rollback watchdog fired before the host could be verified'
              )
          } else {
            await remoteRun(opts.session, opts.remote, ['true'], {
              timeoutMs: 60_000,
              phase: 'verify',
              what: 'opening a new SSH connection',
              privileged: false
            })
          }
          health = await runChecks(opts)
          result.health = health.outcomes
          if (!health.ok) {
            result.failingCheck = health.failure
            throw new PhaseFailure('verify', `health check failed: ${health.failure}`)
          }
          return health
        },
        h => `${h.outcomes.length} health check(s) passed`
      )
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      const lost = /new SSH connection/.test(why)
      return await recover('verify', why.replace(/^Host [^,]+, phase verify: /, ''), lost)
    }

    // 9. Confirm.
    if (guarded && prev.current) {
      try {
        const c = await phase('confirm', () => system.confirm(id))
        if (c === 'fired') {
          return await recover(
            'confirm',
            'the rollback watchdog fired before the deployment was confirmed (confirm-timeout too short?)',
            false
          )
        }
      } catch (err) {
        return await recover('confirm', errorText(err, host, 'confirm'), false)
      }
    }
    const after = await safeProbe()
    result.generation = after?.generation ?? null
    result.activeStorePath = after?.current ?? opts.storePath
    result.status = 'deployed'
    log.info(
      `${host}: deployed ${opts.storePath}${result.generation !== null ? ` (generation ${result.generation})` : ''}.`
    )
    return finish()

    /** mode boot + reboot: reboot, wait for a new boot id, prove the host; or boot the previous generation again. */
    async function rebootInto(): Promise<HostResult> {
      const waitSeconds = opts.activationTimeoutSeconds
      let booted: Probe
      try {
        booted = await phase(
          'reboot',
          async () => {
            await system.reboot()
            const p = await system.waitForBoot(prev.bootId, waitSeconds)
            if (!p)
              throw new PhaseFailure(
                'reboot',
                `the host did not come back within ${waitSeconds} s of the reboot`
              )
            if (p.current !== opts.storePath) {
              throw new PhaseFailure(
                'reboot',
                `after the reboot the host runs ${p.current ?? 'no system'}, not the new generation`
              )
            }
            return p
          },
          p => `booted ${p.current} (boot ${p.bootId.slice(0, 8)})`
        )
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err)
        return await recoverBoot('reboot', why, !/did not come back/.test(why))
      }
      try {
        await phase(
          'verify',
          async () => {
            const health = await runChecks(opts)
            result.health = health.outcomes
            if (!health.ok) {
              result.failingCheck = health.failure
              throw new PhaseFailure('verify', `health check failed: ${health.failure}`)
            }
            return health
          },
          h => `${h.outcomes.length} health check(s) passed`
        )
      } catch (err) {
        return await recoverBoot('verify', err instanceof Error ? err.message : String(err), true)
      }
      result.status = 'deployed'
      result.activeStorePath = booted.current
      result.generation = booted.generation
      log.info(
        `${host}: rebooted into ${opts.storePath}${booted.generation !== null ? ` (generation ${booted.generation})` : ''}.`
      )
      return finish()
    }

    /** A reboot into the new generation went wrong: make the previous one the boot default and boot it. */
    async function recoverBoot(
      failedPhase: PhaseName,
      why: string,
      hostUp: boolean
    ): Promise<HostResult> {
      result.failedPhase = failedPhase
      const what = `Host ${host} failed in phase ${failedPhase}: ${why}`
      const now = hostUp ? await safeProbe() : null
      result.activeStorePath = now?.current ?? null
      result.generation = now?.generation ?? null
      result.status = 'failed'
      if (!hostUp) {
        result.error = `${what}; its boot default is the new generation ${opts.storePath}, and nothing more can be done over SSH until it answers.`
        return finish()
      }
      if (!prev.current) {
        result.error = `${what}; the host had no previous generation to boot instead, so it stays on ${now?.current ?? opts.storePath}.`
        return finish()
      }
      if (!opts.rollback) {
        result.error = `${what}; rollback is off, so the host stays on ${now?.current ?? 'an unknown system'}.`
        return finish()
      }
      try {
        const back = await phase(
          'rollback',
          async () => {
            const r = await system.activate(
              `${id}-rb`,
              prev.current as string,
              'boot',
              'restore-delete',
              opts.activationTimeoutSeconds,
              undefined,
              prevLink ?? ''
            )
            if (r.connectionLost || r.exitCode !== 0) {
              throw new PhaseFailure(
                'rollback',
                `making the previous generation the boot default failed (${r.connectionLost ? 'connection lost' : `exit code ${r.exitCode}`})`
              )
            }
            const bootNow = (await system.probe('', 'rollback')).bootId
            await system.reboot()
            const p = await system.waitForBoot(bootNow, opts.activationTimeoutSeconds)
            if (!p)
              throw new PhaseFailure(
                'rollback',
                'the host did not come back from the second reboot'
              )
            return p
          },
          p => `booted ${p.current}`
        )
        result.activeStorePath = back.current
        result.generation = back.generation
        if (back.current !== prev.current) {
          result.error = `${what}; after booting the previous generation again the host runs ${back.current}, not ${prev.current}.`
          return finish()
        }
      } catch (err) {
        const again = await safeProbe()
        result.activeStorePath = again?.current ?? null
        result.error = `${what}; booting the previous generation failed too (${err instanceof Error ? err.message : String(err)}): the host runs ${again?.current ?? 'an unknown system'}.`
        return finish()
      }
      const health = await runChecks(opts)
      result.status = 'rolled-back'
      result.error = `${what}; rebooted into the previous generation ${prev.current}${result.generation !== null ? ` (generation ${result.generation})` : ''}${health.ok ? ', which is healthy' : `, which is not healthy either (${health.failure})`}.`
      return finish()
    }

    async function safeProbe(): Promise<Probe | null> {
      try {
        return await system.probe(opts.storePath)
      } catch {
        return null
      }
    }

    /** Something failed after the switch: restore the previous generation, or say why not. */
    async function recover(
      failedPhase: PhaseName,
      why: string,
      lost: boolean
    ): Promise<HostResult> {
      result.failedPhase = failedPhase
      const what = `Host ${host} failed in phase ${failedPhase}: ${why}`
      if (!prev.current) {
        const now = await safeProbe()
        result.activeStorePath = now?.current ?? null
        result.generation = now?.generation ?? null
        result.status = 'failed'
        result.error = `${what}; the host had no previous generation to roll back to, so it stays on ${now?.current ?? opts.storePath}${now?.generation !== null && now?.generation !== undefined ? ` (generation ${now.generation})` : ''}.`
        return finish()
      }
      if (!guarded) {
        const now = await safeProbe()
        result.activeStorePath = now?.current ?? null
        result.status = 'failed'
        result.error = `${what}; rollback is off, so the host stays on ${now?.current ?? 'an unknown system'}.`
        return finish()
      }
      if (lost) {
        // The host's own watchdog restores it; wait for that and check.
        return await awaitWatchdog(what)
      }
      try {
        await phase('rollback', async () => {
          const d = await system.disarm(id)
          if (d.fired) {
            if (d.exit !== '0' && d.exit !== '4')
              throw new PhaseFailure(
                'rollback',
                `the host's watchdog rollback exited with ${d.exit}`
              )
            return
          }
          const r = await system.activate(
            `${id}-rb`,
            prev.current as string,
            opts.mode === 'test' ? 'test' : 'switch',
            setProfile ? 'restore-delete' : 'keep',
            opts.activationTimeoutSeconds,
            undefined,
            prevLink ?? ''
          )
          if (r.connectionLost) {
            const w = await reconnectAndWait(system, `${id}-rb`, opts.activationTimeoutSeconds)
            if (w.connectionLost)
              throw new PhaseFailure('rollback', 'the connection was lost during the rollback')
          } else if (r.exitCode !== 0 && r.exitCode !== 4) {
            throw new PhaseFailure(
              'rollback',
              `switch-to-configuration of the previous generation exited with ${r.exitCode}`
            )
          }
        })
      } catch (err) {
        const now = await safeProbe()
        result.activeStorePath = now?.current ?? null
        result.status = 'failed'
        result.error = `${what}; the rollback to ${prev.current} failed too (${err instanceof Error ? err.message : String(err)}): the host runs ${now?.current ?? 'an unknown system'}.`
        return finish()
      }
      return await verifyRolledBack(what)
    }

    async function awaitWatchdog(what: string): Promise<HostResult> {
      const deadline =
        Date.now() + (opts.confirmTimeoutSeconds + opts.activationTimeoutSeconds + 60) * 1000
      log.warning(
        `${host}: lost the connection; the host's watchdog restores ${prev.current} ${opts.confirmTimeoutSeconds} s after the activation ended. Waiting for it.`
      )
      const t0 = Date.now()
      while (Date.now() < deadline) {
        await sleep(2000)
        const now = await safeProbe()
        if (now && now.current === prev.current) {
          const state = await system.watchdogState(id).catch(() => null)
          if (state && (!state.fired || state.exit === 'running')) continue
          phases.push({
            name: 'rollback',
            status: 'ok',
            durationMs: Date.now() - t0,
            detail: "by the host's watchdog"
          })
          return await verifyRolledBack(
            `${what}; the host's watchdog restored the previous generation`
          )
        }
      }
      phases.push({
        name: 'rollback',
        status: 'failed',
        durationMs: Date.now() - t0,
        detail: 'the host did not come back'
      })
      result.status = 'failed'
      result.error = `${what}; the host did not answer again within ${Math.round((deadline - t0) / 1000)} s, so whether its watchdog restored ${prev.current} is unknown.`
      return finish()
    }

    async function verifyRolledBack(what: string): Promise<HostResult> {
      const now = await safeProbe()
      result.activeStorePath = now?.current ?? null
      result.generation = now?.generation ?? null
      if (!now || now.current !== prev.current) {
        result.status = 'failed'
        result.error = `${what}; after the rollback the host runs ${now?.current ?? 'an unknown system'}, not the previous ${prev.current}.`
        return finish()
      }
      const again = await runChecks(opts)
      result.status = 'rolled-back'
      result.error = `${what}; rolled back to ${prev.current}${now.generation !== null ? ` (generation ${now.generation})` : ''}${again.ok ? ', which is healthy' : `, which is not healthy either (${again.failure})`}.`
      return finish()
    }
  }
}

async function reconnectAndWait(system: RemoteSystem, id: string, activationSeconds: number) {
  const until = Date.now() + Math.min(activationSeconds, 120) * 1000
  while (Date.now() < until) {
    await sleep(1500)
    const w = await system
      .waitActivation(id, activationSeconds)
      .catch(() => ({ exitCode: null, output: '', connectionLost: true }))
    if (!w.connectionLost) return w
  }
  return { exitCode: null, output: '', connectionLost: true }
}

/** The health checks of one host: http from the runner, the rest over new SSH connections. */
export async function checkHostHealth(opts: {
  session: SshSession
  remote: Remote
  healthChecks: HealthCheck[]
  healthTimeoutSeconds: number
  logger: Logger
}): Promise<HealthResult> {
  return runHealthChecks(
    opts.healthChecks,
    {
      host: opts.remote.host,
      address: targetAddress(opts.remote.target),
      logger: opts.logger,
      runOnHost: async (argv, timeoutMs) => {
        const r = await remoteRun(opts.session, opts.remote, argv, {
          timeoutMs,
          privileged: false,
          check: false,
          phase: 'verify',
          what: 'a health check'
        })
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }
      }
    },
    { timeoutMs: opts.healthTimeoutSeconds * 1000 }
  )
}

const runChecks = checkHostHealth

export function summarizeActivation(a: ActivationReport): string {
  const parts: string[] = []
  if (a.stop.length) parts.push(`stopped ${a.stop.length}`)
  if (a.restart.length) parts.push(`restarted ${a.restart.length}`)
  if (a.reload.length) parts.push(`reloaded ${a.reload.length}`)
  if (a.start.length + a.newlyStarted.length)
    parts.push(`started ${a.start.length + a.newlyStarted.length}`)
  if (a.failed.length) parts.push(`failed ${a.failed.join(', ')}`)
  if (a.failedUserUnits.length) parts.push(`user units failed ${a.failedUserUnits.join(', ')}`)
  if (a.failedUsers.length) parts.push(`user activation failed for ${a.failedUsers.join(', ')}`)
  return parts.length ? parts.join(', ') : 'no unit changes'
}

function errorText(err: unknown, host: string, phase: PhaseName): string {
  if (err instanceof ActionError) return err.message
  const msg = err instanceof Error ? err.message : String(err)
  return `Host ${host} failed in phase ${phase}: ${msg}.`
}

function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms))
}

export { formatDuration }
