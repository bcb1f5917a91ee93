/**
 * The one process runner. Every external command the suite runs (nix, ssh, git, ...) goes
 * through `run`: an argv array (never a shell string), a timeout on every call, output captured
 * and scrubbed of secrets before anything is logged or put into an error.
 */
import { spawn } from 'node:child_process'
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

export async function run(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv')
  if (!(options.timeoutMs > 0)) throw new Error('run: a timeout is required')
  const started = Date.now()
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  options.logger?.debug(`$ ${formatArgv(argv)}`)
  const maxBytes = options.maxOutputBytes ?? 256 * 1024 * 1024

  return await new Promise<RunResult>((resolve, reject) => {
    let child
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd: options.cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true // its own process group, so a timeout ends everything it started
      })
    } catch (err) {
      reject(err)
      return
    }
    const out: Buffer[] = []
    const errChunks: Buffer[] = []
    let outBytes = 0
    let errBytes = 0
    let timedOut = false
    let settled = false
    const lineSplitter = (cb?: (line: string) => void) => {
      let pending = ''
      return {
        push(chunk: Buffer) {
          if (!cb) return
          pending += chunk.toString('utf8')
          let i
          while ((i = pending.indexOf('\n')) >= 0) {
            cb(secrets.scrub(pending.slice(0, i)))
            pending = pending.slice(i + 1)
          }
        },
        end() {
          if (cb && pending) cb(secrets.scrub(pending))
          pending = ''
        }
      }
    }
    const outLines = lineSplitter(options.onStdoutLine)
    const errLines = lineSplitter(options.onStderrLine)
    child.stdout.on('data', (c: Buffer) => {
      if (outBytes < maxBytes) out.push(c)
      outBytes += c.length
      outLines.push(c)
    })
    child.stderr.on('data', (c: Buffer) => {
      if (errBytes < maxBytes) errChunks.push(c)
      errBytes += c.length
      errLines.push(c)
    })
    child.stdin.on('error', () => {
      /* the command may exit before reading its input */
    })
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()

    const pid = child.pid
    if (pid) running.add(pid)
    const killGroup = (signal: NodeJS.Signals) => {
      if (!pid) return
      try {
        process.kill(-pid, signal)
      } catch {
        /* already gone */
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup('SIGTERM')
      setTimeout(() => killGroup('SIGKILL'), 3000).unref()
    }, options.timeoutMs)

    child.on('error', err => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (pid) running.delete(pid)
      const code = (err as NodeJS.ErrnoException).code
      const what = options.what ?? argv[0]
      reject(
        new ActionError(
          code === 'ENOENT'
            ? `${where(options)}${what} failed: the command '${argv[0]}' was not found on PATH.`
            : `${where(options)}${what} failed: ${secrets.scrub(err.message)}.`,
          { host: options.host, phase: options.phase, cause: err }
        )
      )
    })
    child.on('close', (exitCode, signal) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (pid) running.delete(pid)
      outLines.end()
      errLines.end()
      const result: RunResult = {
        argv: [...argv],
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: secrets.scrub(Buffer.concat(errChunks).toString('utf8')),
        durationMs: Date.now() - started,
        timedOut
      }
      if (options.check !== false && (timedOut || exitCode !== 0)) {
        reject(commandFailed(result, options))
        return
      }
      resolve(result)
    })
  })
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
  const err = new ActionError(`${where(options)}${what} ${reason}`.replace(/\.*$/, '.'), {
    host: options.host,
    phase: options.phase
  })
  ;(err as ActionError & { result?: RunResult }).result = result
  ;(err as ActionError & { detail?: string }).detail = lastLines(result.stderr, 30)
  return err
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
  /** Closes its standard input (the polite way to end an ssh session). */
  closeInput(): void
  /** Ends it (its process group). */
  kill(signal?: NodeJS.Signals): void
  /** Resolves when it has exited. */
  done: Promise<RunResult>
  lines: string[]
}

/**
 * Starts `argv` with its standard input kept open. Same rules as `run`: argv only, a timeout
 * (the longest it may live), output scrubbed of secrets.
 */
export function startProcess(
  argv: readonly string[],
  options: Pick<RunOptions, 'timeoutMs' | 'env' | 'logger' | 'cwd'>
): LongRunning {
  if (!(options.timeoutMs > 0)) throw new Error('startProcess: a timeout is required')
  options.logger?.debug(`$ ${formatArgv(argv)} &`)
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const started = Date.now()
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true
  })
  const lines: string[] = []
  const waiters: { predicate: (l: string) => boolean; resolve: (l: string | null) => void }[] = []
  let stdout = ''
  let stderr = ''
  let pending = ''
  let exited = false
  let timedOut = false
  child.stdin.on('error', () => {})
  child.stdout.on('data', (c: Buffer) => {
    const text = c.toString('utf8')
    stdout += text
    pending += text
    let i
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = secrets.scrub(pending.slice(0, i))
      pending = pending.slice(i + 1)
      lines.push(line)
      for (const w of [...waiters]) {
        if (w.predicate(line)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    }
  })
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  const pid = child.pid
  if (pid) running.add(pid)
  const killGroup = (signal: NodeJS.Signals) => {
    if (!pid || exited) return
    try {
      process.kill(-pid, signal)
    } catch {
      /* gone */
    }
  }
  const timer = setTimeout(() => {
    timedOut = true
    killGroup('SIGTERM')
  }, options.timeoutMs)
  timer.unref()
  const done = new Promise<RunResult>(resolve => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return
      exited = true
      clearTimeout(timer)
      if (pid) running.delete(pid)
      for (const w of waiters.splice(0)) w.resolve(null)
      resolve({
        argv: [...argv],
        exitCode,
        signal,
        stdout: secrets.scrub(stdout),
        stderr: secrets.scrub(stderr),
        durationMs: Date.now() - started,
        timedOut
      })
    }
    child.on('close', finish)
    child.on('error', () => finish(127, null))
  })
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
    closeInput() {
      child.stdin.end()
    },
    kill(signal = 'SIGTERM') {
      killGroup(signal)
    }
  }
}
