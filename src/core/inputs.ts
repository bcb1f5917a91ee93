/**
 * Typed parsing of raw input strings, shared by every action and the `nix-deploy` command.
 *
 * Each helper takes the input's name (for the message) and its raw value, and either returns
 * typed data or throws an ActionError whose one sentence names the input. An empty or missing
 * value means "not given" and yields the default. Values are taken as they come (the GitHub
 * toolkit already trims inputs): surrounding whitespace is not silently accepted where it matters.
 */
import { badInput } from './errors.js'

/**
 * A value as it is safe to show inside a message: quoted with single quotes, control and
 * non-ASCII characters escaped (`\n`, `\t`, `\u{202e}`), and cut after `max` characters so a
 * hostile value can neither forge log lines nor flood them.
 */
export function showValue(value: string, max = 80): string {
  let out = ''
  let count = 0
  for (const ch of value) {
    if (count >= max) {
      out += '…'
      break
    }
    count++
    const code = ch.codePointAt(0) ?? 0
    if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === "'") out += "\\'"
    else if (ch === '\\') out += '\\\\'
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else if (code > 0x7e) out += `\\u{${code.toString(16)}}`
    else out += ch
  }
  return `'${out}'`
}

/** Describe the first character of `value` outside `allowed`, for a message; undefined if none. */
export function firstBadCharacter(value: string, allowed: RegExp): string | undefined {
  for (const ch of value) {
    if (allowed.test(ch)) continue
    if (/\s/.test(ch)) return ch === ' ' ? 'a space' : `whitespace (${showValue(ch)})`
    const code = ch.codePointAt(0) ?? 0
    if (code < 0x20 || code === 0x7f) return `a control character (${showValue(ch)})`
    if (code > 0x7e) return `a non-ASCII character (${showValue(ch)})`
    return `the character ${showValue(ch)}`
  }
  return undefined
}

/** Whether the text holds a control character (C0 or DEL). */
export function hasControlCharacters(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(text)
}

/** The text with each control character (C0 or DEL) replaced by `by`: one printable line. */
export function replaceControlCharacters(text: string, by = ' '): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, by)
}

/** The text without terminal escape sequences (colours, erase-line, …). */
export function stripAnsi(text: string): string {
  // CSI sequences, then other two-character escapes.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g, '')
}

function given(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== ''
}

/** `true` or `false` (any case); empty means the default. */
export function parseBool(name: string, value: string | undefined, defaultValue: boolean): boolean {
  if (!given(value)) return defaultValue
  const v = value.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw badInput(name, `must be true or false, not ${showValue(value)}`)
}

export interface IntRange {
  min?: number
  max?: number
}

function parseWholeNumber(name: string, value: string, what: string, range: IntRange): number {
  const v = value.trim()
  if (!/^[0-9]+$/.test(v)) throw badInput(name, `must be ${what}, not ${showValue(value)}`)
  // Digits only, so Number() is exact up to 2^53; anything longer is out of every range anyway.
  const n = v.length > 15 ? Number.POSITIVE_INFINITY : Number(v)
  if (range.min !== undefined && n < range.min)
    throw badInput(name, `must be at least ${range.min}, not ${showValue(value)}`)
  if (range.max !== undefined && n > range.max)
    throw badInput(name, `must be at most ${range.max}, not ${showValue(value)}`)
  if (!Number.isSafeInteger(n)) throw badInput(name, `is too large: ${showValue(value)}`)
  return n
}

/** A duration in whole seconds (the suite's convention for every duration input). */
export function parseSeconds(
  name: string,
  value: string | undefined,
  defaultValue: number,
  range: IntRange = {}
): number {
  if (!given(value)) return defaultValue
  return parseWholeNumber(name, value, 'a whole number of seconds', {
    min: range.min ?? 0,
    max: range.max
  })
}

/** A whole number of at least 1 (or `range.min`). */
export function parsePositiveInt(
  name: string,
  value: string | undefined,
  defaultValue: number,
  range: IntRange = {}
): number {
  if (!given(value)) return defaultValue
  return parseWholeNumber(name, value, 'a positive whole number', {
    min: range.min ?? 1,
    max: range.max
  })
}

