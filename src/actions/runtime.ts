/**
 * The thin layer between the engine and GitHub's runner: inputs, outputs, the job summary,
 * annotations, log groups and the one place where a failure becomes `setFailed`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError, describeError } from '../core/errors.js'
import { neutraliseCommands, type Annotation, type Logger } from '../core/log.js'
import { visibleInvisibles } from '../core/markdown.js'
import { describeNixError, parseNixErrors, sameContentAs } from '../core/nix-errors.js'
import { killAll } from '../core/process.js'
import { closeMastersIn, closeMastersNow } from '../core/ssh.js'
import { secrets } from '../core/secrets.js'
import * as core from './runner-protocol.js'

/** GitHub shows at most 10 error and 10 warning annotations per step; the rest go to the log. */
export const ANNOTATION_LIMIT = 10
/**
 * Error annotations the logger writes: one fewer than the runner keeps, because the step's
 * failure sentence (`setFailed`) is an error annotation too and must never be the one dropped.
 * The 9th place goes to a note on how many more errors are in the log when there are more.
 */
export const ERROR_ANNOTATION_LIMIT = ANNOTATION_LIMIT - 1
/** GitHub refuses a step summary over 1 MiB. */
export const SUMMARY_LIMIT = 1024 * 1024

/**
 * Plain log lines: scrubbed of secrets, and neutralised (`neutraliseCommands`) so that nothing
 * from outside can act as a workflow command. Annotations, debug lines and group titles are
 * written as commands by runner-protocol.ts, which escapes their text as the toolkit does (`%0A` for a line break), so
 * their content can never start a line of its own.
 */
function logLine(text: string): void {
  core.info(neutraliseCommands(visibleInvisibles(secrets.scrub(text))))
}

/** Fails the step with one sentence: scrubbed, invisible characters shown (an annotation). */
function setFailed(message: string): void {
  core.setFailed(visibleInvisibles(secrets.scrub(message)))
}

export class ActionsLogger implements Logger {
  private readonly counts = { error: 0, warning: 0 }
  /** Annotations not shown because of GitHub's limit: the summary lists them. */
  readonly overflow: { level: 'error' | 'warning'; message: string; where?: Annotation }[] = []

  debug(message: string): void {
    core.debug(secrets.scrub(message))
  }
  info(message: string): void {
    logLine(message)
  }
  warning(message: string, where?: Annotation): void {
    this.annotate('warning', message, where)
  }
  notice(message: string): void {
    core.notice(secrets.scrub(message))
  }
  error(message: string, where?: Annotation): void {
    this.annotate('error', message, where)
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    return core.group(secrets.scrub(title), fn)
  }
  private pending: { message: string; props: core.AnnotationProperties } | null = null

  /**
   * Writes the held-back last error annotation: as itself when no more errors came, or as a
   * count of the errors only the log holds. Called before the step's failure sentence.
   */
  flush(): void {
    const extra = this.overflow.filter(o => o.level === 'error').length
    if (this.pending && extra === 0) core.error(this.pending.message, this.pending.props)
    else if (this.pending)
      core.error(
        `${extra + 1} more errors than GitHub shows per step: they are in the log (search for "error:").`
      )
    this.pending = null
  }

  private annotate(level: 'error' | 'warning', message: string, where?: Annotation): void {
    const text = visibleInvisibles(secrets.scrub(message))
    const limit = level === 'error' ? ERROR_ANNOTATION_LIMIT : ANNOTATION_LIMIT
    if (this.counts[level] >= limit) {
      this.overflow.push({ level, message: text, where })
      logLine(`${level}: ${where?.file ? `${where.file}:${where.line ?? ''}: ` : ''}${text}`)
      return
    }
    this.counts[level]++
    const props: core.AnnotationProperties = {}
    if (where?.file) props.file = where.file
    if (where?.line) props.startLine = where.line
    if (where?.column) props.startColumn = where.column
    if (where?.title) props.title = where.title
    if (level === 'error' && this.counts.error === limit) {
      // The last place: held back until we know whether more errors follow.
      this.pending = { message: text, props }
      logLine(`error: ${where?.file ? `${where.file}:${where.line ?? ''}: ` : ''}${text}`)
    } else if (level === 'error') core.error(text, props)
    else core.warning(text, props)
  }
}

/** Inputs that hold secrets: masked in every log before anything reads them. */
const SECRET_INPUTS = new Set(['ssh-private-key', 'github-token'])

/**
 * A trimmed input ('' when unset). Secret inputs are registered for masking on first read; this
 * is the InputReader the adapters hand to the commands.
 */
export function input(name: string): string {
  if (SECRET_INPUTS.has(name)) return secretInput(name).trim()
  return core.getInput(name).trim()
}

/** A secret input: registered for masking everywhere before anything else sees it. */
export function secretInput(name: string): string {
  const value = core.getInput(name)
  if (value) {
    core.setSecret(value)
    for (const line of value.split(/\r?\n/))
      if (line.trim().length >= 8) core.setSecret(line.trim())
    secrets.add(value)
  }
  return value
}

