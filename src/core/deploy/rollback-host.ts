/**
 * Returns one host to an earlier system: the previous generation, a generation number, or a store
 * path. Sets the system profile to it, activates it, and runs the health checks.
 */
import { ActionError } from '../errors.js'
import { showValue } from '../inputs.js'
import type { HealthCheck } from '../health-config.js'
import type { Logger } from '../log.js'
import type { Remote, SshSession } from '../ssh.js'
import { checkHostHealth, newDeployId, summarizeActivation } from './deploy-host.js'
import { parseActivationOutput } from '../activation-output.js'
import { RemoteSystem } from './remote-system.js'
import { newHostResult, type HostResult, type PhaseName, type PhaseRecord } from './types.js'

export type RollbackTo =
  | { kind: 'previous' }
  | { kind: 'generation'; generation: number }
  | { kind: 'store-path'; storePath: string }

export function parseRollbackTo(value: string): RollbackTo {
  const v = value.trim()
  if (v === '' || v === 'previous') return { kind: 'previous' }
  if (/^[0-9]{1,9}$/.test(v)) return { kind: 'generation', generation: Number(v) }
  if (/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$/.test(v))
    return { kind: 'store-path', storePath: v }
  throw new ActionError(
    `Input 'to' must be 'previous', a generation number or a /nix/store path, not ${showValue(v)}.`,
    { input: 'to' }
  )
}

export interface RollbackHostOptions {
  session: SshSession
  remote: Remote
  to: RollbackTo
  healthChecks: HealthCheck[]
  healthTimeoutSeconds: number
  activationTimeoutSeconds: number
  holder: string
  logger: Logger
  /** Skip the lock (the caller holds it). */
  locked?: boolean
}

export async function rollbackHost(opts: RollbackHostOptions): Promise<HostResult> {
  const started = Date.now()
  const host = opts.remote.host
  const system = new RemoteSystem(opts.session, opts.remote, opts.logger)
  const phases: PhaseRecord[] = []
  const result: HostResult = { ...newHostResult(host, 'failed'), phases }
  const done = () => {
    result.durationSeconds = (Date.now() - started) / 1000
    return result
  }
  const step = async <T>(
    name: PhaseName,
    fn: () => Promise<T>,
    detail?: (v: T) => string
  ): Promise<T> => {
    const t0 = Date.now()
    try {
      const v = await fn()
      phases.push({ name, status: 'ok', durationMs: Date.now() - t0, detail: detail?.(v) })
      return v
    } catch (err) {
      phases.push({
        name,
        status: 'failed',
        durationMs: Date.now() - t0,
        detail: err instanceof Error ? err.message : String(err)
      })
      throw err
    }
  }
  const failWith = (phase: PhaseName, err: unknown) => {
    result.failedPhase = phase
    result.error =
      err instanceof ActionError
        ? err.message
        : `Host ${host} failed in phase ${phase}: ${err instanceof Error ? err.message : String(err)}.`
    return done()
  }

  let target: string
  let targetLink = ''
  try {
    const probe = await step('probe', () => system.probe(''))
    result.previousStorePath = probe.current
    result.previousGeneration = probe.generation
    result.activeStorePath = probe.current
    const gens = await step('resolve', () => system.generations())
    const resolved = resolveTo(opts.to, gens, probe.generation, host)
    target = resolved.storePath
    targetLink = resolved.generation !== null ? `system-${resolved.generation}-link` : ''
  } catch (err) {
    return failWith('resolve', err)
  }
  result.storePath = target
  if (result.previousStorePath === target) {
    result.status = 'unchanged'
    result.generation = result.previousGeneration
    return done()
  }
  let lock: { release: () => Promise<void> } | null = null
  try {
    if (!opts.locked)
      lock = await step('lock', () =>
        system.lock(opts.holder, opts.activationTimeoutSeconds + opts.healthTimeoutSeconds + 600)
      )
  } catch (err) {
    return failWith('lock', err)
  }
  try {
    const r = await step(
      'activate',
      async () => {
        let a = await system.activate(
          newDeployId(),
          target,
          'switch',
          targetLink ? 'restore' : 'set',
          opts.activationTimeoutSeconds,
          line => opts.logger.info(`${host}: ${line}`),
          targetLink
        )
        if (a.connectionLost) {
          await new Promise(res => setTimeout(res, 2000))
          a = { ...a, exitCode: 0, connectionLost: false }
        }
        const report = parseActivationOutput(a.output)
        result.activation = report
        if (a.exitCode !== 0 && a.exitCode !== 4)
          throw new Error(`switch-to-configuration switch exited with code ${a.exitCode}`)
        return report
      },
      summarizeActivation
    )
    void r
    const health = await step('verify', async () => {
      const h = await checkHostHealth(opts)
      result.health = h.outcomes
      if (!h.ok) throw new Error(`health check failed: ${h.failure}`)
      return h
    })
    void health
    const after = await system.probe('')
    result.activeStorePath = after.current
    result.generation = after.generation
    result.status = after.current === target ? 'rolled-back' : 'failed'
    if (result.status === 'failed')
      result.error = `Host ${host}, phase activate: after the rollback the host runs ${after.current}, not ${target}.`
    return done()
  } catch (err) {
    const after = await system.probe('').catch(() => null)
    result.activeStorePath = after?.current ?? null
    result.generation = after?.generation ?? null
    const phase = phases[phases.length - 1]?.name ?? 'activate'
    result.failedPhase = phase
    result.error = `Host ${host} failed in phase ${phase} of the rollback to ${target}: ${err instanceof Error ? err.message : String(err)}; the host runs ${after?.current ?? 'an unknown system'}.`
    return done()
  } finally {
    await lock?.release()
  }
}

function resolveTo(
  to: RollbackTo,
  gens: { generation: number; storePath: string }[],
  current: number | null,
  host: string
): { storePath: string; generation: number | null } {
  if (to.kind === 'store-path') {
    // The newest generation holding that store path, so the profile goes back to it as it was.
    const g = [...gens]
      .reverse()
      .find(x => x.storePath === to.storePath && x.generation !== current)
    return { storePath: to.storePath, generation: g?.generation ?? null }
  }
  if (to.kind === 'generation') {
    const g = gens.find(x => x.generation === to.generation)
    if (!g) {
      throw new ActionError(
        `Host ${host}, phase resolve: the host has no generation ${to.generation} (it has ${gens.map(x => x.generation).join(', ') || 'none'}).`,
        { host, phase: 'resolve' }
      )
    }
    return { storePath: g.storePath, generation: g.generation }
  }
  const older = gens.filter(g => current === null || g.generation < current)
  const prev = older[older.length - 1]
  if (!prev)
    throw new ActionError(
      `Host ${host}, phase resolve: the host has no generation before ${current ?? 'the current one'} to return to.`,
      { host, phase: 'resolve' }
    )
  return prev
}
