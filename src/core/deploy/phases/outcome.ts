/**
 * What a phase returns: `ok` with its value, or one typed failure. The pipeline decides on the
 * kind (never on a message's words); `describeFailure` turns a failure into the clause that
 * follows "Host X failed in phase Y:".
 */
import { ActionError } from '../../errors.js'
import type { Logger } from '../../log.js'
import type { Remote, SshSession } from '../../ssh.js'
import type { RemoteSystem } from '../remote-system.js'
import type { HostResult, PhaseName } from '../../model.js'

export type Failure =
  /** The host could not be reached, or the connection dropped (a new login failed). */
  | { kind: 'connection-lost'; detail: string }
  /** Another deploy holds the host's lock. */
  | { kind: 'busy'; detail: string }
  /** The host's watchdog restored the previous generation before the runner confirmed. */
  | { kind: 'watchdog-fired'; detail: string }
  /** switch-to-configuration failed: its exit code and the units it reported failed. */
  | {
      kind: 'activation-failed'
      action: string
      exitCode: number | null
      units: string[]
      /** With exit code 4: the units, user units and users that failed, in words (exit4Reason). */
      exit4?: string
      timedOut?: boolean
    }
  /** A health check did not pass within health-timeout. */
  | { kind: 'health-failed'; check: string }
  /** The host did not answer again within `seconds` of a reboot. */
  | { kind: 'not-back'; seconds: number }
  /** The host answers but runs another system than the phase expected. */
  | { kind: 'wrong-system'; running: string | null; expected: string; detail: string }
  /** The host cannot be deployed as it is (no flock, no usable previous generation, …). */
  | { kind: 'host-state'; detail: string }
  /** A command failed (its exit code, its last words). */
  | { kind: 'error'; detail: string }

export type Outcome<T> = { kind: 'ok'; value: T } | Failure

export function ok<T>(value: T): Outcome<T> {
  return { kind: 'ok', value }
}

export function isOk<T>(o: Outcome<T>): o is { kind: 'ok'; value: T } {
  return o.kind === 'ok'
}

/** The clause that says what went wrong (after "Host X failed in phase Y:"). */
export function describeFailure(f: Failure): string {
  switch (f.kind) {
    case 'activation-failed': {
      const head = `switch-to-configuration ${f.action}`
      if (f.timedOut)
        return `activation failed: ${head} was still running after the activation-timeout`
      return f.exitCode === 4
        ? `activation failed: ${head} exited with code 4 (${f.exit4 ?? `units failed: ${f.units.join(', ') || 'see the log'}`})`
        : `activation failed: ${head} exited with code ${f.exitCode}`
    }
    case 'health-failed':
      return `health check failed: ${f.check}`
    case 'not-back':
      return `the host did not come back within ${f.seconds} s of the reboot`
    default:
      return f.detail
  }
}

/** A thrown error as a failure: its kind as data (never its words), its clause as the detail. */
export function failureOf(err: unknown): Failure {
  if (err instanceof ActionError) {
    const detail = err.reason ?? err.message.replace(/\.$/, '')
    if (err.kind === 'connection') return { kind: 'connection-lost', detail }
    if (err.kind === 'busy') return { kind: 'busy', detail }
    if (err.kind === 'host-state') return { kind: 'host-state', detail }
    return { kind: 'error', detail }
  }
  return { kind: 'error', detail: err instanceof Error ? err.message : String(err) }
}

/** Everything a phase needs: the host, its connection, and the record the phases fill in. */
export interface HostContext {
  session: SshSession
  remote: Remote
  system: RemoteSystem
  logger: Logger
  /** The record of this host's deploy or rollback (phases append to `result.phases`). */
  result: HostResult
  onPhase?: (host: string, phase: PhaseName) => void
}

/**
 * Runs one phase and records it (name, status, time, a short detail) in the host's record. A
 * phase that throws (a bug, or an ActionError it did not expect) is recorded as failed, typed by
 * `failureOf`.
 */
export async function phase<T>(
  ctx: HostContext,
  name: PhaseName,
  fn: () => Promise<Outcome<T>>,
  detail?: (v: T) => string | undefined
): Promise<Outcome<T>> {
  ctx.onPhase?.(ctx.remote.host, name)
  const t0 = Date.now()
  let out: Outcome<T>
  try {
    out = await fn()
  } catch (err) {
    out = failureOf(err)
  }
  const t1 = Date.now()
  const times = { durationMs: t1 - t0, startedAt: t0, endedAt: t1 }
  ctx.result.phases.push(
    out.kind === 'ok'
      ? { name, status: 'ok', ...times, detail: detail?.(out.value) }
      : { name, status: 'failed', ...times, detail: describeFailure(out) }
  )
  return out
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms))
}
