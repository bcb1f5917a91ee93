/**
 * The one process runner. Every external command the suite runs (nix, ssh, git, ...) goes
 * through `run`: an argv array (never a shell string), a timeout on every call, output captured
 * and scrubbed of secrets before anything is logged or put into an error.
 */
import { ActionError } from './errors.js'
import { stripAnsi } from './inputs.js'
import { secrets } from './secrets.js'
import type { Logger } from './log.js'

export interface RunOptions {
  /** Milliseconds before the command (and its process group) is killed. Required: no call waits forever. */
  timeoutMs: number
  cwd?: string
  /** Extra environment; `undefined` removes a variable. The rest is inherited. */
  env?: Record<string, string | undefined>
  /** Written to the command's standard input, which is then closed. */
  input?: string | Buffer
  /** Called for each line of standard error (scrubbed), e.g. for progress. */
  onStderrLine?: (line: string) => void
  /** Called for each line of standard output (scrubbed). */
  onStdoutLine?: (line: string) => void
  /** Throw an ActionError when the exit code is not 0 (default true). */
  check?: boolean
  /** What the command is doing, for messages ("copying the closure to web1"). */
  what?: string
  /** Where it happened, for the ActionError. */
  host?: string
  phase?: string
  logger?: Logger
  /** Cap on captured output per stream, bytes (default 256 MiB). */
  maxOutputBytes?: number
  /** Between SIGTERM and SIGKILL when the command is ended (default KILL_GRACE_MS). */
  killGraceMs?: number
}

export interface RunResult {
  argv: string[]
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  durationMs: number
  timedOut: boolean
}

/**
 * node:child_process, loaded on the first command: loading it (with the stream and socket modules
 * it needs) costs a step about 2 ms, which a step that answers without starting a process (a
 * refusal, a diff read from the store's database) should not pay.
 */
let loadedChildProcess: typeof import('node:child_process') | undefined
function childProcess(): typeof import('node:child_process') {
  return (loadedChildProcess ??= process.getBuiltinModule('node:child_process'))
}

/** Processes still running, so a cancelled action can end them (see `killAll`). */
const running = new Set<number>()

/** Quote one word for a POSIX shell: the only quoting function in the suite. */
export function shellQuote(word: string): string {
  if (word === '') return "''"
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** An argv as a readable, copy-pastable line (for logs only; never executed). */
export function formatArgv(argv: readonly string[]): string {
  return secrets.scrub(argv.map(shellQuote).join(' '))
}

function lastLines(text: string, n: number): string {
  const lines = text
    .trim()
    .split('\n')
    .filter(l => l.trim() !== '')
  return lines.slice(-n).join('\n')
}

/**
 * The most telling line of a failed command's stderr: Nix's error message when there is one. Nix
 * before 2.13 puts it on the first `error:` line; later versions print a bare `error:`, the trace
 * (`… while …`, `at <file>:<line>:<col>:`, numbered source lines) and then the message on a last
 * `error: <message>` line, or on the lines after a last bare `error:`.
 */
export function errorSummary(stderr: string): string {
  const clean = stripAnsi(stderr)
  const lines = clean
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean)
  const errors = lines.flatMap((l, i) => (l.startsWith('error:') ? [i] : []))
  if (errors.length > 0) {
    const message = (i: number) => lines[i].replace(/^error:\s*/, '')
    if (message(errors[0])) return message(errors[0])
    const last = errors[errors.length - 1]
    if (message(last)) return message(last)
    const isTrace = (l: string) => l.startsWith('…') || l.startsWith('at ') || /^\d*\s*\|/.test(l)
    return lines.slice(last + 1).find(l => !isTrace(l)) ?? lines[errors[0]]
  }
  return lines[lines.length - 1] ?? ''
}

/**
 * Runs `argv` to its end and returns its output: `startProcess`, with `input` written to its
 * standard input (then closed), and, unless `check` is false, an ActionError when it fails.
 */
