/**
 * The rollout as a picture: the Mermaid Gantt chart above the deploy summary's tables, parsed by
 * the real Mermaid (npm `mermaid` in jsdom, test/harness/mermaid.ts) for healthy, canary-failed
 * and rolled-back fleets and for host names from a hostile flake. Not only "it parses": what
 * Mermaid understood (sections, task names, start and end, crit / active / milestone) must be
 * what the records say, so a name that broke out of its task would show here.
 */
import { describe, it, expect } from '@jest/globals'
import { MemoryLogger } from '../../src/core/log.js'
import { escapeTableCell } from '../../src/core/markdown.js'
import { renderDeployMarkdown } from '../../src/core/deploy/render.js'
import { GANTT_TEXT_LIMIT, ganttText, rolloutGantt } from '../../src/core/deploy/render-gantt.js'
import { rollout } from '../../src/core/deploy/rollout.js'
import type { HostResult, HostStatus, PhaseName, PhaseRecord } from '../../src/core/model.js'
import { mermaidBlocks, parseMermaid, type GanttTask } from '../harness/mermaid.js'

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0)
const STEPS: [PhaseName, number][] = [
  ['probe', 240],
  ['lock', 230],
  ['copy', 1300],
  ['record', 0],
  ['arm', 250],
  ['activate', 2100],
  ['verify', 900],
  ['confirm', 240]
]

/** A host's record with phases back to back from `start`; `failAt` fails that phase and stops. */
function host(
  name: string,
  start: number,
  opts: { failAt?: PhaseName; check?: string; status?: HostStatus; rollbackMs?: number } = {}
): HostResult {
  const phases: PhaseRecord[] = []
  let t = start
  for (const [phase, ms] of STEPS) {
    const failed = phase === opts.failAt
    phases.push({
      name: phase,
      status: failed ? 'failed' : 'ok',
      durationMs: ms,
      startedAt: t,
      endedAt: t + ms,
      detail: failed ? `${phase} failed: ${opts.check ?? 'units'}` : undefined
    })
    t += ms
    if (failed) break
  }
  if (opts.rollbackMs)
    phases.push({
      name: 'rollback',
      status: 'ok',
      durationMs: opts.rollbackMs,
      startedAt: t,
      endedAt: t + opts.rollbackMs
    })
  const end = phases[phases.length - 1].endedAt
  return {
    host: name,
    status: opts.status ?? (opts.failAt ? 'failed' : 'deployed'),
    storePath: `/nix/store/${'n'.repeat(32)}-nixos-system-${name.length}`,
    previousStorePath: `/nix/store/${'o'.repeat(32)}-nixos-system-${name.length}`,
    previousGeneration: 1,
    generation: 2,
    activeStorePath: null,
    durationSeconds: (end - start) / 1000,
    phases,
    health: [],
    failedPhase: opts.failAt,
    failingCheck: opts.failAt === 'verify' ? opts.check : undefined,
    error: opts.failAt ? `Host ${name}, phase ${opts.failAt}: it failed.` : undefined
  }
}

const end = (r: HostResult) => r.phases[r.phases.length - 1].endedAt

/** The bars the chart must hold for a host: every phase but ok ones of no length. */
function expectedBars(r: HostResult): { start: number; end: number; phase: PhaseName }[] {
  return r.phases
    .filter(p => p.status === 'failed' || p.durationMs > 0)
    .map(p => ({ start: p.startedAt, end: p.endedAt, phase: p.name }))
}

/** The one picture in a deploy summary, parsed; fails the test when it does not parse. */
function picture(markdown: string): { sections: string[]; tasks: GanttTask[]; title?: string } {
  const blocks = mermaidBlocks(markdown)
  expect(blocks).toHaveLength(1)
  const [parsed] = parseMermaid(blocks)
  if (!parsed.ok) throw new Error(`Mermaid refused the picture: ${parsed.error}\n${blocks[0]}`)
  expect(parsed.type).toBe('gantt')
  return { sections: parsed.sections ?? [], tasks: parsed.tasks ?? [], title: parsed.title }
}

