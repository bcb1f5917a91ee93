/**
 * The runner's protocol, spoken directly: workflow commands on stdout (`::add-mask::`,
 * `::group::`, `::error file=…,line=…::`) and the file commands (GITHUB_OUTPUT, GITHUB_ENV,
 * GITHUB_STATE with the heredoc delimiter, GITHUB_STEP_SUMMARY appended to).
 *
 * Why not @actions/core: loading it costs ~55 ms of CPU on every step (it imports its HTTP
 * client and undici for OIDC tokens no action here asks for), more than the diff action's own
 * work. The escaping below is the toolkit's (checked by test/unit/runner-protocol.test.ts against
 * @actions/core itself), so what the runner reads is the same byte for byte; only the GitHub API
 * client (loaded lazily in octokit.ts) still brings the toolkit in, when a comment or deployment
 * is asked for.
 *
 * Formats: https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
 */
import fs from 'node:fs'
import os from 'node:os'

/** Where an annotation points; the names of the toolkit's AnnotationProperties. */
export interface AnnotationProperties {
  title?: string
  file?: string
  startLine?: number
  endLine?: number
  startColumn?: number
  endColumn?: number
}

type CommandValue = string | number | boolean | null | undefined

/** A value as the runner reads it: strings as they are, anything else as JSON, nothing as ''. */
function commandValue(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string' || value instanceof String) return String(value)
  return JSON.stringify(value)
}

/** A command's message: `%`, CR and LF escaped, so the text can never start a line of its own. */
export function escapeData(value: unknown): string {
  return commandValue(value).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** A command's property value: as a message, plus `:` and `,`, which end a property. */
export function escapeProperty(value: unknown): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

/**
 * One workflow command line, `::name key=value,key=value::message` (without the line break).
 * Properties whose value is empty are left out, as the runner would ignore them.
 */
export function formatCommand(
  name: string,
  properties: Record<string, CommandValue>,
  message: unknown
): string {
  let line = `::${name || 'missing.command'}`
  const keys = Object.keys(properties)
  if (keys.length > 0) {
    line += ' '
    line += keys
      .filter(k => properties[k])
      .map(k => `${k}=${escapeProperty(properties[k])}`)
      .join(',')
  }
  return `${line}::${escapeData(message)}`
}

function issue(name: string, properties: Record<string, CommandValue>, message: unknown): void {
  process.stdout.write(formatCommand(name, properties, message) + os.EOL)
}

/** The runner's names for where an annotation points. */
function annotationCommandProperties(p: AnnotationProperties): Record<string, CommandValue> {
  if (Object.keys(p).length === 0) return {}
  return {
    title: p.title,
    file: p.file,
    line: p.startLine,
    endLine: p.endLine,
    col: p.startColumn,
    endColumn: p.endColumn
  }
}

/**
 * A random (version 4) UUID, as the toolkit's delimiter has. Read from the kernel's random source
 * rather than through node:crypto, whose loading costs a step about 3 ms; node:crypto only where
 * there is no /dev/urandom.
 */
export function randomUuid(): string {
  const bytes = Buffer.alloc(16)
  let fd: number | undefined
  try {
    fd = fs.openSync('/dev/urandom', 'r')
    if (fs.readSync(fd, bytes, 0, 16, null) !== 16) throw new Error('short read')
  } catch {
    return process.getBuiltinModule('node:crypto').randomUUID()
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * `name<<delimiter` + value + `delimiter`, with a delimiter no value can guess. A name or value
 * that holds the delimiter is refused (it could end the value early and write another).
 */
export function keyValueMessage(name: string, value: unknown, delimiter?: string): string {
  const d = delimiter ?? `ghadelimiter_${randomUuid()}`
  const text = commandValue(value)
  if (name.includes(d))
    throw new Error(`Unexpected input: name should not contain the delimiter "${d}"`)
  if (text.includes(d))
    throw new Error(`Unexpected input: value should not contain the delimiter "${d}"`)
  return `${name}<<${d}${os.EOL}${text}${os.EOL}${d}`
}

/** Appends one record to the file the runner names in GITHUB_<command>. */
function appendFileCommand(command: 'OUTPUT' | 'ENV' | 'STATE' | 'PATH', message: string): void {
  const file = process.env[`GITHUB_${command}`]
  if (!file) throw new Error(`Unable to find environment variable for file command ${command}`)
  if (!fs.existsSync(file)) throw new Error(`Missing file at path: ${file}`)
  fs.appendFileSync(file, `${message}${os.EOL}`, { encoding: 'utf8' })
}

/** An input as the runner passes it (INPUT_<NAME>, spaces as `_`), trimmed; '' when unset. */
export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim()
}

/** Registers a value the runner replaces by *** in every later log line. */
export function setSecret(value: string): void {
  issue('add-mask', {}, value)
}

/** A step output (GITHUB_OUTPUT; the old `::set-output::` command where no file is given). */
export function setOutput(name: string, value: unknown): void {
  if (process.env.GITHUB_OUTPUT) return appendFileCommand('OUTPUT', keyValueMessage(name, value))
  process.stdout.write(os.EOL)
  issue('set-output', { name }, commandValue(value))
}

/** An environment variable for this and the job's later steps (GITHUB_ENV). */
export function exportVariable(name: string, value: unknown): void {
  process.env[name] = commandValue(value)
  if (process.env.GITHUB_ENV) return appendFileCommand('ENV', keyValueMessage(name, value))
  issue('set-env', { name }, commandValue(value))
}

/** A value for this action's post step (GITHUB_STATE), read back there as STATE_<name>. */
export function saveState(name: string, value: unknown): void {
  if (process.env.GITHUB_STATE) return appendFileCommand('STATE', keyValueMessage(name, value))
  issue('save-state', { name }, commandValue(value))
}

export function getState(name: string): string {
  return process.env[`STATE_${name}`] || ''
}

export function info(message: string): void {
  process.stdout.write(message + os.EOL)
}

export function debug(message: string): void {
  issue('debug', {}, message)
}

export function notice(message: string, properties: AnnotationProperties = {}): void {
  issue('notice', annotationCommandProperties(properties), message)
}

export function warning(message: string, properties: AnnotationProperties = {}): void {
  issue('warning', annotationCommandProperties(properties), message)
}

export function error(message: string, properties: AnnotationProperties = {}): void {
  issue('error', annotationCommandProperties(properties), message)
}

/** Fails the step: exit code 1 and the message as an error annotation. */
export function setFailed(message: string): void {
  process.exitCode = 1
  error(message)
}

/** A collapsible log group around `fn`, closed however `fn` ends. */
export async function group<T>(title: string, fn: () => Promise<T>): Promise<T> {
  issue('group', {}, title)
  try {
    return await fn()
  } finally {
    issue('endgroup', {}, '')
  }
}

/**
 * Appends Markdown to the step's summary file (GITHUB_STEP_SUMMARY), with a line break when
 * `eol`. Nothing is written where the runner gives no summary file.
 */
export async function appendSummary(markdown: string, eol = false): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY
  if (!file) return
  // Synchronous: fs.promises would load its own modules (about 1 ms) for two calls.
  try {
    fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK)
  } catch {
    throw new Error(
      `Unable to access summary file: '${file}'. Check if the file has correct read/write permissions.`
    )
  }
  fs.appendFileSync(file, eol ? markdown + os.EOL : markdown, { encoding: 'utf8' })
}