export function setOutputs(outputs: Record<string, string | number | boolean>): void {
  for (const [k, v] of Object.entries(outputs)) core.setOutput(k, String(v))
}

/** Appends Markdown to the job summary, cut to GitHub's limit with a note. */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  let text = secrets.scrub(markdown)
  const budget = SUMMARY_LIMIT - 1024
  if (Buffer.byteLength(text) > budget) {
    text = Buffer.from(text)
      .subarray(0, budget)
      .toString('utf8')
      .replace(/\uFFFD$/, '')
    text +=
      "\n\n_The summary was cut at GitHub's 1 MiB limit; the full report is in the files named in the step outputs._\n"
  }
  await core.appendSummary(text, true)
}

/**
 * Runs one action: the only place where errors are caught broadly and the only place that calls
 * `setFailed`, always scrubbed. An ActionError fails the step with its one sentence; anything
 * else is reported as an internal error (with the stack in debug). An action whose work ended
 * with a verdict (a failed check, a host that failed to deploy) returns that sentence: the step
 * fails with it after the outputs and the summary are written.
 */
export async function runAction(
  name: string,
  fn: (log: ActionsLogger) => Promise<string | null | void>
): Promise<void> {
  const log = new ActionsLogger()
  const onSignal = (signal: NodeJS.Signals) => {
    killAll('SIGTERM')
    closeMastersNow()
    if (sshFolder) fs.rmSync(sshFolder, { recursive: true, force: true })
    setFailed(`The ${name} step was cancelled (${signal}).`)
    process.exit(1)
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  try {
    const failure = await fn(log)
    if (failure) {
      // The held-back error annotation first: the failure sentence stays the last one kept.
      log.flush()
      setFailed(failure)
    }
  } catch (err) {
    if (!(err instanceof ActionError) && err instanceof Error && err.stack)
      core.debug(secrets.scrub(err.stack))
    const detail = err instanceof ActionError ? err.detail : undefined
    if (detail) logLine(detail)
    annotateNixErrors(err, log)
    log.flush()
    setFailed(describeError(err))
  } finally {
    log.flush()
    process.removeListener('SIGTERM', onSignal)
    process.removeListener('SIGINT', onSignal)
  }
}

/**
 * The runner's temporary folder (RUNNER_TEMP, else the system's): the one temp root every action
 * hands to the engine (SSH folders, closure cache folders).
 */
export function runnerTemp(): string {
  return process.env.RUNNER_TEMP || os.tmpdir()
}

/** Where the actions' files for the user go (diff files, reports): `$RUNNER_TEMP/nix-deploy/`. */
export function outputDir(): string {
  return path.join(runnerTemp(), 'nix-deploy')
}

export function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd()
}

/** A failed nix command's evaluation errors become annotations at their file and line. */
function annotateNixErrors(err: unknown, log: ActionsLogger): void {
  const result = err instanceof ActionError ? err.result : undefined
  if (!result || result.argv[0] !== 'nix') return
  // The flake's sources are not known here: a store file counts as the user's only when the
  // checkout holds the same file (never nixpkgs' lib/modules.nix on the user's lib/modules.nix).
  const root = workspace()
  for (const e of parseNixErrors(result.stderr, {
    repoRoot: root,
    sameAsRepo: sameContentAs(root)
  })) {
    if (e.file)
      log.error(describeNixError(e), {
        file: e.file,
        line: e.line,
        column: e.column,
        title: 'Nix evaluation error'
      })
  }
}

/** The state key under which an action records its SSH folder for the post step. */
export const SSH_DIR_STATE = 'ssh-dir'

/** Remembers the run's SSH folder (key, known_hosts) so the post step can remove it. */
export function rememberSshFolder(dir: string): void {
  core.saveState(SSH_DIR_STATE, dir)
  sshFolder = dir
}

/** The SSH folder of this process, removed at once when the step is cancelled. */
let sshFolder: string | null = null

/**
 * The post step of every action that reaches hosts: removes the SSH folder even after a failure,
 * a crash or a cancel. Only ever a folder the suite made (an absolute path named nix-deploy-ssh-*).
 */
export async function removeSshFolder(): Promise<void> {
  const dir = core.getState(SSH_DIR_STATE)
  if (!dir) return
  if (!path.isAbsolute(dir) || !/^nix-deploy-ssh-[A-Za-z0-9]+$/.test(path.basename(dir))) {
    core.warning(`Not removing '${dir}': it is not an SSH folder this action made.`)
    return
  }
  try {
    if (fs.existsSync(dir)) {
      await closeMastersIn(dir)
      fs.rmSync(dir, { recursive: true, force: true })
      core.info('Removed the SSH key folder.')
    }
  } catch (err) {
    core.warning(`Could not remove the SSH key folder ${dir}: ${(err as Error).message}`)
  }
}
