/**
 * Health checks that live with the host, in the flake (morph's idea: the checks of a service
 * are written next to the service). Two places, both optional, read for the hosts being deployed
 * in one evaluation each:
 *
 * - `deploy.nodes.<host>.healthChecks` (deploy-rs-style flakes; deploy-rs itself ignores it);
 * - `nixosConfigurations.<host>.config.deployment.healthChecks`, when the configuration defines
 *   it (a module of your own, or morph's option), or the same option of a colmena node
 *   (`colmenaHive.deploymentConfig.<host>.healthChecks`). Nothing requires a module: a host
 *   without it has no checks here.
 *
 * Each is a list of the items the `health-checks` input takes (http, command, tcp, systemd, with
 * name and timeout), or morph's shape `{ http = [ { scheme; host; port; path; description;
 * timeout; } ]; cmd = [ { cmd = [ argv… ]; description; timeout; } ]; }`.
 *
 * The flake is data a pull request controls (as `sshOpts`, docs/security.md), so its checks pass
 * `hostHealthChecks`' rules before the host is deployed:
 * - no `command` (morph `cmd`) check unless the workflow sets `allow-flake-commands: true`: it
 *   would run the pull request's words as the deploy's SSH user;
 * - an `http` or `tcp` check must reach the host itself (its URL's or address's host, once
 *   `{host}`/`{target}` are filled in, is the host's target address), so the runner, which may
 *   sit in a private network, cannot be pointed at other machines (SSRF). Checks of other
 *   addresses belong in the workflow's `health-checks` input.
 * A refused check fails that host's deploy before anything is copied; the other hosts go on.
 */
import { ActionError } from './errors.js'
import { describeCheck, expandCheck, parseCheckList, type HealthCheck } from './health-config.js'
import { showValue } from './inputs.js'
import type { Logger } from './log.js'
import { nixEvalJsonOptional, nixString } from './nix.js'
import { shellQuote } from './process.js'

/** A check from the flake, with where it came from (for messages). */
export interface FlakeCheck {
  check: HealthCheck
  source: string
}

export interface FlakeChecks {
  /** The flake's checks of each host that has some. */
  checks: Map<string, FlakeCheck[]>
  /** Hosts whose flake value is not a list of checks: the sentence that fails their deploy. */
  errors: Map<string, ActionError>
}

/**
 * `toJSON` inside `tryEval`: a value that throws is reported as such, not as a failed
 * evaluation of the whole flake; a missing attribute is null.
 */
function applyFor(hosts: string[], get: string, from: string): string {
  const wanted = `[ ${hosts.map(nixString).join(' ')} ]`
  return `x: let
    src = ${from};
    one = n: let r = builtins.tryEval (builtins.toJSON (${get})); in if r.success then r.value else "throws";
  in builtins.listToAttrs (map (n: { name = n; value = one n; }) (builtins.filter (n: src ? \${n}) ${wanted}))`
}

/** Reads the flake's checks of `hosts` (one evaluation per output; hosts it lacks are skipped). */
export async function readFlakeChecks(
  flake: string,
  hosts: string[],
  opts: { logger?: Logger; cwd?: string } = {}
): Promise<FlakeChecks> {
  const out: FlakeChecks = { checks: new Map(), errors: new Map() }
  if (hosts.length === 0) return out
  // The host's `deployment.healthChecks` option is read from the first output that has the host
  // with it (a host in both nixosConfigurations and a colmena hive is the same configuration).
  const sources: {
    installable: string
    apply: string
    where: (h: string) => string
    option: boolean
  }[] = [
    {
      installable: `${flake}#deploy`,
      apply: applyFor(hosts, 'src.${n}.healthChecks or null', 'x.nodes or {}'),
      where: h => `deploy.nodes.${h}.healthChecks`,
      option: false
    },
    {
      installable: `${flake}#nixosConfigurations`,
      apply: applyFor(hosts, 'src.${n}.config.deployment.healthChecks or null', 'x'),
      where: h => `nixosConfigurations.${h}.config.deployment.healthChecks`,
      option: true
    },
    {
      // colmena's evaluated hive: each node's `config.deployment`, as colmena.lib.makeHive keeps it.
      installable: `${flake}#colmenaHive`,
      apply: applyFor(hosts, 'src.${n}.healthChecks or null', 'x.deploymentConfig or {}'),
      where: h => `colmenaHive.deploymentConfig.${h}.healthChecks`,
      option: true
    }
  ]
  const optionRead = new Set<string>()
  for (const s of sources) {
    const found = await nixEvalJsonOptional<Record<string, string>>(s.installable, {
      apply: s.apply,
      logger: opts.logger,
      cwd: opts.cwd,
      phase: 'evaluate',
      what: `evaluating the health checks in ${s.where('<host>')}`
    })
    for (const [host, json] of Object.entries(found ?? {})) {
      if (!hosts.includes(host) || out.errors.has(host)) continue
      if (s.option && json !== 'null') {
        if (optionRead.has(host)) continue
        optionRead.add(host)
      }
      const where = s.where(host)
      try {
        if (json === 'throws')
          throw flakeValueError(host, where, 'its evaluation failed (it throws)')
        const list = parseFlakeChecks(JSON.parse(json) as unknown, host, where)
        if (list.length === 0) continue
        out.checks.set(host, [
          ...(out.checks.get(host) ?? []),
          ...list.map(check => ({ check, source: where }))
        ])
      } catch (err) {
        if (!(err instanceof ActionError)) throw err
        out.errors.set(host, err)
        out.checks.delete(host)
      }
    }
  }
  return out
}

