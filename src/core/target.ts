/**
 * SSH destinations (`user@host[:port]`) and flake host names.
 *
 * A destination may come from the workflow (`target` input) or from the flake
 * (`deploy.nodes.<host>.hostname`, `deployment.targetHost`, `networking.fqdn`, the attribute name),
 * and a pull request controls the flake. So the grammar is strict: whatever passes here is safe as
 * one argv word for ssh and nix (no leading `-`, no whitespace, quotes, shell metacharacters, `/`,
 * or non-ASCII), and is one of: a DNS-style name, an IPv4 literal, an IPv6 literal.
 */
import { ActionError } from './errors.js'
import { firstBadCharacter, showValue } from './inputs.js'

export interface Target {
  user: string
  /** A DNS-style name, an IPv4 literal, or an IPv6 literal (without brackets). */
  host: string
  port: number
}

/** node:net's address checks; the module (with the stream modules it needs) loads on first use. */
const isIPv4 = (s: string) => process.getBuiltinModule('node:net').isIPv4(s)
const isIPv6 = (s: string) => process.getBuiltinModule('node:net').isIPv6(s)

const DEFAULT_USER = 'root'
const DEFAULT_PORT = 22
const USER = /^[a-z_][a-z0-9_.-]*\$?$/

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

function invalid(source: string, text: string, why: string): ActionError {
  const input = /^input '([^']+)'$/i.exec(source)?.[1]
  return new ActionError(
    `${capitalise(source)} has an invalid SSH destination ${showValue(text)}: ${why}`,
    input ? { input } : {}
  )
}

/**
 * Why `host` is not an acceptable host (DNS name or IPv4; IPv6 is checked by the caller), or
 * undefined when it is. Labels are letters, digits, `-` and `_` (underscores are not valid in
 * public DNS host names, but they are common in ssh_config aliases and flake attribute names,
 * and harmless in an argv word).
 */
function hostProblem(host: string): string | undefined {
  if (host === '') return 'the host is empty'
  if (host.length > 253) return 'the host is longer than 253 characters'
  if (/^[0-9.]+$/.test(host)) {
    // All digits and dots: it must be an IPv4 literal, without ambiguous leading zeros.
    if (!isIPv4(host) || host.split('.').some(p => p.length > 1 && p.startsWith('0')))
      return `${showValue(host)} is not a valid IPv4 address`
    return undefined
  }
  if (host.startsWith('.')) return "the host starts with '.'"
  if (host.endsWith('.')) return "the host ends with '.'"
  if (host.includes('..')) return "the host contains '..'"
  for (const label of host.split('.')) {
    if (!/^[A-Za-z0-9_-]+$/.test(label)) return `the host has an invalid label ${showValue(label)}`
    if (label.length > 63) return `the host has a label longer than 63 characters`
    if (label.startsWith('-') || label.endsWith('-'))
      return `the host label ${showValue(label)} starts or ends with '-'`
  }
  return undefined
}

/**
 * Parse `user@host[:port]`, `host`, `host:port`, `[v6]:port`, `user@[v6]:port`, or a bare IPv6
 * literal (`fe80::1`, port 22). User defaults to `root`, port to 22.
 * `source` names where the text came from, e.g. `input 'target'` or `deploy.nodes.web1.hostname`.
 */
