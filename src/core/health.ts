/**
 * The health-check runner: after a deploy switched a host to its new generation, it proves the
 * host healthy before the deployment is confirmed (anything failing rolls the host back).
 *
 * Semantics (see the `health-checks` input in the contract and `health-config.ts`):
 * - Placeholders `{host}` / `{target}` are expanded per host (`expandCheck`) before anything runs;
 *   a host name or address a check may not contain is an ActionError (a configuration error).
 * - Checks run in parallel, each with its own retry loop: a failing check is retried, waiting
 *   `intervalMs` between the end of one attempt and the start of the next, until it passes or the
 *   overall deadline (`timeoutMs`, the `health-timeout` input) has passed. A check that has passed
 *   is not run again. The result is ok only when every check passed.
 * - One attempt is bounded by the check's own `timeout` (seconds), else `attemptTimeoutMs`; near
 *   the deadline an attempt is shortened to the time left, but never below one second (so the
 *   last attempt is a real one). `runHealthChecks` thus returns within about `timeoutMs` + 1 s.
 * - A failing check is never thrown: it is an outcome with the last observation as `detail`.
 *   Only configuration or programming errors throw (ActionError).
 * - `signal` (deploy cancelled) stops every loop early; unfinished checks fail with "cancelled".
 *
 * Where each kind runs:
 * - `http`: from the runner, with Node's fetch. Redirects are NOT followed: a health endpoint that
 *   redirects (to https, to a login page) would otherwise pass on whatever page it lands on. The
 *   3xx status is reported (with its Location) so the user can fix the URL or accept the status.
 *   At most 1 MiB of the body is read for a `body` match.
 * - `command`, `tcp`, `systemd`: on the host, over SSH (`ctx.runOnHost`, which the caller builds
 *   with `remoteRun`: in a deploy, a channel of the host's one connection; the verify phase has
 *   proven with a fresh login of its own that the new generation accepts new connections).
 */
import { ActionError } from './errors.js'
import {
  bodyAccepted,
  describeCheck,
  expandCheck,
  statusAccepted,
  type HealthCheck
} from './health-config.js'
import { replaceControlCharacters, showValue } from './inputs.js'
import type { Logger } from './log.js'
import { secrets } from './secrets.js'
import { describeSshError, SSH_CONNECTION_FAILED } from './ssh.js'

export const DEFAULT_INTERVAL_MS = 2000
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000
/** A retrying check logs at most one progress line per this many milliseconds. */
export const LOG_EVERY_MS = 10_000
/** The most of an HTTP response body read for a `body` match. */
export const MAX_BODY_BYTES = 1024 * 1024
/** The shortest attempt, even when less time than that is left before the deadline. */
const MIN_ATTEMPT_MS = 1000
/** Longest detail text (characters). */
const MAX_DETAIL = 200

/** What `runOnHost` reports: the fields of `RunResult` the runner reads. */
export interface HostCommandResult {
  exitCode: number | null
  stdout: string
  stderr: string
  timedOut: boolean
}

export interface HealthContext {
  /** The host's name (`{host}`). */
  host: string
  /** The target's address (`{target}`): a host name or IP; an IPv6 literal without brackets. */
  address: string
  /**
   * Runs a command on the host over SSH (the caller builds it with remoteRun: each argv word
   * quoted for the remote shell; the deploy's verify phase has proven a fresh login first).
   * Must not throw for a non-zero exit.
   */
  runOnHost(argv: string[], timeoutMs: number): Promise<HostCommandResult>
  logger?: Logger
}

export interface HealthOptions {
  /** The overall deadline (the `health-timeout` input), milliseconds. */
  timeoutMs: number
  /** Pause between a failed attempt and the next one (default 2000). */
  intervalMs?: number
  /** Time for one attempt when the check has no `timeout` of its own (default 10000). */
  attemptTimeoutMs?: number
  /** Aborting stops every check early (the deploy was cancelled). */
  signal?: AbortSignal
  /** The time and the pause between attempts (default: the real ones); tests count with their own. */
  clock?: HealthClock
}

/** What the retry loop reads the time from, and how it pauses between attempts. */
export interface HealthClock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

const REAL_CLOCK: HealthClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepAtLeast(ms, signal)
}

