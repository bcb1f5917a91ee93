/**
 * The hosts to build and deploy, as a GitHub Actions matrix: selected by `on`, minus the hosts
 * whose toplevel derivation is the same at `changed-since`, packed into shards beyond `max-jobs`.
 */
import { ActionError } from './errors.js'
import { evalToplevelDrvPaths, readInventory, requireTarget, type HostInfo } from './flake.js'
import { requireGitFlake } from './local-flake.js'
import type { Logger } from './log.js'
import { flakeAtRevision } from './nix.js'
import { resolveRevision } from './git.js'
import { parseSelector, selectHosts } from './selector.js'
import { formatTarget } from './target.js'

export const GITHUB_MATRIX_LIMIT = 256

export interface MatrixHostEntry {
  host: string
  system: string | null
  target: string
  tags: string[]
}

export interface MatrixShardEntry {
  shard: number
  hosts: string[]
}

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
  cwd: string
  logger?: Logger
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
  if (opts.changedSince.trim() !== '') {
    const local = await requireGitFlake(opts.flake, opts.cwd, 'changed-since')
    const commit = await resolveRevision(
      local.repoRoot,
      opts.changedSince.trim(),
      'changed-since',
      opts.logger
    )
    changedSince = { input: opts.changedSince.trim(), commit }
    const names = selected.map(h => h.name)
    // One evaluation for the current tree, one for the revision: never one process per host.
    const now = await evalToplevelDrvPaths(opts.flake, names, {
      logger: opts.logger,
      cwd: opts.cwd
    })
    let before: Record<string, string> = {}
    try {
      before = await evalToplevelDrvPaths(
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
        `The flake could not be evaluated at ${opts.changedSince} (${commit.slice(0, 12)}), so every selected host is treated as changed: ${msg}`
      )
      before = {}
    }
    for (const name of names) {
      if (!(name in before))
        reasons.set(name, { included: true, reason: `new since ${opts.changedSince}` })
      else if (before[name] !== now[name])
        reasons.set(name, { included: true, reason: 'toplevel derivation changed' })
      else reasons.set(name, { included: false, reason: 'toplevel derivation unchanged' })
    }
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
  let include: (MatrixHostEntry | MatrixShardEntry)[]
  let sharded = false
  if (included.length <= opts.maxJobs) {
    include = included.map(d => ({
      host: d.host,
      system: d.system,
      target: d.target,
      tags: d.tags
    }))
  } else {
    sharded = true
    include = shard(
      included.map(d => d.host),
      opts.maxJobs
    ).map((hosts, i) => ({ shard: i + 1, hosts }))
  }
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