function flakeValueError(host: string, where: string, problem: string): ActionError {
  return new ActionError(`Host ${host}: ${where} ${problem}.`, { host, phase: 'evaluate' })
}

/**
 * The flake's value as checks: null (none), a list of `health-checks` items, or morph's
 * `{ http = [ … ]; cmd = [ … ]; }`. Throws one sentence naming the host and where.
 */
export function parseFlakeChecks(value: unknown, host: string, where: string): HealthCheck[] {
  const fail = (problem: string) => flakeValueError(host, where, problem)
  if (value === null || value === undefined) return []
  if (typeof value === 'object' && !Array.isArray(value)) {
    return parseCheckList(morphItems(value as Record<string, unknown>, fail), fail)
  }
  return parseCheckList(
    value,
    fail,
    "is not a list of checks (the items of the workflow's health-checks input) nor morph's { http = [ … ]; cmd = [ … ]; }"
  )
}

/** morph's checks as `health-checks` items (their `period` is ours to choose: it is dropped). */
function morphItems(
  value: Record<string, unknown>,
  fail: (problem: string) => ActionError
): unknown[] {
  const unknown = Object.keys(value).find(k => k !== 'http' && k !== 'cmd')
  if (unknown !== undefined)
    throw fail(
      `has the key ${showValue(unknown, 40)}; expected a list of checks, or morph's { http = [ … ]; cmd = [ … ]; }`
    )
  const list = (key: string): Record<string, unknown>[] => {
    const v = value[key] ?? []
    if (!Array.isArray(v) || v.some(i => typeof i !== 'object' || i === null || Array.isArray(i)))
      throw fail(`has a '${key}' that is not a list of attribute sets`)
    return v as Record<string, unknown>[]
  }
  const common = (item: Record<string, unknown>) => ({
    ...(typeof item.description === 'string' && item.description.trim() !== ''
      ? { name: item.description }
      : {}),
    ...(item.timeout !== undefined ? { timeout: item.timeout } : {})
  })
  const items: unknown[] = []
  for (const h of list('http')) {
    const extra = Object.keys(h).find(
      k => !['scheme', 'host', 'port', 'path', 'description', 'timeout', 'period'].includes(k)
    )
    const headers = h.headers
    if (
      headers !== undefined &&
      !(typeof headers === 'object' && headers !== null && Object.keys(headers).length === 0)
    )
      throw fail(`has an http check with 'headers', which the suite does not send`)
    if (h.insecureSSL === true)
      throw fail(`has an http check with 'insecureSSL = true', which the suite does not allow`)
    if (extra !== undefined && extra !== 'headers' && extra !== 'insecureSSL')
      throw fail(`has an http check with the unknown key ${showValue(extra, 40)}`)
    const scheme = h.scheme ?? 'http'
    const host = h.host ?? '{target}'
    const path = h.path ?? '/'
    if (typeof scheme !== 'string' || typeof host !== 'string' || typeof path !== 'string')
      throw fail(`has an http check whose scheme, host or path is not a string`)
    if (h.port !== undefined && !(typeof h.port === 'number' && Number.isInteger(h.port)))
      throw fail(`has an http check whose port is not a number`)
    const port = h.port === undefined ? '' : `:${h.port}`
    const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
    items.push({
      http: `${scheme}://${shownHost}${port}${path.startsWith('/') ? path : `/${path}`}`,
      ...common(h)
    })
  }
  for (const c of list('cmd')) {
    const extra = Object.keys(c).find(k => !['cmd', 'description', 'timeout', 'period'].includes(k))
    if (extra !== undefined)
      throw fail(`has a cmd check with the unknown key ${showValue(extra, 40)}`)
    const argv = c.cmd
    if (!Array.isArray(argv) || argv.length === 0 || argv.some(a => typeof a !== 'string'))
      throw fail(`has a cmd check whose cmd is not a non-empty list of strings`)
    items.push({ command: (argv as string[]).map(shellQuote).join(' '), ...common(c) })
  }
  return items
}

/**
 * One host's checks: the workflow's, then the flake's, each flake check held to the rules in
 * this file's comment. Throws one sentence naming the host, the check, and what to change.
 */
export function hostHealthChecks(opts: {
  host: string
  /** The host's target address (no user, no port): `{target}`. */
  address: string
  workflow: HealthCheck[]
  flake: FlakeCheck[]
  allowCommands: boolean
}): HealthCheck[] {
  for (const { check, source } of opts.flake) {
    const refuse = (why: string) =>
      new ActionError(
        `Host ${opts.host}: the health check ${describeCheck(check)} from ${source} is refused: ${why}.`,
        { host: opts.host, phase: 'resolve', input: 'allow-flake-commands' }
      )
    if (check.kind === 'command' && !opts.allowCommands)
      throw refuse(
        "checks from the flake may run commands on the host only when the workflow sets 'allow-flake-commands: true'"
      )
    const reaches = reachedHost(expandCheck(check, { host: opts.host, target: opts.address }))
    if (reaches !== null && !sameHost(reaches, opts.address))
      throw refuse(
        `a check from the flake may only reach the host itself (${opts.address}; write {target}), not ${reaches}; put checks of other addresses in the workflow's 'health-checks' input`
      )
  }
  return [...opts.workflow, ...opts.flake.map(f => f.check)]
}

/** The network host an http or tcp check connects to from the runner (null: none). */
function reachedHost(check: HealthCheck): string | null {
  if (check.kind === 'http') return new URL(check.url).hostname.replace(/^\[(.*)\]$/, '$1')
  if (check.kind === 'tcp') return check.host ?? null
  return null
}

function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '')
}
