/**
 * A fleet in waves: `max-parallel` hosts at a time; `all` (one wave), `canary` (one host, then the
 * rest), `waves:N` (N waves of growing size). The first wave with a host that did not end
 * deployed or unchanged halts the rollout: later waves are not touched, and hosts of earlier
 * waves (and this wave's healthy ones) are returned to their previous system unless
 * `rollbackScope` is 'host' or every failure came before the host's system changed.
 */
import type { Strategy } from '../inputs.js'
import type { Logger } from '../log.js'
import { newHostResult, type HostResult } from '../model.js'

export type RollbackScope = 'fleet' | 'host'

/** Splits hosts into waves. waves:N grows geometrically (1, 2, 4, … scaled to the fleet). */
export function planWaves(hosts: string[], strategy: Strategy): string[][] {
  if (hosts.length === 0) return []
  if (strategy.kind === 'all') return [hosts]
  if (strategy.kind === 'canary') return hosts.length === 1 ? [hosts] : [[hosts[0]], hosts.slice(1)]
  const n = Math.min(strategy.waves, hosts.length)
  // Sizes proportional to 1, 2, 4, …, each at least 1, summing to the fleet: floors of the
  // quotas, then the hosts left over go to the waves furthest below their quota (6 hosts in 3
  // waves: 1, 2, 3), so the sizes never shrink from one wave to the next.
  const weights = Array.from({ length: n }, (_, i) => 2 ** i)
  const total = weights.reduce((a, b) => a + b, 0)
  const quota = weights.map(w => (w / total) * hosts.length)
  const sizes = quota.map(q => Math.max(1, Math.floor(q)))
  let missing = hosts.length - sizes.reduce((a, b) => a + b, 0)
  const pick = (candidates: number[], key: (i: number) => number): number =>
    candidates.reduce((best, i) => (key(i) >= key(best) ? i : best), candidates[0])
  for (; missing > 0; missing--) sizes[pick([...sizes.keys()], i => quota[i] - sizes[i])]++
  for (; missing < 0; missing++)
    sizes[
      pick(
        [...sizes.keys()].filter(i => sizes[i] > 1),
        i => sizes[i] - quota[i]
      )
    ]--
  const waves: string[][] = []
  let at = 0
  for (const size of sizes) {
    waves.push(hosts.slice(at, at + size))
    at += size
  }
  return waves.filter(w => w.length > 0)
}

export interface RolloutOptions {
  hosts: string[]
  strategy: Strategy
  maxParallel: number
  rollbackScope: RollbackScope
  deploy: (host: string) => Promise<HostResult>
  /** Returns an already deployed host to its previous store path. */
  revert: (result: HostResult) => Promise<HostResult>
  logger: Logger
}

export interface RolloutResult {
  results: HostResult[]
  waves: string[][]
  haltedAtWave: number | null
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping order in the results. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  })
  await Promise.all(workers)
  return out
}

const OK = new Set(['deployed', 'unchanged'])
/** Phases that fail before a host's system changes. */
const UNCHANGED_PHASES = new Set<string>(['resolve', 'probe', 'lock', 'copy', 'record', 'arm'])

export async function rollout(opts: RolloutOptions): Promise<RolloutResult> {
  const waves = planWaves(opts.hosts, opts.strategy)
  const byHost = new Map<string, HostResult>()
  let haltedAtWave: number | null = null
  for (let w = 0; w < waves.length; w++) {
    const wave = waves[w]
    opts.logger.info(`Wave ${w + 1} of ${waves.length}: ${wave.join(', ')}`)
    const results = await mapLimit(wave, opts.maxParallel, host => opts.deploy(host))
    for (const r of results) byHost.set(r.host, r)
    const failed = results.filter(r => !OK.has(r.status))
    if (failed.length === 0) continue
    haltedAtWave = w
    opts.logger.error(
      `Wave ${w + 1} failed on ${failed.map(f => f.host).join(', ')}: the rollout stops here.`
    )
    // This wave's healthy hosts and earlier waves' hosts go back too, unless asked otherwise, when
    // the new systems were found wanting on some host. A host that failed before anything changed
    // on it (unreachable, locked, copy failed) proves nothing against them: halt, revert nothing.
    const wanting = failed.some(r => !r.failedPhase || !UNCHANGED_PHASES.has(r.failedPhase))
    if (!wanting)
      opts.logger.info(
        `No host of wave ${w + 1} switched and failed: the deployed hosts keep their new systems.`
      )
    if (opts.rollbackScope === 'fleet' && wanting) {
      const toRevert = [...byHost.values()].filter(
        r => r.status === 'deployed' && r.previousStorePath
      )
      if (toRevert.length > 0)
        opts.logger.info(
          `Returning ${toRevert.map(r => r.host).join(', ')} to their previous systems.`
        )
      const reverted = await mapLimit(toRevert, opts.maxParallel, r => opts.revert(r))
      for (const rv of reverted) {
        const orig = byHost.get(rv.host) as HostResult
        byHost.set(rv.host, {
          ...orig,
          status:
            rv.status === 'rolled-back' || rv.status === 'unchanged' ? 'rolled-back' : 'failed',
          activeStorePath: rv.activeStorePath,
          generation: rv.generation,
          phases: [
            ...orig.phases,
            ...rv.phases.map(p => ({
              ...p,
              name: 'rollback' as const,
              detail: `${p.name}${p.detail ? `: ${p.detail}` : ''}`
            }))
          ],
          durationSeconds: orig.durationSeconds + rv.durationSeconds,
          error:
            rv.status === 'rolled-back' || rv.status === 'unchanged'
              ? `Host ${rv.host} was deployed, then returned to ${orig.previousStorePath} because wave ${w + 1} failed.`
              : `Host ${rv.host} was deployed, but returning it to ${orig.previousStorePath} after wave ${w + 1} failed: ${rv.error ?? 'unknown error'}`
        })
      }
    }
    break
  }
  // Hosts of later waves were not touched.
  const results = opts.hosts.map(
    h =>
      byHost.get(h) ?? {
        ...newHostResult(h, 'skipped'),
        error:
          haltedAtWave !== null
            ? `Host ${h} was not touched: the rollout stopped at wave ${haltedAtWave + 1}.`
            : undefined
      }
  )
  return { results, waves, haltedAtWave }
}