/** A list: newline- or comma-separated, each item trimmed, empty items dropped. Never throws. */
export function parseList(value: string | undefined): string[] {
  if (value === undefined) return []
  return value
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(s => s !== '')
}

/** One of `allowed` (matched without regard to case, returned as spelled in `allowed`). */
export function parseEnum<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  defaultValue: T
): T {
  if (!given(value)) return defaultValue
  const v = value.trim().toLowerCase()
  const hit = allowed.find(a => a.toLowerCase() === v)
  if (hit !== undefined) return hit
  throw badInput(name, `must be one of ${allowed.join(', ')}, not ${showValue(value)}`)
}

/** How a deployment proceeds across hosts. */
export type Strategy = { kind: 'all' } | { kind: 'canary' } | { kind: 'waves'; waves: number }

/** `all` (default) | `canary` | `waves:N` with N from 1 to 100. */
export function parseStrategy(value: string | undefined, name = 'strategy'): Strategy {
  if (!given(value)) return { kind: 'all' }
  const v = value.trim().toLowerCase()
  if (v === 'all') return { kind: 'all' }
  if (v === 'canary') return { kind: 'canary' }
  const m = /^waves:([0-9]+)$/.exec(v)
  if (m) {
    const n = m[1].length > 3 ? Infinity : Number(m[1])
    if (n >= 1 && n <= 100) return { kind: 'waves', waves: n }
    throw badInput(name, `asks for ${showValue(m[1])} waves; use waves:N with N from 1 to 100`)
  }
  throw badInput(name, `must be all, canary or waves:N (N from 1 to 100), not ${showValue(value)}`)
}

/**
 * A git revision as `git rev-parse` takes it: a commit hash, a ref (`main`, `origin/main`,
 * `refs/tags/v1`), or relative forms (`HEAD~1`, `main^2`, `@{u}`). Ranges (`a..b`, `a...b`) are not
 * revisions and are refused, as is a leading `-` (git would read an option).
 */
export function parseGitRevision(name: string, value: string | undefined): string {
  if (!given(value)) throw badInput(name, 'must name a git revision, but it is empty')
  if (value.startsWith('-'))
    throw badInput(name, `is not a git revision: ${showValue(value)} starts with '-'`)
  const bad = firstBadCharacter(value, /[A-Za-z0-9._/~^@{}-]/)
  if (bad) throw badInput(name, `is not a git revision: ${showValue(value)} contains ${bad}`)
  if (value.length > 255)
    throw badInput(name, `is not a git revision: it is longer than 255 characters`)
  if (value.includes('..'))
    throw badInput(
      name,
      `is not a git revision: ${showValue(value)} is a range (contains '..'), not one revision`
    )
  return value
}

/**
 * A flake reference: `.`, a path, `github:owner/repo`, `git+https://…?ref=x&dir=infra`, `path:…`.
 * Refused: a leading `-` (nix would read an option), whitespace, control and non-ASCII characters,
 * shell metacharacters, quotes and brackets (none appear in a real reference), `#` (that makes it an
 * installable: see parseInstallable), over 1024 characters.
 */
export function parseFlakeRef(name: string, value: string | undefined, defaultValue = '.'): string {
  if (!given(value)) return defaultValue
  if (value.length > 1024)
    throw badInput(name, 'is not a flake reference: it is longer than 1024 characters')
  if (value.startsWith('-'))
    throw badInput(name, `is not a flake reference: ${showValue(value)} starts with '-'`)
  const bad = firstBadCharacter(value, /[A-Za-z0-9._~:/?=&%+@,-]/)
  if (bad) throw badInput(name, `is not a flake reference: ${showValue(value)} contains ${bad}`)
  return value
}

/** Nix's base32 alphabet (no e, o, u, t). */
const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz'
const STORE_NAME = /^[A-Za-z0-9+\-._?=]+$/

export interface StorePathOptions {
  /** The store directory (default `/nix/store`). */
  storeDir?: string
}

/**
 * A store path: `<storeDir>/<32 base32 characters>-<name>`, nothing after it. A trailing `/` is
 * dropped. The name follows Nix's rules (letters, digits, `+-._?=`, not starting with `.`).
 */
