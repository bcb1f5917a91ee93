/**
 * Fleet rollout: wave planning and the halting/revert rules, with fake deploy and revert
 * functions (the real ones run in test/integration/fleet-deploy.test.ts).
 */
import { describe, expect, it } from '@jest/globals'
import { mapLimit, planWaves, rollout, type RollbackScope } from '../../src/core/deploy/rollout.js'
import type { HostResult, HostStatus, PhaseName } from '../../src/core/model.js'
import type { Strategy } from '../../src/core/inputs.js'
import { MemoryLogger } from '../../src/core/log.js'

const names = (n: number, prefix = 'h') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`)
const sizes = (waves: string[][]) => waves.map(w => w.length)

describe('planWaves', () => {
  it('all: one wave with every host, in order', () => {
    expect(planWaves(names(6), { kind: 'all' })).toEqual([names(6)])
  })

  it('canary: the first host alone, then the rest', () => {
    expect(planWaves(names(6), { kind: 'canary' })).toEqual([
      ['h1'],
      ['h2', 'h3', 'h4', 'h5', 'h6']
    ])
    expect(planWaves(['solo'], { kind: 'canary' })).toEqual([['solo']])
  })

  it('no hosts, no waves', () => {
    for (const s of [
      { kind: 'all' },
      { kind: 'canary' },
      { kind: 'waves', waves: 3 }
    ] as Strategy[])
      expect(planWaves([], s)).toEqual([])
  })

  it('waves:N grows: 6 hosts in 3 waves are 1, 2, 3; 8 are 1, 2, 5; 10 in 4 are 1, 1, 3, 5', () => {
    expect(planWaves(names(6), { kind: 'waves', waves: 3 })).toEqual([
      ['h1'],
      ['h2', 'h3'],
      ['h4', 'h5', 'h6']
    ])
    expect(sizes(planWaves(names(8), { kind: 'waves', waves: 3 }))).toEqual([1, 2, 5])
    expect(sizes(planWaves(names(10), { kind: 'waves', waves: 4 }))).toEqual([1, 1, 3, 5])
    expect(sizes(planWaves(names(6), { kind: 'waves', waves: 2 }))).toEqual([2, 4])
    expect(sizes(planWaves(names(100), { kind: 'waves', waves: 1 }))).toEqual([100])
  })

  it('waves:N with N above the number of hosts: one host per wave', () => {
    expect(planWaves(names(3), { kind: 'waves', waves: 5 })).toEqual([['h1'], ['h2'], ['h3']])
    expect(planWaves(['a'], { kind: 'waves', waves: 100 })).toEqual([['a']])
  })

  it('for every fleet size and N: every host exactly once, in order, min(N, hosts) non-empty waves that never shrink', () => {
    for (let count = 1; count <= 60; count++) {
      const hosts = names(count)
      for (let n = 1; n <= 12; n++) {
        const waves = planWaves(hosts, { kind: 'waves', waves: n })
        const where = `${count} hosts, waves:${n}: ${JSON.stringify(sizes(waves))}`
        expect([where, waves.flat()]).toEqual([where, hosts])
        expect([where, waves.length]).toEqual([where, Math.min(n, count)])
        for (let i = 0; i < waves.length; i++) {
          expect([where, waves[i].length >= 1]).toEqual([where, true])
          if (i > 0) expect([where, waves[i].length >= waves[i - 1].length]).toEqual([where, true])
        }
      }
    }
  })
})

describe('mapLimit', () => {
  it('keeps the order of the results and never runs more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const out = await mapLimit(names(9), 3, async h => {
      running++
      peak = Math.max(peak, running)
      await new Promise(r => setTimeout(r, 5 + Math.random() * 10))
      running--
      return h.toUpperCase()
    })
    expect(out).toEqual(names(9).map(h => h.toUpperCase()))
    expect(peak).toBe(3)
  })

  it('an empty list resolves at once', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// rollout with fake hosts

type Outcome = HostStatus | { status: HostStatus; phase: PhaseName }

interface FakeFleet {
  deployed: string[]
  reverted: string[]
  peakDeploys: number
  peakReverts: number
}

function result(host: string, status: HostStatus, phase?: PhaseName): HostResult {
  return {
    host,
    status,
    storePath: `/nix/store/${'n'.repeat(32)}-new-${host}`,
    previousStorePath: `/nix/store/${'o'.repeat(32)}-old-${host}`,
    previousGeneration: 1,
    generation: status === 'deployed' ? 2 : 1,
    activeStorePath: null,
    durationSeconds: 1,
    phases: [{ name: 'probe', status: 'ok', durationMs: 10, startedAt: 0, endedAt: 10 }],
    health: [],
    error:
      status === 'deployed' || status === 'unchanged'
        ? undefined
        : `Host ${host} failed in phase ${phase ?? 'verify'}: test.`,
    failedPhase: status === 'deployed' || status === 'unchanged' ? undefined : (phase ?? 'verify')
  }
}

async function fakeRollout(
  hosts: string[],
  strategy: Strategy,
  outcomes: Record<string, Outcome>,
  opts: { maxParallel?: number; rollbackScope?: RollbackScope; revertFails?: string[] } = {}
) {
  const fake: FakeFleet = { deployed: [], reverted: [], peakDeploys: 0, peakReverts: 0 }
  let deploys = 0
  let reverts = 0
  const logger = new MemoryLogger()
  const out = await rollout({
    hosts,
    strategy,
    maxParallel: opts.maxParallel ?? 10,
    rollbackScope: opts.rollbackScope ?? 'fleet',
    logger,
    deploy: async host => {
      deploys++
      fake.peakDeploys = Math.max(fake.peakDeploys, deploys)
      fake.deployed.push(host)
      await new Promise(r => setTimeout(r, 2 + Math.random() * 8))
      deploys--
      const o = outcomes[host] ?? 'deployed'
      return typeof o === 'string' ? result(host, o) : result(host, o.status, o.phase)
    },
    revert: async r => {
      reverts++
      fake.peakReverts = Math.max(fake.peakReverts, reverts)
      fake.reverted.push(r.host)
      await new Promise(res => setTimeout(res, 2 + Math.random() * 8))
      reverts--
      const bad = opts.revertFails?.includes(r.host)
      return {
        ...result(r.host, bad ? 'failed' : 'rolled-back', bad ? 'activate' : undefined),
        storePath: r.previousStorePath as string,
        activeStorePath: bad ? r.storePath : r.previousStorePath,
        phases: [
          {
            name: 'activate',
            status: bad ? 'failed' : 'ok',
            durationMs: 5,
            startedAt: 20,
            endedAt: 25
          }
        ],
        error: bad ? `Host ${r.host} failed in phase activate of the rollback: test.` : undefined
      }
    }
  })
  return {
    ...out,
    fake,
    logger,
    status: Object.fromEntries(out.results.map(r => [r.host, r.status]))
  }
}

describe('rollout', () => {
  it('all healthy: every host deployed, one record per host in the given order, nothing reverted', async () => {
    const r = await fakeRollout(names(6), { kind: 'waves', waves: 3 }, {})
    expect(r.results.map(x => x.host)).toEqual(names(6))
    expect(Object.values(r.status)).toEqual(Array(6).fill('deployed'))
    expect(r.haltedAtWave).toBeNull()
    expect(r.fake.reverted).toEqual([])
    expect(r.waves).toEqual([['h1'], ['h2', 'h3'], ['h4', 'h5', 'h6']])
  })

  it('unchanged hosts count as healthy and are never reverted', async () => {
    const r = await fakeRollout(
      names(4),
      { kind: 'canary' },
      { h1: 'unchanged', h3: 'rolled-back' }
    )
    // h2 and h4 went back (fleet scope, same wave as the failure); h1 already ran the new system.
    expect(r.status).toEqual({
      h1: 'unchanged',
      h2: 'rolled-back',
      h3: 'rolled-back',
      h4: 'rolled-back'
    })
    expect(r.fake.reverted.sort()).toEqual(['h2', 'h4'])
  })

  it('canary unhealthy: no other host is touched, they are skipped with a sentence naming them', async () => {
    const r = await fakeRollout(names(6), { kind: 'canary' }, { h1: 'rolled-back' })
    expect(r.fake.deployed).toEqual(['h1'])
    expect(r.fake.reverted).toEqual([])
    expect(r.haltedAtWave).toBe(0)
    expect(r.status).toEqual({
      h1: 'rolled-back',
      h2: 'skipped',
      h3: 'skipped',
      h4: 'skipped',
      h5: 'skipped',
      h6: 'skipped'
    })
    const h4 = r.results[3]
    expect(h4.error).toBe('Host h4 was not touched: the rollout stopped at wave 1.')
    expect(h4).toMatchObject({ storePath: '', phases: [], durationSeconds: 0, generation: null })
  })

  it("a failure in wave 2 (fleet scope): wave 1 and wave 2's healthy host return, wave 3 is not touched", async () => {
    const r = await fakeRollout(names(6), { kind: 'waves', waves: 3 }, { h3: 'rolled-back' })
    expect(r.haltedAtWave).toBe(1)
    expect(r.fake.deployed.sort()).toEqual(['h1', 'h2', 'h3'])
    expect(r.fake.reverted.sort()).toEqual(['h1', 'h2'])
    expect(r.status).toEqual({
      h1: 'rolled-back',
      h2: 'rolled-back',
      h3: 'rolled-back',
      h4: 'skipped',
      h5: 'skipped',
      h6: 'skipped'
    })
    const h1 = r.results[0]
    expect(h1.error).toMatch(
      /^Host h1 was deployed, then returned to \/nix\/store\/o+-old-h1 because wave 2 failed\.$/
    )
    // The revert's phases are kept, renamed rollback; its time is added.
    expect(h1.phases.map(p => [p.name, p.detail])).toEqual([
      ['probe', undefined],
      ['rollback', 'activate']
    ])
    expect(h1.durationSeconds).toBe(2)
    expect(h1.activeStorePath).toBe(h1.previousStorePath)
    expect(
      r.logger.lines.some(
        l => l.level === 'error' && l.message === 'Wave 2 failed on h3: the rollout stops here.'
      )
    ).toBe(true)
  })

  it('a failure in wave 2 with rollbackScope host: the deployed hosts stay deployed', async () => {
    const r = await fakeRollout(
      names(6),
      { kind: 'waves', waves: 3 },
      { h3: 'rolled-back' },
      { rollbackScope: 'host' }
    )
    expect(r.fake.reverted).toEqual([])
    expect(r.status).toEqual({
      h1: 'deployed',
      h2: 'deployed',
      h3: 'rolled-back',
      h4: 'skipped',
      h5: 'skipped',
      h6: 'skipped'
    })
  })

  it('a revert that fails leaves that host failed, saying so', async () => {
    const r = await fakeRollout(
      names(6),
      { kind: 'waves', waves: 3 },
      { h3: 'failed' },
      { revertFails: ['h1'] }
    )
    expect(r.status.h1).toBe('failed')
    expect(r.results[0].error).toMatch(
      /^Host h1 was deployed, but returning it to \/nix\/store\/o+-old-h1 after wave 2 failed: Host h1 failed in phase activate of the rollback: test\.$/
    )
    expect(r.status.h2).toBe('rolled-back')
  })

  it('a host that fails before any change (unreachable) halts the rollout but reverts nothing', async () => {
    const r = await fakeRollout(
      names(6),
      { kind: 'all' },
      { h6: { status: 'failed', phase: 'probe' } }
    )
    expect(r.fake.reverted).toEqual([])
    expect(r.haltedAtWave).toBe(0)
    expect(r.status).toEqual({
      h1: 'deployed',
      h2: 'deployed',
      h3: 'deployed',
      h4: 'deployed',
      h5: 'deployed',
      h6: 'failed'
    })
    // In waves, later waves are still not touched.
    const w = await fakeRollout(
      names(6),
      { kind: 'waves', waves: 3 },
      { h2: { status: 'failed', phase: 'lock' } }
    )
    expect(w.fake.reverted).toEqual([])
    expect(w.status).toEqual({
      h1: 'deployed',
      h2: 'failed',
      h3: 'deployed',
      h4: 'skipped',
      h5: 'skipped',
      h6: 'skipped'
    })
  })

  it('a failure after the switch alongside an unreachable host reverts the fleet', async () => {
    const r = await fakeRollout(
      names(4),
      { kind: 'all' },
      { h1: { status: 'failed', phase: 'probe' }, h2: 'rolled-back' }
    )
    expect(r.fake.reverted.sort()).toEqual(['h3', 'h4'])
  })

  it('max-parallel is honoured for deploys and reverts', async () => {
    const r = await fakeRollout(names(12), { kind: 'all' }, {}, { maxParallel: 4 })
    expect(r.fake.peakDeploys).toBe(4)
    const one = await fakeRollout(names(5), { kind: 'all' }, {}, { maxParallel: 1 })
    expect(one.fake.peakDeploys).toBe(1)
    expect(one.fake.deployed).toEqual(names(5))
    // Wave 3 (h6…h12) fails on h12: h1…h11 go back, 3 at a time.
    const rv = await fakeRollout(
      names(12),
      { kind: 'waves', waves: 3 },
      { h12: 'rolled-back' },
      { maxParallel: 3 }
    )
    expect(rv.waves.map(w => w.length)).toEqual([2, 3, 7])
    expect(rv.fake.peakDeploys).toBe(3)
    expect(rv.fake.reverted.sort()).toEqual(names(11).sort())
    expect(rv.fake.peakReverts).toBe(3)
  })

  it('a wave runs only after the previous one has finished', async () => {
    const events: string[] = []
    await rollout({
      hosts: names(6),
      strategy: { kind: 'waves', waves: 3 },
      maxParallel: 10,
      rollbackScope: 'fleet',
      logger: new MemoryLogger(),
      deploy: async host => {
        events.push(`start ${host}`)
        await new Promise(r => setTimeout(r, host === 'h2' ? 30 : 5))
        events.push(`end ${host}`)
        return result(host, 'deployed')
      },
      revert: async r => r
    })
    expect(events.indexOf('start h4')).toBeGreaterThan(events.indexOf('end h2'))
    expect(events.indexOf('start h4')).toBeGreaterThan(events.indexOf('end h3'))
    expect(events.indexOf('start h2')).toBeGreaterThan(events.indexOf('end h1'))
  })
})