export interface CheckOutcome {
  /** The check's label (describeCheck). */
  check: string
  ok: boolean
  attempts: number
  /** The last observation: "answered 500", "exit code 3: …", "connection refused", "running". */
  detail: string
  durationMs: number
}

export interface HealthResult {
  ok: boolean
  /** One per check, in the order the checks were given. */
  outcomes: CheckOutcome[]
  durationMs: number
  /** The first failing check's one-line description when !ok. */
  failure?: string
}

/** The result of one attempt. */
interface Observation {
  ok: boolean
  detail: string
}

/**
 * Runs every check against one host until all passed or the deadline passed.
 * Throws only ActionError, for a configuration error (bad options, an address a check may not hold).
 */
export async function runHealthChecks(
  checks: HealthCheck[],
  ctx: HealthContext,
  opts: HealthOptions
): Promise<HealthResult> {
  const clock = opts.clock ?? REAL_CLOCK
  const started = clock.now()
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS
  const where = { host: ctx.host, phase: 'health' }
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0)
    throw new ActionError(
      `${ctx.host}: the health-check timeout must be a positive number of seconds.`,
      where
    )
  if (!Number.isFinite(intervalMs) || intervalMs < 0)
    throw new ActionError(`${ctx.host}: the health-check interval must not be negative.`, where)
  if (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs <= 0)
    throw new ActionError(`${ctx.host}: the health-check attempt timeout must be positive.`, where)

  // Expand every check first: a configuration error stops before anything runs.
  const expanded = checks.map(c => expandCheck(c, { host: ctx.host, target: ctx.address }))
  const deadline = started + opts.timeoutMs
  const outcomes = await Promise.all(
    expanded.map(check =>
      runOneCheck(check, ctx, {
        deadline,
        intervalMs,
        attemptTimeoutMs: check.timeout !== undefined ? check.timeout * 1000 : attemptTimeoutMs,
        signal: opts.signal,
        clock
      })
    )
  )
  const failed = outcomes.find(o => !o.ok)
  const result: HealthResult = { ok: !failed, outcomes, durationMs: clock.now() - started }
  if (failed) {
    const tries = failed.attempts === 1 ? '1 attempt' : `${failed.attempts} attempts`
    result.failure = `${failed.check}: ${failed.detail} (${tries} in ${seconds(failed.durationMs)} s)`
  }
  return result
}

interface LoopOptions {
  deadline: number
  intervalMs: number
  attemptTimeoutMs: number
  signal?: AbortSignal
  clock: HealthClock
}

/** One check's retry loop. */
async function runOneCheck(
  check: HealthCheck,
  ctx: HealthContext,
  o: LoopOptions
): Promise<CheckOutcome> {
  const label = describeCheck(check)
  const started = o.clock.now()
  let attempts = 0
  let detail = ''
  let lastLog = -Infinity
  const outcome = (ok: boolean): CheckOutcome => ({
    check: label,
    ok,
    attempts,
    detail,
    durationMs: o.clock.now() - started
  })
  const cancelled = () => {
    detail = detail ? `cancelled (last seen: ${detail})` : 'cancelled'
    return outcome(false)
  }

  for (;;) {
    if (o.signal?.aborted) return cancelled()
    const remaining = o.deadline - o.clock.now()
    if (attempts > 0 && remaining <= 0) break
    attempts++
    // Near the deadline the attempt gets the time left, but at least MIN_ATTEMPT_MS.
    const attemptMs = Math.min(
      o.attemptTimeoutMs,
      Math.max(remaining, Math.min(o.attemptTimeoutMs, MIN_ATTEMPT_MS))
    )
    const seen = await untilAborted(attemptOnce(check, ctx, attemptMs, o.signal), o.signal)
    if (seen === null) return cancelled()
    if (seen.ok) {
      detail = seen.detail
      ctx.logger?.info(
        `${ctx.host}: ${label} passed` +
          (attempts > 1
            ? ` (attempt ${attempts}, after ${seconds(o.clock.now() - started)} s)`
            : '')
      )
      return outcome(true)
    }
    detail = seen.detail
    const left = o.deadline - o.clock.now()
    if (left <= 0) break
    if (o.clock.now() - lastLog >= LOG_EVERY_MS) {
      lastLog = o.clock.now()
      ctx.logger?.info(
        `${ctx.host}: ${label}: ${detail}, retrying (attempt ${attempts}, ${Math.ceil(left / 1000)} s left)`
      )
    } else {
      ctx.logger?.debug(`${ctx.host}: ${label}: ${detail} (attempt ${attempts})`)
    }
    await o.clock.sleep(Math.min(o.intervalMs, left), o.signal)
  }
  return outcome(false)
}

