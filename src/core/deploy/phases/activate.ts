/**
 * Phase 6, activate: sets the system profile (unless mode is test) and runs the toplevel's
 * switch-to-configuration as a process of the host's own, followed across a dropped connection.
 * The rollback reuses `activateSystem` to activate the previous generation.
 */
import {
  exit4Reason,
  parseActivationOutput,
  type ActivationReport
} from '../../activation-output.js'
import type { RemoteSystem } from '../remote-system.js'
import {
  failureOf,
  ok,
  phase,
  sleep,
  type Failure,
  type HostContext,
  type Outcome
} from './outcome.js'

export interface Activation {
  /** The deploy id: the host's state files for this activation are named after it. */
  id: string
  toplevel: string
  action: 'switch' | 'boot' | 'test'
  /** set: a new generation; keep: the profile as it is; restore(-delete): back to `restoreLink`. */
  profile: 'set' | 'keep' | 'restore' | 'restore-delete'
  restoreLink?: string
  /** Activate this specialisation of the toplevel (the profile still gets the toplevel). */
  specialisation?: string
  /** NIXOS_INSTALL_BOOTLOADER=1 for switch-to-configuration (nixos-rebuild --install-bootloader). */
  installBootloader?: boolean
  timeoutSeconds: number
  onLine?: (line: string) => void
}

/** The exit code of the activation script when switch-to-configuration outlived the timeout. */
const STILL_RUNNING = 91

/** `<toplevel>/specialisation/<name>`: what nixos-rebuild --specialisation activates. */
export function specialisationPath(toplevel: string, name: string): string {
  return `${toplevel}/specialisation/${name}`
}

/**
 * Before anything is armed or switched: the failure when `toplevel` (copied to the host) has no
 * specialisation `name`, naming the ones it has; null when it has it.
 */
export async function missingSpecialisation(
  ctx: HostContext,
  toplevel: string,
  name: string
): Promise<Failure | null> {
  try {
    const r = await ctx.system.specialisation(toplevel, name)
    if (r.found) return null
    const has = r.names.length
      ? `it has ${r.names
          .slice(0, 10)
          .map(n => `'${n}'`)
          .join(', ')}${r.names.length > 10 ? ', …' : ''}`
      : 'it has none'
    return {
      kind: 'host-state',
      detail: `the system ${toplevel} has no specialisation '${name}' (${has}); nothing was activated`
    }
  } catch (err) {
    return failureOf(err)
  }
}

/** Runs one activation to its end. Failures: activation-failed (exit code, units), connection-lost. */
export async function activateSystem(
  ctx: HostContext,
  a: Activation,
  onReport?: (report: ActivationReport) => void
): Promise<Outcome<ActivationReport>> {
  const lines: string[] = []
  let r = await ctx.system.activate(
    a.id,
    a.toplevel,
    a.action,
    a.profile,
    a.timeoutSeconds,
    line => {
      lines.push(line)
      a.onLine?.(line)
    },
    a.restoreLink ?? '',
    {
      path: a.specialisation ? specialisationPath(a.toplevel, a.specialisation) : undefined,
      installBootloader: a.installBootloader
    }
  )
  if (r.connectionLost) {
    ctx.logger.warning(
      `${ctx.remote.host}: the SSH connection dropped during activation; reconnecting to follow it.`
    )
    r = {
      ...(await followActivation(ctx.system, a.id, a.timeoutSeconds)),
      profileLink: r.profileLink
    }
  }
  const report = parseActivationOutput(r.output || lines.join('\n'))
  onReport?.(report)
  if (r.connectionLost)
    return {
      kind: 'connection-lost',
      detail: 'activation failed: the connection to the host was lost during activation'
    }
  if (r.exitCode !== 0)
    return {
      kind: 'activation-failed',
      action: a.action,
      exitCode: r.exitCode,
      units: report.failed,
      exit4: exit4Reason(report),
      timedOut: r.exitCode === STILL_RUNNING
    }
  return ok(report)
}

export function activate(ctx: HostContext, a: Activation): Promise<Outcome<ActivationReport>> {
  return phase(
    ctx,
    'activate',
    () => activateSystem(ctx, a, report => (ctx.result.activation = report)),
    summarizeActivation
  )
}

/** After a dropped connection: waits over new connections for the activation to end. */
async function followActivation(system: RemoteSystem, id: string, activationSeconds: number) {
  const until = Date.now() + Math.min(activationSeconds, 120) * 1000
  while (Date.now() < until) {
    await sleep(1500)
    const w = await system
      .waitActivation(id, activationSeconds)
      .catch(() => ({ exitCode: null, output: '', connectionLost: true }))
    if (!w.connectionLost) return w
  }
  return { exitCode: null, output: '', connectionLost: true }
}

export function summarizeActivation(a: ActivationReport): string {
  const parts: string[] = []
  if (a.stop.length) parts.push(`stopped ${a.stop.length}`)
  if (a.restart.length) parts.push(`restarted ${a.restart.length}`)
  if (a.reload.length) parts.push(`reloaded ${a.reload.length}`)
  if (a.start.length + a.newlyStarted.length)
    parts.push(`started ${a.start.length + a.newlyStarted.length}`)
  if (a.failed.length) parts.push(`failed ${a.failed.join(', ')}`)
  return parts.length ? parts.join(', ') : 'no unit changes'
}
