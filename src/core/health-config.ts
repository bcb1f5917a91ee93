/**
 * The `health-checks` input: YAML, a list of checks, each exactly one of
 *
 * ```yaml
 * - http: http://{target}:8080/health   # from the runner
 *   status: 200                         # or [200, 204]; default: any 2xx
 *   body: ok                            # substring, or /regex/flags (flags from i, m, s, u)
 *   method: GET                         # or HEAD; default GET
 * - command: systemctl is-active nginx  # on the host, over SSH; exit 0 passes
 * - tcp: 443                            # a port on the host, or host:port ("{target}:443")
 * - systemd: no-failed-units            # or: running (the system state is "running")
 * ```
 *
 * Keys every check may have: `name` (a label for messages and the summary) and `timeout` (whole
 * seconds for one attempt, 1 to 3600; the runner's default when absent). The overall deadline is
 * the `health-timeout` input, not part of a check.
 *
 * Placeholders: `{host}` (the host's name) and `{target}` (its address: host name or IP, no user,
 * no port) in `http`, `command` and `tcp`, substituted per host by expandCheck. No other `{name}`
 * placeholder exists; any other one is refused when parsing, so typos show up before deploying.
 * A shell's `${name}` is not a placeholder and stays as written.
 *
 * Trust: checks come only from the workflow input (written by the repository's owners in the
 * workflow file), never from the flake, which a pull request controls. A `command` is run by the
 * user's own login shell on their host, by design; the only values we put into it are the host's
 * name and address, validated upstream and checked again by expandCheck to hold no character a
 * shell treats specially.
 */
import { parseDocument } from 'yaml'
import { ActionError } from './errors.js'
import { hasControlCharacters, replaceControlCharacters, showValue } from './inputs.js'

export type BodyMatch =
  { kind: 'substring'; text: string } | { kind: 'regex'; source: string; flags: string }

interface Common {
  name?: string
  /** Seconds for one attempt. */
  timeout?: number
}

export type HealthCheck =
  | (Common & {
      kind: 'http'
      url: string
      method: 'GET' | 'HEAD'
      status?: number[]
      body?: BodyMatch
    })
  | (Common & { kind: 'command'; command: string })
  | (Common & { kind: 'tcp'; host?: string; port: number })
  | (Common & { kind: 'systemd'; state: 'no-failed-units' | 'running' })

const KINDS = ['http', 'command', 'tcp', 'systemd'] as const
type Kind = (typeof KINDS)[number]
const COMMON_KEYS = ['name', 'timeout']
const KEYS: Record<Kind, string[]> = {
  http: ['http', 'status', 'body', 'method', ...COMMON_KEYS],
  command: ['command', ...COMMON_KEYS],
  tcp: ['tcp', ...COMMON_KEYS],
  systemd: ['systemd', ...COMMON_KEYS]
}
// `{name}` not preceded by `$`, so a command's shell parameter `${HOME}` is not a placeholder.
const PLACEHOLDER = /(?<!\$)\{([A-Za-z_][A-Za-z0-9_-]*)\}/g
const PLACEHOLDERS = new Set(['host', 'target'])

export interface ParseHealthOptions {
  /** The input's name, for messages (default `health-checks`). */
  input?: string
}

class ItemError extends Error {}

/** Parse the `health-checks` YAML. Blank (or only comments, or `null`) means no checks. */
export function parseHealthChecks(
  text: string | undefined,
  options: ParseHealthOptions = {}
): HealthCheck[] {
  const input = options.input ?? 'health-checks'
  const fail = (problem: string) => new ActionError(`Input '${input}': ${problem}`, { input })
  if (text === undefined || text.trim() === '') return []

  let value: unknown
  try {
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true })
    if (doc.errors.length > 0) {
      const err = doc.errors[0]
      const first = replaceControlCharacters(err.message.split('\n')[0].replace(/:\s*$/, '')).slice(
        0,
        200
      )
      const where =
        err.linePos?.[0] && !/\bline \d+/.test(first) ? ` at line ${err.linePos[0].line}` : ''
      throw fail(`is not valid YAML: ${first}${where}`)
    }
    value = doc.toJS({ maxAliasCount: 50 })
  } catch (err) {
    if (err instanceof ActionError) throw err
    throw fail(
      `is not valid YAML: ${replaceControlCharacters(String((err as Error)?.message ?? err).split('\n')[0]).slice(0, 200)}`
    )
  }
  return parseCheckList(value, fail, "must be a YAML list of checks (start each check with '- ')")
}