/** One attempt of a check. Never throws: whatever goes wrong is the observation. */
async function attemptOnce(
  check: HealthCheck,
  ctx: HealthContext,
  timeoutMs: number,
  signal?: AbortSignal
): Promise<Observation> {
  try {
    switch (check.kind) {
      case 'http':
        return await httpAttempt(check, timeoutMs, signal)
      case 'command':
        return await commandAttempt(check.command, ctx, timeoutMs)
      case 'tcp':
        return await tcpAttempt(check.host ?? TCP_DEFAULT_HOST, check.port, ctx, timeoutMs)
      case 'systemd':
        return await systemdAttempt(check.state, ctx, timeoutMs)
    }
  } catch (err) {
    // e.g. ssh not found on the runner: an observation like any other, retried until the deadline.
    return { ok: false, detail: clean(err instanceof Error ? err.message : String(err)) }
  }
}

// ---------------------------------------------------------------------------------------------
// http: from the runner.

async function httpAttempt(
  check: Extract<HealthCheck, { kind: 'http' }>,
  timeoutMs: number,
  signal?: AbortSignal
): Promise<Observation> {
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onAbort = () => controller.abort()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const response = await fetch(check.url, {
      method: check.method,
      redirect: 'manual', // not followed: see the file's comment
      headers: { 'user-agent': 'nix-deploy-action health check', accept: '*/*' },
      signal: controller.signal
    })
    if (!statusAccepted(check, response.status)) {
      await response.body?.cancel().catch(() => undefined)
      const location = response.headers.get('location')
      const redirect =
        response.status >= 300 && response.status < 400 && location
          ? ` (a redirect to ${showValue(location, 100)}; redirects are not followed)`
          : ''
      return { ok: false, detail: `answered ${response.status}${redirect}` }
    }
    if (!check.body) {
      await response.body?.cancel().catch(() => undefined)
      return { ok: true, detail: `answered ${response.status}` }
    }
    const body = await readBody(response, MAX_BODY_BYTES)
    if (bodyAccepted(check, body)) return { ok: true, detail: `answered ${response.status}` }
    const wanted =
      check.body.kind === 'substring'
        ? `contain ${showValue(check.body.text, 40)}`
        : `match /${clip(check.body.source, 40)}/${check.body.flags}`
    const head = check.method === 'HEAD' ? ' (a HEAD request gets no body)' : ''
    return {
      ok: false,
      detail: `answered ${response.status}, but the body did not ${wanted}${head}`
    }
  } catch (err) {
    if (timedOut) return { ok: false, detail: `timed out after ${seconds(timeoutMs)} s` }
    if (signal?.aborted) return { ok: false, detail: 'cancelled' }
    return { ok: false, detail: describeFetchError(err) }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/** The body as text, at most `max` bytes of it (the rest is not downloaded). */
async function readBody(response: Response, max: number): Promise<string> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    const room = max - size
    chunks.push(value.length > room ? value.subarray(0, room) : value)
    size += Math.min(value.length, room)
    if (size >= max) {
      await reader.cancel().catch(() => undefined)
      break
    }
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks))
}

/** fetch's "fetch failed" made specific, from the network error underneath. */
function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause as
    { code?: string; message?: string; errors?: { code?: string }[] } | undefined
  const code = cause?.code ?? cause?.errors?.[0]?.code
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ECONNRESET':
      return 'connection reset'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve'
    case 'EHOSTUNREACH':
      return 'no route to host'
    case 'ENETUNREACH':
      return 'network unreachable'
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out'
    case 'UND_ERR_SOCKET':
      return 'the connection closed before an answer'
  }
  if (code && /CERT|SELF_SIGNED|TLS|SSL/.test(code))
    return clean(`TLS certificate not accepted (${code}: ${cause?.message ?? ''})`)
  const message = cause?.message ?? (err instanceof Error ? err.message : String(err))
  return clean(code ? `${code}: ${message}` : message)
}