export function parseTarget(text: string, source: string): Target {
  if (typeof text !== 'string' || text === '')
    throw invalid(source, String(text ?? ''), 'it is empty')
  if (text.length > 300) throw invalid(source, text, 'it is longer than 300 characters')
  if (text.startsWith('-'))
    throw invalid(source, text, "it starts with '-' (ssh would read an option)")
  const bad = firstBadCharacter(text, /[A-Za-z0-9@:.[\]_$-]/)
  if (bad) throw invalid(source, text, `it contains ${bad}`)

  let user = DEFAULT_USER
  let rest = text
  const at = text.indexOf('@')
  if (at >= 0) {
    if (text.indexOf('@', at + 1) >= 0) throw invalid(source, text, "it contains more than one '@'")
    user = text.slice(0, at)
    rest = text.slice(at + 1)
    if (user === '') throw invalid(source, text, "the user before '@' is empty")
    if (user.length > 32) throw invalid(source, text, 'the user is longer than 32 characters')
    if (!USER.test(user))
      throw invalid(
        source,
        text,
        `the user ${showValue(user)} is not a valid user name (lowercase letters, digits, '_', '.', '-')`
      )
  }
  if (rest.includes('$')) throw invalid(source, text, "'$' may only end the user name")

  let host: string
  let portText: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close < 0) throw invalid(source, text, "'[' has no matching ']'")
    host = rest.slice(1, close)
    const after = rest.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) throw invalid(source, text, "only ':port' may follow ']'")
      portText = after.slice(1)
    }
    if (!isIPv6(host))
      throw invalid(source, text, `${showValue(host)} in brackets is not an IPv6 address`)
  } else {
    if (rest.includes('[') || rest.includes(']'))
      throw invalid(source, text, 'brackets must enclose an IPv6 address')
    const colons = rest.split(':').length - 1
    if (colons > 1) {
      // Several colons and no brackets: a bare IPv6 literal, which cannot carry a port.
      if (!isIPv6(rest))
        throw invalid(
          source,
          text,
          `${showValue(rest)} is not an IPv6 address (write [address]:port for a port)`
        )
      host = rest
    } else if (colons === 1) {
      const colon = rest.indexOf(':')
      host = rest.slice(0, colon)
      portText = rest.slice(colon + 1)
      const problem = hostProblem(host)
      if (problem) throw invalid(source, text, problem)
    } else {
      host = rest
      const problem = hostProblem(host)
      if (problem) throw invalid(source, text, problem)
    }
  }

  let port = DEFAULT_PORT
  if (portText !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
      throw invalid(source, text, `the port ${showValue(portText)} is not a number from 1 to 65535`)
    }
    port = Number(portText)
  }
  return { user, host, port }
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/**
 * `user@host[:port]` (the `target` input's form; the port only when it is not 22), with brackets
 * around an IPv6 host; parseTarget reads it back unchanged.
 */
export function formatTarget(t: Target): string {
  const host = bracketed(t.host)
  return t.port === DEFAULT_PORT ? `${t.user}@${host}` : `${t.user}@${host}:${t.port}`
}

/** The address alone (host name or IP literal, no user, no port): the `{target}` of health checks. */
export function targetAddress(t: Target): string {
  return t.host
}

/**
 * The destination word for ssh's argv: `user@host` (an IPv6 host without brackets, as ssh wants
 * it). The port goes separately: see sshPortArgs. Being validated, it cannot start with '-'.
 */
export function sshDestination(t: Target): string {
  return `${t.user}@${t.host}`
}

/** `['-p', '<port>']` for ssh's argv (always given, so ~/.ssh/config cannot silently change it). */
export function sshPortArgs(t: Target): string[] {
  return ['-p', String(t.port)]
}

export interface NixStoreTarget {
  /** `ssh-ng://user@host` (IPv6 in brackets), for `nix copy --to` / `--store`. */
  uri: string
  /** Words to append to NIX_SSHOPTS: the port, when it is not 22. */
  sshOpts: string[]
}

/**
 * The store URI for nix to reach the host, and the ssh options nix must be given for it.
 *
 * Nix before 2.31 passes the URI's authority to ssh as is: `ssh-ng://root@host:2222` makes ssh
 * look up a host named `host:2222` (NixOS/nix#7044, #5178), and `?port=` is an "unknown setting"
 * (tried with Nix 2.8 here). The one way that works on every version is `-p <port>` in the
 * NIX_SSHOPTS environment variable, which nix splits on whitespace (no quoting): our words contain
 * none. Brackets around an IPv6 host work on 2.8 (it strips them before calling ssh, tried here)
 * and are the proper URL form for newer versions that parse the authority.
 */
export function nixStoreUri(t: Target): NixStoreTarget {
  return {
    uri: `ssh-ng://${t.user}@${bracketed(t.host)}`,
    sshOpts: t.port === DEFAULT_PORT ? [] : ['-p', String(t.port)]
  }
}

/**
 * A flake attribute name used as a host name (`nixosConfigurations.<name>`): letters, digits,
 * `-`, `_`, `.`; not starting with `-` or `.`; at most 253 characters. Returns the name.
 */
export function validateHostName(name: string, source: string): string {
  const fail = (why: string) =>
    new ActionError(
      `${capitalise(source)} has an invalid host name ${showValue(String(name))}: ${why}`
    )
  if (typeof name !== 'string' || name === '') throw fail('it is empty')
  if (name.length > 253) throw fail('it is longer than 253 characters')
  const bad = firstBadCharacter(name, /[A-Za-z0-9._-]/)
  if (bad) throw fail(`it contains ${bad}`)
  if (name.startsWith('-')) throw fail("it starts with '-'")
  if (name.startsWith('.')) throw fail("it starts with '.'")
  return name
}
