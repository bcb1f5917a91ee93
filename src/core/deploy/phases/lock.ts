/**
 * Phase 2, lock: takes the host's deploy lock, held by an SSH session of its own (a channel of
 * the host's connection) until `release`. A second deploy fails fast naming who holds it. Once
 * the lock is held, the host's state is read again: that is what a failure comes back to.
 */
import type { Probe } from '../remote-system.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export interface HostLock {
  /** The host's state read under the lock. */
  state: Probe
  release: () => Promise<void>
}

export function lock(
  ctx: HostContext,
  holder: string,
  maxSeconds: number,
  wanted = ''
): Promise<Outcome<HostLock>> {
  return phase(ctx, 'lock', async () => ok(await ctx.system.lock(holder, maxSeconds, wanted)))
}