// ---------------------------------------------------------------------------------------------
// command: on the host.

/**
 * The user's own shell command, run by `sh -c` on their host. It comes from the workflow input
 * `health-checks` (written by the repository's owners), never from flake data; the only values
 * put into it are `{host}` and `{target}`, checked by expandCheck. It is passed as ONE argv word
 * (quoted by remoteRun for the remote login shell), never interpolated into a script of ours.
 */
async function commandAttempt(
  command: string,
  ctx: HealthContext,
  timeoutMs: number
): Promise<Observation> {
  const r = await ctx.runOnHost(['sh', '-c', command], timeoutMs)
  if (r.timedOut) return { ok: false, detail: `timed out after ${seconds(timeoutMs)} s` }
  if (r.exitCode === 0) return { ok: true, detail: 'exit code 0' }
  if (r.exitCode === SSH_CONNECTION_FAILED)
    return {
      ok: false,
      detail: clean(`exit code 255 (ssh could not connect?): ${describeSshError(r.stderr)}`)
    }
  const last = lastLine(r.stderr) || lastLine(r.stdout)
  const code = r.exitCode === null ? 'killed by a signal' : `exit code ${r.exitCode}`
  return { ok: false, detail: clean(last ? `${code}: ${last}` : code) }
}

// ---------------------------------------------------------------------------------------------
// tcp: on the host.

/**
 * `tcp: 443` (no host) is a port on the host itself, tried as `localhost` from the host's point
 * of view (bash and nc try every address it resolves to, 127.0.0.1 and ::1). A service listening
 * only on an external address needs `tcp: {target}:443`.
 */
export const TCP_DEFAULT_HOST = 'localhost'

/**
 * Tests a TCP port from the host. A constant of the suite; the host, port and seconds come in as
 * $1, $2, $3. First bash's /dev/tcp (bash on every NixOS), then `nc -z` (if bash lacks /dev/tcp or
 * is missing), each bounded by `timeout` when the host has it (the ssh call has its own timeout
 * too). Exit 0: open; 1: refused or failed (the reason on stderr); 124: timed out; 3: no tool.
 */
export const TCP_PROBE_SCRIPT = `host=$1 port=$2 secs=$3
limit() { if command -v timeout >/dev/null 2>&1; then timeout "$secs" "$@"; else "$@"; fi; }
if command -v bash >/dev/null 2>&1; then
  out=$(limit bash -c 'exec 3<>"/dev/tcp/$1/$2"' nix-deploy "$host" "$port" 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] && exit 0
  if [ "$rc" -eq 124 ]; then echo "timed out after $secs s" >&2; exit 124; fi
  case $out in
    *"No such file or directory"*) ;;
    *) printf '%s\\n' "$out" >&2; exit 1 ;;
  esac
fi
if command -v nc >/dev/null 2>&1; then
  out=$(limit nc -z -w "$secs" "$host" "$port" 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] && exit 0
  if [ "$rc" -eq 124 ]; then echo "timed out after $secs s" >&2; exit 124; fi
  printf 'nc: %s\\n' "\${out:-the port is closed}" >&2
  exit 1
fi
echo "neither bash (with /dev/tcp) nor nc is on the host to test a TCP port" >&2
exit 3
`

