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
  /**
   * When the host ran a specialisation of its profile's system: that system (the profile goes
   * back to it, `link` is its generation) and the specialisation's name (activated again).
   */
  profileSystem?: string
  specialisation?: string
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
      // A specialisation of the profile's system runs: come back to that generation, and to
      // that specialisation of it.
      const spec = !ownLink && state.specialisation && state.profile ? state.specialisation : null
      return ok({
        storePath: state.current,
        link: ownLink || spec ? state.generationLink : null,
        generation: ownLink || spec ? state.generation : null,
        ...(spec ? { profileSystem: state.profile as string, specialisation: spec } : {})
      })
    },
    p =>
      p
        ? `${p.storePath}${p.generation !== null ? ` (generation ${p.generation}${p.specialisation ? `, specialisation ${p.specialisation}` : ''})` : ''}`
        : 'no previous system'
  )
}
