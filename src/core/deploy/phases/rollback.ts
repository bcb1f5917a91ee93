/**
 * Phase 9 (only after a failure), rollback: the host returns to the rollback point.
 * - `rollBack`: the runner does it, over the host's connection: the watchdog stands down, the
 *   profile goes back to the previous generation's own link (the failed generation is deleted),
 *   and the previous system is activated.
 * - `awaitWatchdog`: the host does it (the connection is gone, or its watchdog fired): the
 *   runner stopped its heartbeat and waits for the host to answer with the previous system.
 * - `bootPrevious`: after a reboot into a bad generation: the previous one becomes the boot
 *   default again and the host reboots into it.
 */
import type { DeployMode } from '../../model.js'
import type { Probe } from '../remote-system.js'
import { activateSystem } from './activate.js'
import type { RollbackPoint } from './record.js'
import { rebootInto } from './reboot.js'
import { ok, phase, sleep, type HostContext, type Outcome } from './outcome.js'

export function rollBack(
  ctx: HostContext,
  opts: {
    id: string
    point: RollbackPoint
    mode: DeployMode
    /** A watchdog was armed for this deploy (it is stood down first). */
    armed: boolean
    activationSeconds: number
  }
): Promise<Outcome<'restored'>> {
  return phase(ctx, 'rollback', async () => {
    if (opts.armed) {
      const d = await ctx.system.disarm(opts.id)
      if (d.fired) {
        // The watchdog was faster; it restored the previous generation itself.
        if (d.exit !== '0' && d.exit !== '4')
          return { kind: 'error', detail: `the host's watchdog rollback exited with ${d.exit}` }
        return ok('restored' as const)
      }
    }
    // A host that ran a specialisation: its generation's system goes back into the profile, and
    // that specialisation is activated again.
    const r = await activateSystem(ctx, {
      id: `${opts.id}-rb`,
      toplevel: opts.point.profileSystem ?? opts.point.storePath,
      specialisation: opts.mode === 'boot' ? undefined : opts.point.specialisation,
      action: opts.mode === 'test' ? 'test' : opts.mode === 'boot' ? 'boot' : 'switch',
      profile: opts.mode === 'test' ? 'keep' : 'restore-delete',
      restoreLink: opts.point.link ?? '',
      timeoutSeconds: opts.activationSeconds
    })
    // Exit code 4: the previous system is active but some unit failed (reported by the checks).
    if (r.kind === 'ok' || (r.kind === 'activation-failed' && r.exitCode === 4))
      return ok('restored' as const)
    if (r.kind === 'connection-lost')
      return { kind: 'connection-lost', detail: 'the connection was lost during the rollback' }
    if (r.kind === 'activation-failed')
      return {
        kind: 'error',
        detail: `switch-to-configuration of the previous generation exited with ${r.exitCode}`
      }
    return r
  })
}

/** Waits for the host's own watchdog to restore the rollback point. */
export function awaitWatchdog(
  ctx: HostContext,
  opts: {
    id: string
    point: RollbackPoint
    confirmSeconds: number
    activationSeconds: number
    /** Why the host restores itself: the connection was lost, or its watchdog fired already. */
    because: 'connection-lost' | 'watchdog-fired'
  }
): Promise<Outcome<Probe>> {
  const waitSeconds = opts.confirmSeconds + opts.activationSeconds + 60
  ctx.logger.warning(
    opts.because === 'connection-lost'
      ? `${ctx.remote.host}: lost the connection; the host's watchdog restores ${opts.point.storePath} ${opts.confirmSeconds} s after the last heartbeat. Waiting for it.`
      : `${ctx.remote.host}: the host's watchdog fired; it restores ${opts.point.storePath}. Waiting for it.`
  )
  return phase(
    ctx,
    'rollback',
    async () => {
      const until = Date.now() + waitSeconds * 1000
      while (Date.now() < until) {
        await sleep(1000)
        const now = await ctx.system.probe('', 'rollback').catch(() => null)
        if (!now || now.current !== opts.point.storePath) continue
        const state = await ctx.system.watchdogState(opts.id).catch(() => null)
        if (state && (!state.fired || state.exit === 'running')) continue
        return ok(now)
      }
      return { kind: 'not-back', seconds: waitSeconds }
    },
    () => "by the host's watchdog"
  )
}

/** Makes the rollback point the boot default again and reboots into it. */
export function bootPrevious(
  ctx: HostContext,
  opts: { id: string; point: RollbackPoint; activationSeconds: number }
): Promise<Outcome<Probe>> {
  return phase(
    ctx,
    'rollback',
    async () => {
      const r = await activateSystem(ctx, {
        id: `${opts.id}-rb`,
        // The boot default is the generation's own system (a specialisation is not booted by default).
        toplevel: opts.point.profileSystem ?? opts.point.storePath,
        action: 'boot',
        profile: 'restore-delete',
        restoreLink: opts.point.link ?? '',
        timeoutSeconds: opts.activationSeconds
      })
      if (r.kind !== 'ok')
        return {
          kind: 'error',
          detail: `making the previous generation the boot default failed (${r.kind === 'activation-failed' ? `exit code ${r.exitCode}` : 'connection lost'})`
        }
      const bootNow = (await ctx.system.probe('', 'rollback')).bootId
      const back = await rebootInto(ctx, {
        bootIdBefore: bootNow,
        expected: opts.point.profileSystem ?? opts.point.storePath,
        waitSeconds: opts.activationSeconds
      })
      if (back.kind === 'not-back') return { kind: 'not-back', seconds: back.seconds }
      return back
    },
    p => `booted ${p.current}`
  )
}