async function tcpAttempt(
  host: string,
  port: number,
  ctx: HealthContext,
  timeoutMs: number
): Promise<Observation> {
  // The probe gets a second less than the ssh call, so it reports its own timeout.
  const probeSeconds = Math.max(1, Math.floor(timeoutMs / 1000) - 1)
  const r = await ctx.runOnHost(
    ['sh', '-c', TCP_PROBE_SCRIPT, 'nix-deploy', host, String(port), String(probeSeconds)],
    timeoutMs
  )
  if (r.exitCode === 0 && !r.timedOut) return { ok: true, detail: 'port open' }
  if (r.timedOut) return { ok: false, detail: `timed out after ${seconds(timeoutMs)} s` }
  if (r.exitCode === 124) return { ok: false, detail: `timed out after ${probeSeconds} s` }
  if (r.exitCode === SSH_CONNECTION_FAILED)
    return { ok: false, detail: clean(`ssh could not connect: ${describeSshError(r.stderr)}`) }
  const text = r.stderr
  if (/Connection refused/i.test(text)) return { ok: false, detail: 'connection refused' }
  if (/Name or service not known|not known|resolv/i.test(text))
    return { ok: false, detail: 'the host name does not resolve (on the host)' }
  if (/No route to host/i.test(text)) return { ok: false, detail: 'no route to host' }
  if (/Network is unreachable/i.test(text)) return { ok: false, detail: 'network unreachable' }
  const last = lastLine(text) || lastLine(r.stdout)
  return { ok: false, detail: clean(last || `exit code ${r.exitCode}`) }
}

// ---------------------------------------------------------------------------------------------
// systemd: on the host.

/** At most this many failed units are named in a detail. */
const MAX_UNITS_SHOWN = 5

async function systemdAttempt(
  state: 'no-failed-units' | 'running',
  ctx: HealthContext,
  timeoutMs: number
): Promise<Observation> {
  if (state === 'no-failed-units') {
    const r = await ctx.runOnHost(['systemctl', '--failed', '--no-legend', '--plain'], timeoutMs)
    if (r.timedOut) return { ok: false, detail: `timed out after ${seconds(timeoutMs)} s` }
    if (r.exitCode !== 0) return { ok: false, detail: systemctlFailed(r) }
    const units = r.stdout
      .split('\n')
      .map(l => l.trim().split(/\s+/)[0])
      .filter(Boolean)
    if (units.length === 0) return { ok: true, detail: 'no failed units' }
    const shown = units.slice(0, MAX_UNITS_SHOWN).join(', ')
    const more = units.length > MAX_UNITS_SHOWN ? `, … (${units.length} in all)` : ''
    return { ok: false, detail: clean(`failed units: ${shown}${more}`) }
  }
  // `is-system-running` prints the state and exits non-zero unless it is "running".
  const r = await ctx.runOnHost(['systemctl', 'is-system-running'], timeoutMs)
  if (r.timedOut) return { ok: false, detail: `timed out after ${seconds(timeoutMs)} s` }
  const word = r.stdout.trim().split('\n')[0]?.trim() ?? ''
  if (word === 'running') return { ok: true, detail: 'running' }
  if (/^[a-z-]+$/.test(word) && r.exitCode !== SSH_CONNECTION_FAILED)
    return { ok: false, detail: `the system is ${word}, not running` }
  return { ok: false, detail: systemctlFailed(r) }
}

function systemctlFailed(r: HostCommandResult): string {
  if (r.exitCode === SSH_CONNECTION_FAILED)
    return clean(`ssh could not connect: ${describeSshError(r.stderr)}`)
  const last = lastLine(r.stderr) || lastLine(r.stdout)
  return clean(`systemctl exited with code ${r.exitCode}${last ? `: ${last}` : ''}`)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** The last non-empty line of a command's output. */
function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map(l => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  )
}

/** One printable line, secrets masked, at most MAX_DETAIL characters. */
function clean(text: string): string {
  return clip(secrets.scrub(replaceControlCharacters(text).trim()), MAX_DETAIL)
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Milliseconds as whole seconds for messages (at least 1 when any time passed). */
function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.max(1, Math.round(ms / 1000))
}

/** `promise`'s value, or null as soon as `signal` aborts. */
async function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T | null> {
  if (!signal) return promise
  if (signal.aborted) return null
  let onAbort = () => {}
  const aborted = new Promise<null>(resolve => {
    onAbort = () => resolve(null)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Waits until `ms` have passed by `Date.now()`, or less when `signal` aborts. A timer alone may
 * fire a millisecond or so early by that clock (libuv counts from the time its loop last read),
 * and a retry loop that leans on the interval (attempts at least `intervalMs` apart, none at or
 * after the deadline) would then squeeze in one attempt more.
 */
async function sleepAtLeast(ms: number, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms
  for (let left = ms; left > 0 && !signal?.aborted; left = end - Date.now()) {
    await sleep(left, signal)
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted || ms <= 0) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