/**
 * A list of checks that is already a value (parsed YAML, or JSON from the flake): the same items
 * as the input. `fail` makes the error from the problem ("item 2 has …").
 */
export function parseCheckList(
  value: unknown,
  fail: (problem: string) => ActionError,
  notAList = 'must be a list of checks'
): HealthCheck[] {
  if (value === null || value === undefined) return []
  if (!Array.isArray(value)) throw fail(notAList)

  return value.map((item, i) => {
    try {
      return parseItem(item)
    } catch (err) {
      if (err instanceof ItemError) throw fail(`item ${i + 1} ${err.message}`)
      throw err
    }
  })
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (v instanceof Date) return 'a date'
  if (typeof v === 'object') return 'a mapping'
  return `a ${typeof v}`
}

function parseItem(item: unknown): HealthCheck {
  if (!isPlainObject(item)) {
    throw new ItemError(`must be a mapping with one of ${KINDS.join(', ')}, not ${typeName(item)}`)
  }
  const keys = Object.keys(item)
  const kinds = KINDS.filter(k => keys.includes(k))
  if (kinds.length > 1)
    throw new ItemError(`has both '${kinds[0]}' and '${kinds[1]}' (each item is exactly one check)`)
  if (kinds.length === 0) {
    const unknown = keys.find(k => !COMMON_KEYS.includes(k))
    if (unknown !== undefined)
      throw new ItemError(
        `has an unknown key ${showValue(unknown, 40)} (expected one of ${KINDS.join(', ')})`
      )
    throw new ItemError(`has none of ${KINDS.join(', ')}`)
  }
  const kind = kinds[0]
  const unknown = keys.find(k => !KEYS[kind].includes(k))
  if (unknown !== undefined) {
    throw new ItemError(
      `has an unknown key ${showValue(unknown, 40)} for a ${kind} check (expected ${KEYS[kind].filter(k => k !== kind).join(', ')})`
    )
  }
  const common: Common = {}
  if (item.name !== undefined) {
    if (typeof item.name !== 'string' || item.name.trim() === '')
      throw new ItemError(`has a 'name' that is not a non-empty string`)
    if (hasControlCharacters(item.name)) throw new ItemError(`has a 'name' with control characters`)
    common.name = item.name.trim()
  }
  if (item.timeout !== undefined) {
    const t = item.timeout
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 3600) {
      throw new ItemError(
        `has a 'timeout' that is not a whole number of seconds from 1 to 3600: ${showValue(String(t))}`
      )
    }
    common.timeout = t
  }

  switch (kind) {
    case 'http':
      return { ...common, ...parseHttp(item) }
    case 'command': {
      const command = item.command
      if (typeof command !== 'string' || command.trim() === '')
        throw new ItemError(`has a 'command' that is not a non-empty string`)
      if (command.includes('\u0000')) throw new ItemError(`has a 'command' with a NUL character`)
      checkPlaceholders('command', command)
      return { ...common, kind: 'command', command }
    }
    case 'tcp':
      return { ...common, ...parseTcp(item.tcp) }
    case 'systemd': {
      const state = item.systemd
      if (state !== 'no-failed-units' && state !== 'running') {
        throw new ItemError(
          `has 'systemd: ${typeof state === 'string' ? showValue(state, 40) : typeName(state)}'; expected no-failed-units or running`
        )
      }
      return { ...common, kind: 'systemd', state }
    }
  }
}

function checkPlaceholders(key: string, text: string): void {
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (!PLACEHOLDERS.has(m[1]))
      throw new ItemError(
        `has an unknown placeholder ${showValue(m[0], 40)} in '${key}' (only {host} and {target})`
      )
  }
}

