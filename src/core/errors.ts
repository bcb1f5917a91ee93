/**
 * The one error type the engine throws on purpose. Its message is a single sentence a user can
 * act on; `kind`, `host`, `phase` and `detail` say what and where, as data. Adapters print
 * `message` (and `detail`, the failing command's last lines, to the log) and fail the step;
 * anything that is not an ActionError is a bug and is reported as such.
 *
 * Sentences about a host are written by `hostSentence` and nowhere else.
 */
import type { RunResult } from './process.js'

/**
 * What went wrong, for code that must decide (never by reading the message):
 * - `input`: a value the user gave is not acceptable;
 * - `connection`: the host could not be reached or the SSH connection dropped;
 * - `busy`: another deploy holds the host's lock;
 * - `command`: a command ran and failed (exit code, timeout);
 * - `host-state`: the host is not in a state the phase can work with;
 * - `failed`: anything else the engine refuses or reports.
 */
export type ErrorKind = 'input' | 'connection' | 'busy' | 'command' | 'host-state' | 'failed'

export interface ErrorWhere {
  kind?: ErrorKind
  host?: string
  phase?: string
  input?: string
  /** Longer text for the log (a failing command's last output lines); never in the sentence. */
  detail?: string
  /** The process whose failure this is (for annotations of nix evaluation errors). */
  result?: RunResult
  /** The clause after "Host X, phase Y:" (set by `hostError`), for records that restate it. */
  reason?: string
  cause?: unknown
}

export class ActionError extends Error {
  readonly kind: ErrorKind
  readonly host?: string
  readonly phase?: string
  readonly input?: string
  readonly detail?: string
  readonly result?: RunResult
  readonly reason?: string

  constructor(message: string, where: ErrorWhere = {}) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause })
    this.name = 'ActionError'
    this.kind = where.kind ?? (where.input && !where.host ? 'input' : 'failed')
    this.host = where.host
    this.phase = where.phase
    this.input = where.input
    this.detail = where.detail
    this.result = where.result
    this.reason = where.reason
  }
}

/**
 * THE sentence about a host and a phase, ending with one full stop:
 * - `Host web, phase probe: could not connect: connection refused.` (what went wrong);
 * - `Host web failed in phase verify: health check failed: …; rolled back to ….` (`failed: true`,
 *   the outcome of a whole host's deploy or rollback).
 * `at` adds the SSH destination after the host's name: `Host web (root@10.0.0.1:22), phase …`.
 * `text` is a clause: a full stop at its end is not doubled, a question mark ends it as it is.
 */
export function hostSentence(
  where: { host: string; phase: string; at?: string; failed?: boolean; of?: string },
  text: string
): string {
  const who = where.at ? `${where.host} (${where.at})` : where.host
  const phase = `${where.phase}${where.of ? ` ${where.of}` : ''}`
  const head = where.failed ? `Host ${who} failed in phase ${phase}` : `Host ${who}, phase ${phase}`
  const body = text.trim().replace(/\.+$/, '')
  return `${head}: ${body}${/[?!]$/.test(body) ? '' : '.'}`
}

/** An ActionError about a host, its message written by `hostSentence`. */
export function hostError(
  where: Omit<ErrorWhere, 'host' | 'phase'> & { host: string; phase: string; at?: string },
  text: string
): ActionError {
  return new ActionError(hostSentence(where, text), {
    ...where,
    reason: text.trim().replace(/\.+$/, '')
  })
}

/** An input the user gave is not acceptable. The message names the input. */
export function badInput(input: string, problem: string): ActionError {
  return new ActionError(`Input '${input}' ${problem}`, { input, kind: 'input' })
}

/** The text to show a user for any thrown value: ActionErrors as they are, others as one line. */
export function describeError(err: unknown): string {
  if (err instanceof ActionError) return err.message
  if (err instanceof Error) {
    const first = (err.message || err.name).split('\n')[0]
    return `Unexpected internal error: ${first}`
  }
  return `Unexpected internal error: ${String(err)}`
}
