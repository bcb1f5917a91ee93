/**
 * The hosts to build and deploy, as a GitHub Actions matrix: selected by `on`, minus the hosts
 * whose toplevel derivation is the same at `changed-since`, packed into shards beyond `max-jobs`.
 */
import { ActionError, badInput } from './errors.js'
import {
  evalSystemDrvPaths,
  indexOfInventory,
  readInventory,
  requireTarget,
  type HostInfo
} from './flake.js'
import { requireGitFlake } from './local-flake.js'
import type { Logger } from './log.js'
import { flakeAtRevision } from './nix.js'
import { resolveRevision } from './git.js'
import { parseSelector, selectHosts } from './selector.js'
import { formatTarget } from './target.js'
import { firstBadCharacter, showValue } from './inputs.js'

export const GITHUB_MATRIX_LIMIT = 256

/** The runner label of a system the `runners` map does not name. */
export const DEFAULT_RUNNER = 'ubuntu-latest'

export interface MatrixHostEntry {
  host: string
  system: string | null
  target: string
  tags: string[]
  'runs-on': string
}

/** A shard holds hosts of one system only, so that one runner of that system builds them all. */
export interface MatrixShardEntry {
  shard: number
  hosts: string[]
  system: string | null
  'runs-on': string
}

/** The `runners` input: Nix system -> runner label; the key `*` names the label of every other system. */
export type Runners = Record<string, string>

export interface MatrixPlan {
  matrix: { include: (MatrixHostEntry | MatrixShardEntry)[] }
  /** Hosts to build, in order. */
  hosts: string[]
  /** Selected hosts left out because their toplevel derivation did not change. */
  skipped: string[]
  /** Every selected host, with why it is in or out. */
  details: {
    host: string
    system: string | null
    target: string
    tags: string[]
    included: boolean
    reason: string
  }[]
  sharded: boolean
  changedSince?: { input: string; commit: string }
}

export interface MatrixOptions {
  flake: string
  on: string
  changedSince: string
  maxJobs: number
  /** Nix system -> runner label (parsed `runners`); systems it does not name get `*` or ubuntu-latest. */
  runners?: Runners
  cwd: string
  logger?: Logger
  /**
   * Hosts that go into the matrix even when their toplevel is unchanged, with the reason (for
   * example: their last deploy failed, so the unchanged system is still not on the host).
   */
  mustDeploy?: (unchanged: string[]) => Promise<Record<string, string>>
}

/** `github.event.before` when a branch is created: no base revision at all. */
export function isNullRevision(rev: string): boolean {
  return /^0{40}$|^0{64}$/.test(rev)
}

/** A full commit id (SHA-1 or SHA-256): what `github.event.before` holds. */
function isCommitId(rev: string): boolean {
  return /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(rev)
}

