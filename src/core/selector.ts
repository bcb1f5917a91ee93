/**
 * The host selector `on`, in colmena's syntax (zhaofengli/colmena, src/nix/node_filter.rs):
 *
 * - a list of rules, OR'd together: a host is selected when any rule matches it;
 * - a rule is a glob on the host's attribute name (`web-*`, `db?`), or, prefixed with `@`, a glob
 *   matched against each of the host's tags (`@prod`, `@infra-*`);
 * - globs: `*` any run of characters (also empty, also across `.`), `?` exactly one character;
 *   matching is case-sensitive and whole-string;
 * - colmena splits on commas, trims each rule, and refuses empty rules (`a,,b`, a trailing comma).
 *
 * Differences, by design: whitespace also separates rules (the contract: "comma- or
 * space-separated", handy in YAML), a blank selector selects every host (colmena's blank filter
 * selects none, which has no use in a workflow), a rule that matches no host is an error (a typo
 * must not silently deploy to fewer hosts), and character classes (`[ab]`) are not supported:
 * only `[A-Za-z0-9@*?._-]` may appear.
 */
import { ActionError, badInput } from './errors.js'
import { firstBadCharacter, showValue } from './inputs.js'

export interface SelectorRule {
  kind: 'name' | 'tag'
  /** The glob, without the `@` of a tag rule. */
  pattern: string
  /** The rule as written, for messages. */
  text: string
}

export interface Selector {
  /** True when the selector was blank: every host. */
  all: boolean
  rules: SelectorRule[]
}

export interface HostInfo {
  name: string
  tags: readonly string[]
}

const ALLOWED = /[A-Za-z0-9@*?._-]/

/** Parse the `on` selector. `input` names the input in messages (default `on`). */
export function parseSelector(text: string | undefined, input = 'on'): Selector {
  const whole = (text ?? '').trim()
  if (whole === '') return { all: true, rules: [] }
  const rules: SelectorRule[] = []
  for (const piece of whole.split(',')) {
    const trimmed = piece.trim()
    if (trimmed === '')
      throw badInput(input, `has an empty element in ${showValue(whole)} (a stray comma?)`)
    for (const word of trimmed.split(/\s+/)) {
      const bad = firstBadCharacter(word, ALLOWED)
      if (bad)
        throw badInput(
          input,
          `has an invalid element ${showValue(word)}: it contains ${bad} (allowed: letters, digits, @ * ? . _ -)`
        )
      if (word.startsWith('@')) {
        const pattern = word.slice(1)
        if (pattern === '') throw badInput(input, "has an element '@' with no tag after it")
        if (pattern.includes('@'))
          throw badInput(
            input,
            `has an invalid element ${showValue(word)}: '@' may only start a tag`
          )
        rules.push({ kind: 'tag', pattern, text: word })
      } else {
        if (word.includes('@'))
          throw badInput(
            input,
            `has an invalid element ${showValue(word)}: '@' may only start a tag`
          )
        rules.push({ kind: 'name', pattern: word, text: word })
      }
    }
  }
  return { all: false, rules }
}

/** A glob (`*`, `?`) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '^'
  for (const ch of glob) {
    if (ch === '*') source += '.*'
    else if (ch === '?') source += '.'
    else source += ch.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')
  }
  return new RegExp(`${source}$`, 's')
}

function ruleMatches(rule: SelectorRule, re: RegExp, host: HostInfo): boolean {
  if (rule.kind === 'name') return re.test(host.name)
  return host.tags.some(tag => re.test(tag))
}

/** `a, b, c` with at most `max` items, then `and N more`; odd names (from the flake) escaped. */
function shortList(items: readonly string[], max = 10): string {
  if (items.length === 0) return 'none'
  const shown = items
    .slice(0, max)
    .map(i => (/^[A-Za-z0-9._@-]{1,80}$/.test(i) ? i : showValue(i, 40)))
  return items.length <= max
    ? shown.join(', ')
    : `${shown.join(', ')} and ${items.length - max} more`
}

function noMatch(input: string, rest: string): ActionError {
  return new ActionError(`Input '${input}': ${rest}`, { input })
}

/**
 * The names of the hosts the selector picks, in the hosts' order, each once.
 * Every rule must match at least one host, or an ActionError names the rule.
 */
export function selectHosts(
  selector: Selector,
  hosts: readonly HostInfo[],
  input = 'on'
): string[] {
  if (selector.all) return hosts.map(h => h.name).filter((n, i, all) => all.indexOf(n) === i)
  const compiled = selector.rules.map(rule => ({ rule, re: globToRegExp(rule.pattern) }))
  for (const { rule, re } of compiled) {
    if (hosts.some(h => ruleMatches(rule, re, h))) continue
    if (rule.kind === 'name') {
      throw noMatch(
        input,
        `${showValue(rule.text)} matches no host (hosts: ${shortList(hosts.map(h => h.name))})`
      )
    }
    const tags = [...new Set(hosts.flatMap(h => h.tags))].sort()
    throw noMatch(input, `${showValue(rule.text)} matches no host's tag (tags: ${shortList(tags)})`)
  }
  const picked: string[] = []
  for (const host of hosts) {
    if (picked.includes(host.name)) continue
    if (compiled.some(({ rule, re }) => ruleMatches(rule, re, host))) picked.push(host.name)
  }
  return picked
}