export function parseStorePath(
  name: string,
  value: string | undefined,
  options: StorePathOptions = {}
): string {
  if (!given(value)) throw badInput(name, 'must be a store path, but it is empty')
  const storeDir = (options.storeDir ?? '/nix/store').replace(/\/+$/, '')
  const v = value.endsWith('/') ? value.slice(0, -1) : value
  const prefix = `${storeDir}/`
  if (!v.startsWith(prefix))
    throw badInput(name, `must be a store path under ${storeDir}, not ${showValue(value)}`)
  const base = v.slice(prefix.length)
  const hash = base.slice(0, 32)
  const rest = base.slice(32)
  const hashOk = hash.length === 32 && [...hash].every(c => NIX_BASE32.includes(c))
  if (!hashOk || !rest.startsWith('-')) {
    throw badInput(
      name,
      `is not a store path: ${showValue(value)} lacks the 32-character hash and '-' after ${prefix}`
    )
  }
  const storeName = rest.slice(1)
  if (
    storeName === '' ||
    storeName.length > 211 ||
    !STORE_NAME.test(storeName) ||
    storeName.startsWith('.')
  ) {
    throw badInput(
      name,
      `is not a store path: ${showValue(value)} has an invalid name after the hash`
    )
  }
  return v
}

/** Something `nix build` takes: a flake output or a store path, with optional `^outputs`. */
export type Installable =
  | { kind: 'flake'; flakeRef: string; attrPath: string; outputs?: string[] }
  | { kind: 'store-path'; path: string; outputs?: string[] }

/** Flake attribute paths: names with dots, quoted segments for names with dots (`"a.b"`). */
const ATTR_PATH = /^[A-Za-z0-9_'".+-]+$/

/**
 * `<flakeref>#<attrpath>[^out,dev]`, `<store path>[^out]`, or a bare flake reference (meaning its
 * default package; attrPath is then empty). The result renders back with formatInstallable.
 */
export function parseInstallable(
  name: string,
  value: string | undefined,
  options: StorePathOptions = {}
): Installable {
  if (!given(value)) throw badInput(name, 'must be an installable, but it is empty')
  let body = value
  let outputs: string[] | undefined
  const caret = value.lastIndexOf('^')
  if (caret >= 0) {
    body = value.slice(0, caret)
    const outs = value.slice(caret + 1)
    if (outs !== '*' && !/^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$/.test(outs)) {
      throw badInput(
        name,
        `is not an installable: ${showValue(value)} has an invalid output list after '^'`
      )
    }
    outputs = outs.split(',')
  }
  const storeDir = (options.storeDir ?? '/nix/store').replace(/\/+$/, '')
  if (body.startsWith(`${storeDir}/`)) {
    return {
      kind: 'store-path',
      path: parseStorePath(name, body, options),
      ...(outputs ? { outputs } : {})
    }
  }
  const hash = body.indexOf('#')
  const flakeRef = hash >= 0 ? body.slice(0, hash) : body
  const attrPath = hash >= 0 ? body.slice(hash + 1) : ''
  if (flakeRef === '')
    throw badInput(
      name,
      `is not an installable: ${showValue(value)} has no flake reference before '#'`
    )
  parseFlakeRef(name, flakeRef)
  if (hash >= 0) {
    if (
      attrPath === '' ||
      !ATTR_PATH.test(attrPath) ||
      attrPath.startsWith('.') ||
      attrPath.endsWith('.') ||
      attrPath.includes('..')
    ) {
      throw badInput(
        name,
        `is not an installable: ${showValue(value)} has an invalid attribute path after '#'`
      )
    }
  }
  return { kind: 'flake', flakeRef, attrPath, ...(outputs ? { outputs } : {}) }
}

/** The argv word for an installable (inverse of parseInstallable). */
export function formatInstallable(i: Installable): string {
  const outs = i.outputs ? `^${i.outputs.join(',')}` : ''
  if (i.kind === 'store-path') return i.path + outs
  return (i.attrPath ? `${i.flakeRef}#${i.attrPath}` : i.flakeRef) + outs
}