export async function run(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv')
  if (!(options.timeoutMs > 0)) throw new Error('run: a timeout is required')
  const proc = startProcess(argv, options)
  if (options.input !== undefined) proc.write(options.input)
  proc.closeInput()
  const result = await proc.done
  if (options.check !== false && (result.timedOut || result.exitCode !== 0))
    throw commandFailed(result, options)
  return result
}

function where(options: RunOptions): string {
  return options.host ? `${options.host}: ` : ''
}

export function commandFailed(
  result: RunResult,
  options: Pick<RunOptions, 'what' | 'host' | 'phase' | 'timeoutMs'>
): ActionError {
  const what = options.what ?? `'${result.argv[0]}'`
  let reason: string
  if (result.timedOut) reason = `timed out after ${Math.round(options.timeoutMs / 1000)} s`
  else if (result.signal) reason = `was killed by ${result.signal}`
  else {
    const summary = errorSummary(result.stderr)
    reason = `exited with code ${result.exitCode}${summary ? `: ${summary}` : ''}`
  }
  return new ActionError(`${where(options)}${what} ${reason}`.replace(/\.*$/, '.'), {
    kind: 'command',
    host: options.host,
    phase: options.phase,
    result,
    detail: lastLines(result.stderr, 30)
  })
}

/** Ends every command still running (a cancelled step). */
export function killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of running) {
    try {
      process.kill(-pid, signal)
    } catch {
      /* gone */
    }
  }
}

/** A command that keeps running while the caller works (e.g. an ssh session holding a lock). */
export interface LongRunning {
  /** Resolves with the first stdout line that satisfies `predicate`, or null if the process ends first or `timeoutMs` passes. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs: number): Promise<string | null>
  /** Writes to its standard input (false when it has ended). */
  write(data: string | Buffer): boolean
  /** Closes its standard input (the polite way to end an ssh session). */
  closeInput(): void
  /** Ends it (its process group): `signal` (SIGTERM by default), then SIGKILL if it outlives the grace period. */
  kill(signal?: NodeJS.Signals): void
  /**
   * Resolves when it has exited, with its output (scrubbed of secrets). Rejects with an
   * ActionError naming the program when it could not be started (not found, not executable).
   */
  done: Promise<RunResult>
  /** Its standard output so far, line by line (scrubbed). */
  lines: string[]
}

/** Time between SIGTERM and SIGKILL for a command that was told to end (timeout or `kill`). */
export const KILL_GRACE_MS = 3000

/** Why a program could not be started, as the end of a sentence. */
function spawnFailure(program: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return program.includes('/')
        ? `the program '${program}' does not exist`
        : `the program '${program}' was not found on PATH`
    case 'EACCES':
      return `the program '${program}' is not executable (permission denied)`
    case 'ENOEXEC':
      return `the program '${program}' is not in a format this system can run`
    default:
      return `the program '${program}' could not be started (${err.code ?? err.message})`
  }
}

/**
 * The one way the suite starts a process: argv only (never a shell string), in its own process
 * group, with a timeout (the longest it may live; then SIGTERM, and SIGKILL after
 * `killGraceMs`), output captured up to `maxOutputBytes` per stream (the rest is counted, not
 * kept), every line and the captured text scrubbed of secrets. `run` is built on it.
 */
