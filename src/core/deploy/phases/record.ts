/**
 * Phase 4, record: decides what a failure comes back to, from the state read under the lock: the
 * running system and, when the profile points at it, its generation link (so a rollback returns
 * to that exact generation). Fails, before anything changes, when rollback is on but the running
 * system could not be activated again.
 */
import type { Probe } from '../remote-system.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

/** The system to come back to. */
export interface RollbackPoint {
  storePath: string
  /** Its generation's link name (system-N-link) when the profile points at it. */
  link: string | null
  generation: number | null
}

export function record(
  ctx: HostContext,
  state: Probe,
  rollback: boolean
): Promise<Outcome<RollbackPoint | null>> {
  return phase(
    ctx,
    'record',
    async () => {
      if (!state.current) return ok(null)
      if (rollback && !state.activatable) {
        return {
          kind: 'host-state',
          detail: `the running system ${state.current} has no bin/switch-to-configuration, so it could not be restored after a failure (deploy with rollback: false to go on without a way back)`
        }
      }
      const ownLink = state.profile === state.current
      return ok({
        storePath: state.current,
        link: ownLink ? state.generationLink : null,
        generation: ownLink ? state.generation : null
      })
    },
    p =>
      p
        ? `${p.storePath}${p.generation !== null ? ` (generation ${p.generation})` : ''}`
        : 'no previous system'
  )
}