function parseHttp(item: Record<string, unknown>): {
  kind: 'http'
  url: string
  method: 'GET' | 'HEAD'
  status?: number[]
  body?: BodyMatch
} {
  const url = item.http
  if (typeof url !== 'string' || url.trim() === '')
    throw new ItemError(`has an 'http' that is not a URL string`)
  if (hasControlCharacters(url) || url.includes(' '))
    throw new ItemError(
      `has an 'http' URL with whitespace or control characters: ${showValue(url)}`
    )
  checkPlaceholders('http', url)
  // Check the URL's shape now, with sample values for the placeholders, so mistakes show up
  // before anything is deployed; expandCheck checks the real URL again.
  checkUrl(substitute(url, { host: 'host', target: 'target.example' }, 'url'))

  let method: 'GET' | 'HEAD' = 'GET'
  if (item.method !== undefined) {
    const m = typeof item.method === 'string' ? item.method.toUpperCase() : ''
    if (m !== 'GET' && m !== 'HEAD') throw new ItemError(`has a 'method' that is not GET or HEAD`)
    method = m
  }

  let status: number[] | undefined
  if (item.status !== undefined) {
    const list = Array.isArray(item.status) ? item.status : [item.status]
    if (list.length === 0) throw new ItemError(`has an empty 'status' list`)
    for (const s of list) {
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 100 || s > 599) {
        throw new ItemError(
          `has a 'status' that is not an HTTP status code (100 to 599) or a list of them: ${showValue(String(s))}`
        )
      }
    }
    status = [...new Set(list as number[])]
  }

  let body: BodyMatch | undefined
  if (item.body !== undefined) {
    if (typeof item.body !== 'string' && typeof item.body !== 'number')
      throw new ItemError(`has a 'body' that is not a string`)
    const text = String(item.body)
    if (text === '') throw new ItemError(`has an empty 'body'`)
    const re = /^\/(.+)\/([a-z]*)$/s.exec(text)
    if (re) {
      const flags = re[2]
      if (!/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) {
        throw new ItemError(
          `has a 'body' regex with flags ${showValue(flags)} (allowed: i, m, s, u)`
        )
      }
      try {
        new RegExp(re[1], flags)
      } catch (err) {
        throw new ItemError(
          `has a 'body' that is not a valid regular expression: ${String((err as Error).message).split('\n')[0]}`
        )
      }
      body = { kind: 'regex', source: re[1], flags }
    } else {
      body = { kind: 'substring', text }
    }
  }
  return { kind: 'http', url, method, ...(status ? { status } : {}), ...(body ? { body } : {}) }
}

function checkUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ItemError(`has an 'http' that is not a valid URL: ${showValue(url)}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ItemError(`has an 'http' URL that is not http:// or https://: ${showValue(url)}`)
  }
  if (parsed.username || parsed.password)
    throw new ItemError(
      `has an 'http' URL with credentials in it (not supported; use a command check)`
    )
  return parsed
}

function parseTcp(value: unknown): { kind: 'tcp'; host?: string; port: number } {
  const portOf = (p: unknown): number => {
    const n =
      typeof p === 'number' ? p : typeof p === 'string' && /^[0-9]{1,5}$/.test(p) ? Number(p) : NaN
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new ItemError(
        `has a 'tcp' port that is not a number from 1 to 65535: ${showValue(String(p))}`
      )
    return n
  }
  if (typeof value === 'number') return { kind: 'tcp', port: portOf(value) }
  if (typeof value !== 'string' || value.trim() === '')
    throw new ItemError(`has a 'tcp' that is not a port or host:port`)
  const v = value.trim()
  if (/^[0-9]+$/.test(v)) return { kind: 'tcp', port: portOf(v) }
  // host:port, [v6]:port, {target}:port
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._{}-]+)):([0-9]+)$/.exec(v)
  if (!m) throw new ItemError(`has a 'tcp' that is not a port or host:port: ${showValue(v)}`)
  const host = m[1] ?? m[2]
  checkPlaceholders('tcp', host)
  if (/[{}]/.test(host.replace(PLACEHOLDER, '')))
    throw new ItemError(`has a 'tcp' host with a stray brace: ${showValue(host)}`)
  if (host.startsWith('-') || host.startsWith('.'))
    throw new ItemError(`has a 'tcp' host that starts with '-' or '.'`)
  return { kind: 'tcp', host, port: portOf(m[3]) }
}