export function startProcess(
  argv: readonly string[],
  options: Pick<
    RunOptions,
    | 'timeoutMs'
    | 'env'
    | 'logger'
    | 'cwd'
    | 'onStdoutLine'
    | 'onStderrLine'
    | 'maxOutputBytes'
    | 'what'
    | 'host'
    | 'phase'
    | 'killGraceMs'
  >
): LongRunning {
  if (argv.length === 0) throw new Error('startProcess: empty argv')
  if (!(options.timeoutMs > 0)) throw new Error('startProcess: a timeout is required')
  options.logger?.debug(`$ ${formatArgv(argv)}`)
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const maxBytes = options.maxOutputBytes ?? 256 * 1024 * 1024
  const grace = options.killGraceMs ?? KILL_GRACE_MS
  const started = Date.now()
  const child = childProcess().spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true // its own process group, so a timeout ends everything it started
  })
  const lines: string[] = []
  const waiters: { predicate: (l: string) => boolean; resolve: (l: string | null) => void }[] = []
  let exited = false
  let timedOut = false

  /** One stream: captured up to the cap, split into scrubbed lines as it arrives. */
  const capture = (onLine: (line: string) => void) => {
    const chunks: Buffer[] = []
    let kept = 0
    let pending = ''
    return {
      push(c: Buffer) {
        if (kept < maxBytes) {
          const part = c.length > maxBytes - kept ? c.subarray(0, maxBytes - kept) : c
          chunks.push(part)
          kept += part.length
        }
        pending += c.toString('utf8')
        let i
        while ((i = pending.indexOf('\n')) >= 0) {
          onLine(secrets.scrub(pending.slice(0, i)))
          pending = pending.slice(i + 1)
        }
      },
      end() {
        if (pending) onLine(secrets.scrub(pending))
        pending = ''
      },
      text: () => secrets.scrub(Buffer.concat(chunks).toString('utf8'))
    }
  }
  const out = capture(line => {
    lines.push(line)
    options.onStdoutLine?.(line)
    for (const w of [...waiters]) {
      if (w.predicate(line)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  const err = capture(line => options.onStderrLine?.(line))
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  child.stdin.on('error', () => {
    /* the command may exit before reading its input */
  })

  const pid = child.pid
  if (pid) running.add(pid)
  let killTimer: NodeJS.Timeout | null = null
  const killGroup = (signal: NodeJS.Signals) => {
    if (!pid || exited) return
    try {
      process.kill(-pid, signal)
    } catch {
      /* gone */
    }
    if (signal !== 'SIGKILL' && !killTimer) {
      killTimer = setTimeout(() => killGroup('SIGKILL'), grace)
      killTimer.unref()
    }
  }
  const timer = setTimeout(() => {
    timedOut = true
    killGroup('SIGTERM')
  }, options.timeoutMs)
  timer.unref()

  const done = new Promise<RunResult>((resolve, reject) => {
    const settle = () => {
      exited = true
      clearTimeout(timer)
      if (killTimer) clearTimeout(killTimer)
      if (pid) running.delete(pid)
      for (const w of waiters.splice(0)) w.resolve(null)
    }
    child.on('close', (exitCode, signal) => {
      if (exited) return
      settle()
      out.end()
      err.end()
      resolve({
        argv: [...argv],
        exitCode,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        durationMs: Date.now() - started,
        timedOut
      })
    })
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (exited) return
      settle()
      const what = options.what ?? `running '${argv[0]}'`
      reject(
        new ActionError(
          `${where(options)}${what} failed: ${secrets.scrub(spawnFailure(argv[0], e))}.`,
          { host: options.host, phase: options.phase, cause: e }
        )
      )
    })
  })
  // A caller that never waits for the end must not see an unhandled rejection.
  done.catch(() => {})
  return {
    lines,
    done,
    waitForLine(predicate, timeoutMs) {
      const found = lines.find(predicate)
      if (found !== undefined) return Promise.resolve(found)
      if (exited) return Promise.resolve(null)
      return new Promise(resolve => {
        const w = { predicate, resolve }
        waiters.push(w)
        setTimeout(() => {
          const i = waiters.indexOf(w)
          if (i >= 0) {
            waiters.splice(i, 1)
            resolve(null)
          }
        }, timeoutMs).unref()
      })
    },
    write(data) {
      if (exited || child.stdin.destroyed || child.stdin.writableEnded) return false
      child.stdin.write(data)
      return true
    },
    closeInput() {
      child.stdin.end()
    },
    kill(signal = 'SIGTERM') {
      killGroup(signal)
    }
  }
}
