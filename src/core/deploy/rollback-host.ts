/**
 * Returns one host to an earlier system: the previous generation, a generation number, or a store
 * path. The same phases as a deploy: probe, resolve (which generation), lock, activate (the
 * profile back to that generation's own link), verify (the health checks). A connection lost
 * during the activation, followed and never regained, is a failure, never a success.
 */
import { ActionError, hostError, hostSentence } from '../errors.js'
import { showValue } from '../inputs.js'
import type { HealthCheck } from '../health-config.js'
import type { Logger } from '../log.js'
import type { Remote, SshSession } from '../ssh.js'
import { newDeployId } from './deploy-host.js'
import { RemoteSystem } from './remote-system.js'
import { activate } from './phases/activate.js'
import { lock, type HostLock } from './phases/lock.js'
import { describeFailure, ok, phase, type HostContext } from './phases/outcome.js'
import { probe, readBack } from './phases/probe.js'
import { verify } from './phases/verify.js'
import { newHostResult, type HostResult, type HostStatus, type PhaseName } from '../model.js'

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
  const result = newHostResult(host, 'failed')
  const ctx: HostContext = {
    session: opts.session,
    remote: opts.remote,
    system: new RemoteSystem(opts.session, opts.remote, opts.logger),
    logger: opts.logger,
    result
  }
  const end = (status: HostStatus, failed?: { phase: PhaseName; why: string }): HostResult => {
    result.status = status
    if (failed) {
      result.failedPhase = failed.phase
      result.error = hostSentence(
        {
          host,
          phase: failed.phase,
          failed: true,
          of: result.storePath ? `of the rollback to ${result.storePath}` : undefined
        },
        failed.why
      )
    }
    result.durationSeconds = (Date.now() - started) / 1000
    return result
  }
  const readNow = async () => {
    const now = await readBack(ctx)
    result.activeStorePath = now?.current ?? null
    result.generation = now?.generation ?? null
    return now
  }

  // What runs there now, and which generation to return to.
  const now = await probe(ctx, '')
  if (now.kind !== 'ok') return end('failed', { phase: 'probe', why: describeFailure(now) })
  result.previousStorePath = now.value.current
  result.previousGeneration = now.value.generation
  result.activeStorePath = now.value.current
  const resolved = await phase(
    ctx,
    'resolve',
    async () => ok(resolveTo(opts.to, await ctx.system.generations(), now.value.generation, host)),
    r => `${r.storePath}${r.generation !== null ? ` (generation ${r.generation})` : ''}`
  )
  if (resolved.kind !== 'ok')
    return end('failed', { phase: 'resolve', why: describeFailure(resolved) })
  const target = resolved.value.storePath
  const targetLink =
    resolved.value.generation !== null ? `system-${resolved.value.generation}-link` : ''
  result.storePath = target
  if (result.previousStorePath === target) {
    result.generation = result.previousGeneration
    return end('unchanged')
  }

  let held: HostLock | null = null
  if (!opts.locked) {
    const l = await lock(
      ctx,
      opts.holder,
      opts.activationTimeoutSeconds + opts.healthTimeoutSeconds + 600
    )
    if (l.kind !== 'ok') return end('failed', { phase: 'lock', why: describeFailure(l) })
    held = l.value
  }
  try {
    const activated = await activate(ctx, {
      id: newDeployId(),
      toplevel: target,
      action: 'switch',
      profile: targetLink ? 'restore' : 'set',
      restoreLink: targetLink,
      timeoutSeconds: opts.activationTimeoutSeconds,
      onLine: line => opts.logger.info(`${host}: ${line}`)
    })
    // Exit code 4 (a unit failed) still activated the system: the health checks judge it.
    const activeNow =
      activated.kind === 'ok' ||
      (activated.kind === 'activation-failed' && activated.exitCode === 4)
    if (!activeNow) {
      const after = await readNow()
      return end('failed', {
        phase: 'activate',
        why: `${describeFailure(activated)}; the host runs ${after?.current ?? 'an unknown system'}`
      })
    }
    const proven = await verify(ctx, { ...opts, freshLogin: false })
    const after = await readNow()
    if (proven.kind !== 'ok')
      return end('failed', {
        phase: 'verify',
        why: `${describeFailure(proven)}; the host runs ${after?.current ?? 'an unknown system'}`
      })
    if (!after || after.current !== target)
      return end('failed', {
        phase: 'activate',
        why: `after the rollback the host runs ${after?.current ?? 'an unknown system'}, not ${target}`
      })
    return end('rolled-back')
  } finally {
    await held?.release()
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
      throw hostError(
        { host, phase: 'resolve', kind: 'host-state' },
        `the host has no generation ${to.generation} (it has ${gens.map(x => x.generation).join(', ') || 'none'})`
      )
    }
    return { storePath: g.storePath, generation: g.generation }
  }
  const older = gens.filter(g => current === null || g.generation < current)
  const prev = older[older.length - 1]
  if (!prev)
    throw hostError(
      { host, phase: 'resolve', kind: 'host-state' },
      `the host has no generation before ${current ?? 'the current one'} to return to`
    )
  return prev
}
