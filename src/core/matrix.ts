/**
 * The hosts to build and deploy, as a GitHub Actions matrix: selected by `on`, minus the hosts
 * whose toplevel derivation is the same at `changed-since`, packed into shards beyond `max-jobs`.
 */
import { ActionError } from './errors.js'
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
