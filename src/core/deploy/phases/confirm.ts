/**
 * Phase 8, confirm: stops the heartbeat and tells the host's watchdog to stand down. If the
 * watchdog fired first, the host is already returning to the previous generation.
 */
import type { Heartbeat } from '../heartbeat.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export function confirm(
  ctx: HostContext,
  id: string,
  heartbeat: Heartbeat
): Promise<Outcome<'confirmed'>> {
  return phase(
    ctx,
    'confirm',
    async () => {
      heartbeat.stop()
      if (heartbeat.fired || (await ctx.system.confirm(id)) === 'fired')
        return {
          kind: 'watchdog-fired',
          detail:
            'the rollback watchdog fired before the deployment was confirmed (confirm-timeout too short?)'
        }
      return ok('confirmed' as const)
    },
    () => `${heartbeat.acknowledged} heartbeat(s)`
  )
}
