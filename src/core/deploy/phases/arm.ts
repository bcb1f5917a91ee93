/**
 * Phase 5, arm: starts the host's watchdog (a process of the host's own, outliving any SSH
 * connection) and the runner's heartbeat. Unless the runner confirms, the watchdog restores the
 * rollback point once no heartbeat came for confirm-timeout seconds.
 */
import type { DeployMode } from '../../model.js'
import { Heartbeat, beatInterval } from '../heartbeat.js'
import type { RollbackPoint } from './record.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export function arm(
  ctx: HostContext,
  opts: {
    id: string
    point: RollbackPoint
    mode: DeployMode
    confirmSeconds: number
    activationSeconds: number
    /** The longest the deploy can last (the heartbeat channel's cap). */
    maxSeconds: number
  }
): Promise<Outcome<Heartbeat>> {
  return phase(
    ctx,
    'arm',
    async () => {
      await ctx.system.armWatchdog(
        opts.id,
        opts.confirmSeconds,
        opts.point.storePath,
        opts.point.link,
        opts.mode,
        opts.activationSeconds,
        opts.point.profileSystem ?? null
      )
      const heartbeat = new Heartbeat(
        ctx.system,
        opts.id,
        opts.confirmSeconds,
        opts.maxSeconds,
        ctx.logger
      )
      if (!(await heartbeat.start())) {
        heartbeat.stop()
        await ctx.system.disarm(opts.id).catch(() => null)
        return {
          kind: 'connection-lost',
          detail: "the host did not answer the rollback watchdog's first heartbeat"
        }
      }
      return ok(heartbeat)
    },
    () =>
      `heartbeat every ${beatInterval(opts.confirmSeconds)} s, confirm-timeout ${opts.confirmSeconds} s`
  )
}
