/**
 * Phase 1, probe: opens the host's one SSH connection and reads what it runs now (the system,
 * its generation, its boot id, whether it has flock and systemd, whether the wanted closure is
 * there already).
 */
import type { Probe } from '../remote-system.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export function probe(ctx: HostContext, wanted: string): Promise<Outcome<Probe>> {
  return phase(
    ctx,
    'probe',
    async () => {
      await ctx.system.connect('probe', 'reading the current system')
      return ok(await ctx.system.probe(wanted))
    },
    p => `running ${p.current ?? 'no system yet'}`
  )
}

/** What the host runs, read again (for the record at the end); null when it does not answer. */
export async function readBack(ctx: HostContext, wanted = ''): Promise<Probe | null> {
  try {
    return await ctx.system.probe(wanted)
  } catch {
    return null
  }
}
