/**
 * Phase (mode boot with reboot), reboot: asks the host to reboot, waits for it to answer with a
 * new boot id (a new SSH connection: the old one ended with the host), and checks it booted the
 * expected system. The rollback of a reboot reuses it to boot the previous generation.
 */
import type { Probe } from '../remote-system.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export async function rebootInto(
  ctx: HostContext,
  opts: { bootIdBefore: string; expected: string; waitSeconds: number }
): Promise<Outcome<Probe>> {
  await ctx.system.reboot()
  const p = await ctx.system.waitForBoot(opts.bootIdBefore, opts.waitSeconds)
  if (!p) return { kind: 'not-back', seconds: opts.waitSeconds }
  if (p.current !== opts.expected)
    return {
      kind: 'wrong-system',
      running: p.current,
      expected: opts.expected,
      detail: `after the reboot the host runs ${p.current ?? 'no system'}, not ${opts.expected}`
    }
  return ok(p)
}

export function reboot(
  ctx: HostContext,
  opts: { bootIdBefore: string; expected: string; waitSeconds: number }
): Promise<Outcome<Probe>> {
  return phase(
    ctx,
    'reboot',
    () => rebootInto(ctx, opts),
    p => `booted ${p.current} (boot ${p.bootId.slice(0, 8)})`
  )
}