export interface CheckContext {
  /** The host's name (flake attribute). */
  host: string
  /** The host's address: a host name or IP literal, no user, no port. */
  target: string
}

/** Replace the placeholders; `context` says how `{target}` is written (URLs bracket IPv6). */
function substitute(text: string, values: CheckContext, context: 'url' | 'plain'): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    if (key === 'host') return values.host
    if (key === 'target')
      return context === 'url' && values.target.includes(':') ? `[${values.target}]` : values.target
    return whole
  })
}

/**
 * The check for one host, with `{host}` and `{target}` substituted. The values are checked again
 * here (they were validated upstream): a host name is `[A-Za-z0-9._-]`, an address adds `:` for
 * IPv6; neither may start with `-`. So nothing a shell treats specially enters a command.
 */
export function expandCheck(check: HealthCheck, values: CheckContext): HealthCheck {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(values.host)) {
    throw new ActionError(
      `Cannot run health checks for host ${showValue(values.host)}: the name has characters a check may not contain`,
      { host: values.host, phase: 'health' }
    )
  }
  if (!/^[A-Za-z0-9_:][A-Za-z0-9._:-]*$/.test(values.target)) {
    throw new ActionError(
      `${values.host}: cannot run health checks against the address ${showValue(values.target)}: it has characters a check may not contain`,
      { host: values.host, phase: 'health' }
    )
  }
  switch (check.kind) {
    case 'http': {
      const url = substitute(check.url, values, 'url')
      try {
        checkUrl(url)
      } catch (err) {
        if (err instanceof ItemError)
          throw new ActionError(
            `${values.host}: the health check ${describeCheck(check)} gives no usable http(s) URL: ${showValue(url)}`,
            { host: values.host, phase: 'health' }
          )
        throw err
      }
      return { ...check, url }
    }
    case 'command':
      return { ...check, command: substitute(check.command, values, 'plain') }
    case 'tcp':
      return check.host === undefined
        ? { ...check }
        : { ...check, host: substitute(check.host, values, 'plain') }
    case 'systemd':
      return { ...check }
  }
}

/** A short label for messages: the check's `name`, else `http <url>`, `command '<cmd>'`, `tcp 443`, `systemd running`. */
export function describeCheck(check: HealthCheck): string {
  if (check.name) return check.name
  return describeKind(check)
}

/** The label from the check's content alone (ignores `name`). */
export function describeKind(check: HealthCheck): string {
  switch (check.kind) {
    case 'http':
      return `http ${check.method === 'HEAD' ? 'HEAD ' : ''}${clip(check.url, 100)}`
    case 'command':
      return `command ${showValue(check.command, 60)}`
    case 'tcp':
      return check.host === undefined
        ? `tcp ${check.port}`
        : `tcp ${check.host.includes(':') ? `[${check.host}]` : check.host}:${check.port}`
    case 'systemd':
      return `systemd ${check.state}`
  }
}

function clip(text: string, max: number): string {
  const clean = replaceControlCharacters(text, '?')
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}

/** Whether an HTTP status passes the check (any 2xx when no `status` was given). */
export function statusAccepted(
  check: Extract<HealthCheck, { kind: 'http' }>,
  status: number
): boolean {
  return check.status ? check.status.includes(status) : status >= 200 && status < 300
}

/** Whether a response body passes the check (always, when no `body` was given). */
export function bodyAccepted(check: Extract<HealthCheck, { kind: 'http' }>, body: string): boolean {
  if (!check.body) return true
  if (check.body.kind === 'substring') return body.includes(check.body.text)
  return new RegExp(check.body.source, check.body.flags).test(body)
}