export async function planMatrix(opts: MatrixOptions): Promise<MatrixPlan> {
  if (!Number.isInteger(opts.maxJobs) || opts.maxJobs < 1 || opts.maxJobs > GITHUB_MATRIX_LIMIT) {
    throw new ActionError(
      `Input 'max-jobs' must be a whole number from 1 to ${GITHUB_MATRIX_LIMIT}, not '${opts.maxJobs}'.`,
      {
        input: 'max-jobs'
      }
    )
  }
  const selector = parseSelector(opts.on)
  const inventory = await readInventory(opts.flake, { logger: opts.logger, cwd: opts.cwd })
  const selectedNames = selectHosts(
    selector,
    inventory.map(h => ({ name: h.name, tags: h.tags }))
  )
  const byName = new Map(inventory.map(h => [h.name, h]))
  // A host whose flake data is unusable (an invalid target, ssh option or system) is left out
  // with a warning naming it and why: one bad host does not take the others' matrix down. Only
  // when no selected host is usable does the step fail, with the first one's sentence.
  const candidates = selectedNames.map(n => byName.get(n) as HostInfo)
  const invalid = candidates.filter(h => !h.target)
  for (const h of invalid) {
    const why = h.targetError?.message ?? `Host ${h.name} has no SSH target.`
    opts.logger?.warning(`${why.replace(/\.$/, '')}: host ${h.name} is left out of the matrix.`)
  }
  if (invalid.length > 0 && invalid.length === candidates.length) requireTarget(invalid[0])
  const selected = candidates.filter(h => h.target)

  const reasons = new Map<string, { included: boolean; reason: string }>()
  let changedSince: MatrixPlan['changedSince']
  const since = opts.changedSince.trim()
  let commit: string | null = null
  if (since !== '' && isNullRevision(since)) {
    opts.logger?.notice?.(
      `changed-since is the all-zeros revision (a branch was just created, so there is nothing to compare with): every selected host is treated as changed.`
    )
  } else if (since !== '') {
    const local = await requireGitFlake(opts.flake, opts.cwd, 'changed-since')
    try {
      commit = await resolveRevision(local.repoRoot, since, 'changed-since', opts.logger)
    } catch (err) {
      // A force-push leaves github.event.before naming a commit nobody has any more.
      if (!isCommitId(since)) throw err
      opts.logger?.notice?.(
        `changed-since: the commit ${since.slice(0, 12)} is not in this repository (after a force-push the previous head is gone, or the checkout is shallow): every selected host is treated as changed.`
      )
    }
  }
  if (commit !== null) {
    const local = await requireGitFlake(opts.flake, opts.cwd, 'changed-since')
    changedSince = { input: since, commit }
    const names = selected.map(h => h.name)
    // A few evaluations for the current tree (one per output), as many for the revision: never
    // one process per host.
    const now = await evalSystemDrvPaths(opts.flake, names, {
      logger: opts.logger,
      cwd: opts.cwd,
      index: indexOfInventory(inventory)
    })
    let before: Record<string, string> = {}
    try {
      before = await evalSystemDrvPaths(
        flakeAtRevision(local.repoRoot, commit, local.subdir),
        names,
        {
          logger: opts.logger,
          cwd: opts.cwd,
          phase: 'evaluate changed-since'
        }
      )
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err)
      opts.logger?.warning(
        `The flake could not be evaluated at ${since} (${commit.slice(0, 12)}), so every selected host is treated as changed: ${msg}`
      )
      before = {}
    }
    for (const name of names) {
      if (!(name in before)) reasons.set(name, { included: true, reason: `new since ${since}` })
      else if (before[name] !== now[name])
        reasons.set(name, { included: true, reason: 'toplevel derivation changed' })
      else reasons.set(name, { included: false, reason: 'toplevel derivation unchanged' })
    }
    const unchanged = names.filter(n => !reasons.get(n)?.included)
    if (unchanged.length && opts.mustDeploy) {
      for (const [name, reason] of Object.entries(await opts.mustDeploy(unchanged)))
        if (unchanged.includes(name)) reasons.set(name, { included: true, reason })
    }
  } else if (since !== '') {
    for (const h of selected)
      reasons.set(h.name, { included: true, reason: 'no base revision to compare with' })
  } else {
    for (const h of selected) reasons.set(h.name, { included: true, reason: 'selected' })
  }

  const details = selected.map(h => ({
    host: h.name,
    system: h.system,
    target: formatTarget(requireTarget(h)),
    tags: h.tags,
    ...(reasons.get(h.name) as { included: boolean; reason: string })
  }))
  const included = details.filter(d => d.included)
  const skipped = details.filter(d => !d.included).map(d => d.host)
  const runners = runnerChooser(opts.runners ?? {}, opts.logger)
  const runnerOf = runners.choose
  let include: (MatrixHostEntry | MatrixShardEntry)[]
  let sharded = false
  if (included.length <= opts.maxJobs) {
    include = included.map(d => ({
      host: d.host,
      system: d.system,
      target: d.target,
      tags: d.tags,
      'runs-on': runnerOf(d.system, [d.host])
    }))
  } else {
    sharded = true
    include = shardBySystem(included, opts.maxJobs).map((group, i) => ({
      shard: i + 1,
      hosts: group.hosts,
      system: group.system,
      'runs-on': runnerOf(group.system, group.hosts)
    }))
  }
  runners.report()
  return {
    matrix: { include },
    hosts: included.map(d => d.host),
    skipped,
    details,
    sharded,
    changedSince
  }
}

/** Splits `items` into `n` contiguous shards whose sizes differ by at most one. */
export function shard<T>(items: T[], n: number): T[][] {
  const shards: T[][] = []
  const base = Math.floor(items.length / n)
  const extra = items.length % n
  let i = 0
  for (let s = 0; s < n && i < items.length; s++) {
    const size = base + (s < extra ? 1 : 0)
    shards.push(items.slice(i, i + size))
    i += size
  }
  return shards
}

/**
 * Packs hosts into at most `maxJobs` shards, each holding hosts of one system only (one runner
 * of that architecture builds the whole shard). Every system gets at least one shard; the rest go,
 * one at a time, to the system whose shards are then the largest, so shard sizes stay as even as
 * the systems allow. Hosts keep their order within a system; systems keep the order they first
 * appear in.
 */