describe('the rollout as a Mermaid Gantt chart', () => {
  it('healthy fleet in waves: one section per wave, one bar per phase at its real times, above the tables', () => {
    const a = host('web-1', T0)
    const b = host('web-2', end(a) + 50)
    const c = host('db.example.org', end(a) + 60)
    const md = renderDeployMarkdown([a, b, c], {
      title: 'Deploy: deployed',
      waves: [['web-1'], ['web-2', 'db.example.org']]
    })
    expect(md.indexOf('```mermaid')).toBeGreaterThan(0)
    expect(md.indexOf('```mermaid')).toBeLessThan(md.indexOf('| Host |'))
    const { sections, tasks, title } = picture(md)
    expect(title).toBe('Deploy of 3 hosts in 2 waves')
    expect(sections).toEqual(['Wave 1', 'Wave 2'])
    const want = [a, b, c].flatMap(r =>
      expectedBars(r).map(x => ({ ...x, host: r.host, section: r === a ? 'Wave 1' : 'Wave 2' }))
    )
    expect(tasks).toHaveLength(want.length)
    expect(want.length).toBe(3 * 7) // the record phase (0 ms) is left out
    tasks.forEach((t, i) => {
      expect(t.name.startsWith(`${want[i].phase} ${want[i].host} `)).toBe(true)
      expect([t.section, t.start, t.end]).toEqual([want[i].section, want[i].start, want[i].end])
      expect(t.crit || t.active || t.milestone).toBe(false)
    })
    expect(tasks.find(t => t.name.startsWith('copy web-1'))?.name).toBe('copy web-1 1.3 s')
  })

  it('canary failed its health check: the verify bar is crit and names the check, the runner rollback is highlighted, later waves are milestones', () => {
    const check = 'http://127.0.0.1:8080/health?x=1,y=2'
    const canary = host('canary', T0, {
      failAt: 'verify',
      check,
      status: 'rolled-back',
      rollbackMs: 700
    })
    const skipped = ['web-2', 'web-3'].map(h => ({
      ...host(h, 0),
      status: 'skipped' as const,
      phases: [],
      storePath: ''
    }))
    const md = renderDeployMarkdown([canary, ...skipped], {
      title: 'Deploy: failed',
      waves: [['canary'], ['web-2', 'web-3']],
      haltedAtWave: 0
    })
    const { sections, tasks } = picture(md)
    expect(sections).toEqual(['Wave 1', 'Wave 2 not run'])
    const crit = tasks.filter(t => t.crit)
    expect(crit).toHaveLength(1)
    expect(crit[0].name).toBe(
      `verify canary 900 ms failed check ${ganttText(check, 40)}`.replace(/ +$/, '')
    )
    expect(crit[0].name).toContain('http∶//127.0.0.1∶8080/health')
    const verify = canary.phases.find(p => p.name === 'verify')!
    expect([crit[0].start, crit[0].end]).toEqual([verify.startedAt, verify.endedAt])
    const rollback = tasks.filter(t => t.active)
    expect(rollback.map(t => [t.name, t.end - t.start])).toEqual([['rollback canary 700 ms', 700]])
    expect(rollback[0].start).toBe(verify.endedAt)
    const milestones = tasks.filter(t => t.milestone)
    expect(milestones.map(t => [t.name, t.section, t.start])).toEqual([
      ['skipped web-2', 'Wave 2 not run', end(canary)],
      ['skipped web-3', 'Wave 2 not run', end(canary)]
    ])
    // The full check, with its colons, is in the table below.
    expect(md).toContain(escapeTableCell(check))
  })

  it('rolled-back fleet: the wave that failed at activate, and the earlier wave returned by the fleet rollback', async () => {
    const hosts = ['web-1', 'web-2', 'web-3']
    let clock = T0
    const out = await rollout({
      hosts,
      strategy: { kind: 'canary' },
      maxParallel: 2,
      rollbackScope: 'fleet',
      logger: new MemoryLogger(),
      deploy: async h => {
        const r = host(h, clock, h === 'web-3' ? { failAt: 'activate' } : {})
        clock = Math.max(clock, end(r)) + 10
        return r
      },
      revert: async r => {
        const back = host(r.host, clock + 100, { status: 'rolled-back' })
        back.phases = back.phases.filter(p => ['probe', 'lock', 'activate'].includes(p.name))
        return back
      }
    })
    expect(out.results.map(r => r.status)).toEqual(['rolled-back', 'rolled-back', 'failed'])
    const md = renderDeployMarkdown(out.results, {
      title: 'Deploy: failed',
      waves: out.waves,
      haltedAtWave: out.haltedAtWave
    })
    const { sections, tasks } = picture(md)
    expect(sections).toEqual(['Wave 1', 'Wave 2'])
    expect(tasks.filter(t => t.crit).map(t => t.name)).toEqual(['activate web-3 2.1 s failed'])
    // The fleet rollback of web-1 and web-2: their revert's phases, highlighted, after the failure.
    const back = tasks.filter(t => t.active)
    expect(back.map(t => t.name.split(' ').slice(0, 2).join(' '))).toEqual([
      'rollback web-1',
      'rollback web-1',
      'rollback web-1',
      'rollback web-2',
      'rollback web-2',
      'rollback web-2'
    ])
    const failedAt = tasks.find(t => t.crit)!.end
    for (const t of back) expect(t.start).toBeGreaterThanOrEqual(failedAt)
  })

  it('host names and checks from a hostile flake stay inside their bars', () => {
    const names = [
      'web:1',
      'a#b;c',
      'title',
      'click web callback',
      'section evil',
      '`rm -rf /`',
      '<img src=x onerror=alert(1)>',
      'line\nbreak\r\n  indent',
      '%%{init: {"theme": "dark"}}%%',
      'x :crit, t1, 0, 1',
      '---',
      'dateFormat YYYY',
      'ümlaut-ħost-名前',
      'a'.repeat(200),
      '\u202Eevil\u200B'
    ]
    let t = T0
    const results = names.map((n, i) => {
      const r = host(n, t, i === 1 ? { failAt: 'verify', check: 'curl: (7) #fail; `x`' } : {})
      t = end(r) + 5
      return r
    })
    const md = renderDeployMarkdown(results, { title: 'Deploy: failed' })
    const { sections, tasks } = picture(md)
    const hostile = 'Rollout: `x` #1; <b>\n%%'
    const [titled] = parseMermaid([rolloutGantt(results, { title: hostile })!.mermaid])
    expect(titled.ok && [titled.title, titled.tasks!.length]).toEqual([
      'Rollout∶ _x_ _1_ _b_ __',
      tasks.length
    ])
    expect(sections).toEqual(['Hosts'])
    const want = results.flatMap(r => expectedBars(r).map(b => ({ ...b, host: r.host })))
    expect(tasks).toHaveLength(want.length)
    tasks.forEach((task, i) => {
      expect(task.name.startsWith(`${want[i].phase} ${ganttText(want[i].host, 40)} `)).toBe(true)
      expect([task.start, task.end]).toEqual([want[i].start, want[i].end])
      expect(task.name).not.toMatch(/[:#;`<>%\n]/)
    })
    expect(tasks.filter(x => x.crit).map(x => x.name)).toEqual([
      'verify a_b_c 900 ms failed check curl∶ (7) _fail_ _x_'
    ])
    // The full names are in the tables.
    expect(md).toContain('`web:1`')
    expect(md).toContain('<summary>a#b;c: failed')
  })

  it('a fleet too large to draw phase by phase gets one bar per host, then fewer hosts, and still parses', () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        host(`host-${String(i).padStart(4, '0')}.example`, T0 + i)
      )
    const mid = many(400)
    const g = rolloutGantt(mid)!
    expect(g.mermaid.length).toBeLessThanOrEqual(GANTT_TEXT_LIMIT)
    expect(g.note).toContain('one bar per host')
    const huge = many(3000)
    const h = rolloutGantt(huge)!
    expect(h.mermaid.length).toBeLessThanOrEqual(GANTT_TEXT_LIMIT)
    expect(h.note).toMatch(/first \d+ of 3000 hosts/)
    const [pm, ph] = parseMermaid([g.mermaid, h.mermaid])
    if (!pm.ok || !ph.ok) throw new Error('the compact picture does not parse')
    expect(pm.tasks).toHaveLength(400)
    expect(pm.tasks![0]).toMatchObject({
      name: 'deployed host-0000.example 5.3 s',
      start: T0,
      end: end(mid[0])
    })
    const shown = Number(/first (\d+) of/.exec(h.note!)![1])
    expect(ph.tasks).toHaveLength(shown)
  })

  it('no picture when nothing ran', () => {
    expect(rolloutGantt([{ ...host('a', T0), phases: [], status: 'skipped' }])).toBeNull()
  })
})