export function shardBySystem(
  hosts: { host: string; system: string | null }[],
  maxJobs: number
): { system: string | null; hosts: string[] }[] {
  const groups = new Map<string | null, string[]>()
  for (const h of hosts) {
    const g = groups.get(h.system)
    if (g) g.push(h.host)
    else groups.set(h.system, [h.host])
  }
  const systems = [...groups.keys()]
  if (systems.length > maxJobs) {
    throw new ActionError(
      `Input 'max-jobs' is ${maxJobs}, but the ${hosts.length} hosts have ${systems.length} systems (${systems.map(s => s ?? 'unknown').join(', ')}) and a shard holds hosts of one system only: raise max-jobs to at least ${systems.length}.`,
      { input: 'max-jobs' }
    )
  }
  const counts = systems.map(() => 1)
  const sizes = systems.map(s => (groups.get(s) as string[]).length)
  for (let left = maxJobs - systems.length; left > 0; left--) {
    let best = -1
    for (let i = 0; i < systems.length; i++) {
      if (counts[i] >= sizes[i]) continue
      if (best < 0 || Math.ceil(sizes[i] / counts[i]) > Math.ceil(sizes[best] / counts[best]))
        best = i
    }
    if (best < 0) break
    counts[best]++
  }
  return systems.flatMap((system, i) =>
    shard(groups.get(system) as string[], counts[i]).map(part => ({ system, hosts: part }))
  )
}

/** A runner label as `runs-on` takes it: letters, digits, `.`, `_`, `-`, inner spaces. */
const RUNNER_LABEL = /^[A-Za-z0-9._-](?:[A-Za-z0-9._ -]{0,98}[A-Za-z0-9._-])?$/

/**
 * The `runners` input: a JSON object from Nix system (or `*`, every other system) to a runner
 * label. Empty: every system builds on ubuntu-latest.
 */
export function parseRunners(value: string | undefined): Runners {
  const text = (value ?? '').trim()
  if (text === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw badInput(
      'runners',
      `is not valid JSON (${showValue(text, 60)}): write a map from Nix system to runner label, such as {"aarch64-linux":"ubuntu-24.04-arm"}.`
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badInput(
      'runners',
      `must be a JSON object from Nix system to runner label, such as {"aarch64-linux":"ubuntu-24.04-arm"}, not ${Array.isArray(parsed) ? 'an array' : showValue(text, 60)}.`
    )
  }
  const out: Runners = {}
  for (const [system, label] of Object.entries(parsed as Record<string, unknown>)) {
    if (system !== '*' && !/^[A-Za-z0-9_]{1,32}(?:-[A-Za-z0-9_]{1,32}){1,3}$/.test(system)) {
      throw badInput(
        'runners',
        `has the key ${showValue(system, 40)}, which is not a Nix system such as aarch64-linux (or * for every other system).`
      )
    }
    if (typeof label !== 'string') {
      throw badInput(
        'runners',
        `gives ${system} ${label === null ? 'null' : Array.isArray(label) ? 'an array' : `a ${typeof label}`}, not a runner label: each value must be one string, such as "ubuntu-24.04-arm".`
      )
    }
    if (!RUNNER_LABEL.test(label)) {
      const bad = firstBadCharacter(label, /[A-Za-z0-9._ -]/)
      throw badInput(
        'runners',
        `gives ${system} the runner label ${showValue(label, 40)}, which ${bad ? `contains ${bad}` : 'is empty, too long or starts or ends with a space'}: a label is letters, digits, '.', '_', '-' and inner spaces.`
      )
    }
    out[system] = label
  }
  return out
}

/**
 * The runner label for a system: the map's entry, else its `*` entry, else ubuntu-latest. When a
 * map is given without `*`, `report` gives one notice per system it does not name, with its hosts.
 */
function runnerChooser(
  runners: Runners,
  logger?: Logger
): { choose: (system: string | null, hosts: string[]) => string; report: () => void } {
  const given = Object.keys(runners).length > 0
  const fallback = runners['*'] ?? DEFAULT_RUNNER
  const missing = new Map<string, string[]>()
  return {
    choose(system, hosts) {
      if (system !== null && Object.prototype.hasOwnProperty.call(runners, system))
        return runners[system]
      if (given && !('*' in runners)) {
        const key = system ?? 'an unknown system'
        missing.set(key, [...(missing.get(key) ?? []), ...hosts])
      }
      return fallback
    },
    report() {
      for (const [system, hosts] of missing) {
        const names =
          hosts.length > 5
            ? `${hosts.slice(0, 5).join(', ')} and ${hosts.length - 5} more`
            : hosts.join(', ')
        const say = logger?.notice ? logger.notice.bind(logger) : logger?.info.bind(logger)
        say?.(
          `Input 'runners' has no entry for ${system} (host${hosts.length > 1 ? 's' : ''} ${names}): ${hosts.length > 1 ? 'they build' : 'it builds'} on ${fallback}. Add that system (or "*", every other system) to runners to choose another runner.`
        )
      }
    }
  }
}
