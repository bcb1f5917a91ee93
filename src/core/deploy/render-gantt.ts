/**
 * The rollout as a picture: a Mermaid Gantt chart, which GitHub draws from a ```mermaid block in
 * the job summary. One section per wave, one bar per phase of each host (probe, lock, copy, arm,
 * activate, verify with its health checks, confirm, rollback) placed at its real start and end;
 * the phase that failed is `crit` (red) and names the failing check, a rollback is `active`
 * (highlighted), the hosts of waves that never ran are milestones.
 *
 * Host names, check names and messages come from the flake. Mermaid gantt reads a task line as
 * `name :tags, id, start, end`: a `:` ends the name, `#` starts an entity, `;` ends a statement,
 * a leading word like `title` or `click` is a keyword. So every name is reduced to letters,
 * digits, spaces and `._+=@/()-` (a `:` becomes the look-alike `∶`), every task line starts with
 * the phase's own name (a fixed word), and the full text stays in the tables below the picture.
 */
import { formatDuration } from '../format.js'
import type { HostResult, PhaseRecord } from '../model.js'

/**
 * The longest chart written: Mermaid refuses text over `maxTextSize` (50,000 characters by
 * default) and draws an error instead. Past it the chart has one bar per host, then fewer hosts.
 */
export const GANTT_TEXT_LIMIT = 40_000

/** Text from the flake, made safe for a Mermaid gantt task or section name. */
export function ganttText(text: string, max = 60): string {
  let out = text
    .replace(/\s+/g, ' ')
    .replace(/:/g, '∶')
    .replace(/[^\p{L}\p{N} ._+=@/()∶-]/gu, '_')
    .trim()
  if ([...out].length > max) out = [...out].slice(0, max - 3).join('') + '...'
  return out || '_'
}

interface Bar {
  label: string
  tag: '' | 'crit' | 'active' | 'milestone'
  start: number
  end: number
}

function phaseLabel(r: HostResult, p: PhaseRecord, host: string): string {
  const base = `${p.name} ${host} ${formatDuration(p.durationMs)}`
  if (p.status === 'failed' && r.failingCheck && p.name === 'verify')
    return `${base} failed check ${ganttText(r.failingCheck, 40)}`
  if (p.status === 'failed') return `${base} failed`
  return base
}

/** A host's bars: one per timed phase (ok phases of no length left out). */
function phaseBars(r: HostResult): Bar[] {
  const host = ganttText(r.host, 40)
  return r.phases
    .filter(p => p.status !== 'skipped' && (p.status === 'failed' || p.durationMs > 0))
    .map(p => ({
      label: phaseLabel(r, p, host),
      tag: p.status === 'failed' ? 'crit' : p.name === 'rollback' ? 'active' : '',
      start: p.startedAt,
      end: Math.max(p.endedAt, p.startedAt)
    }))
}

/** A host as one bar, from its first phase to its last (the compact form for a large fleet). */
function hostBar(r: HostResult): Bar[] {
  if (r.phases.length === 0) return []
  const start = Math.min(...r.phases.map(p => p.startedAt))
  const end = Math.max(...r.phases.map(p => p.endedAt))
  const failed = r.status === 'failed' || r.status === 'rolled-back'
  const where = r.failedPhase ? ` at ${r.failedPhase}` : ''
  const check = r.failingCheck ? ` check ${ganttText(r.failingCheck, 40)}` : ''
  return [
    {
      label: `${r.status} ${ganttText(r.host, 40)} ${formatDuration(end - start)}${failed ? `${where}${check}` : ''}`,
      tag: failed ? 'crit' : '',
      start,
      end
    }
  ]
}

function chart(sections: { name: string; bars: Bar[] }[], title: string): string {
  const lines = ['gantt', `  title ${title}`, '  dateFormat x', '  axisFormat %H:%M:%S']
  let id = 0
  for (const s of sections) {
    if (s.bars.length === 0) continue
    lines.push(`  section ${s.name}`)
    for (const b of s.bars) {
      const tags = b.tag ? `${b.tag}, ` : ''
      lines.push(`    ${b.label} :${tags}t${++id}, ${b.start}, ${b.end}`)
    }
  }
  return lines.join('\n')
}

/**
 * The Mermaid text of the rollout (without the fence), or null when no host has a timed phase
 * (nothing ran). `waves` groups the hosts as the rollout did; without it all hosts are one
 * section. `note` says when the chart was made compact or cut to stay drawable.
 */
export function rolloutGantt(
  results: HostResult[],
  opts: { waves?: string[][]; title?: string } = {}
): { mermaid: string; note: string | null } | null {
  if (!results.some(r => r.phases.length > 0)) return null
  const byHost = new Map(results.map(r => [r.host, r]))
  const waves = opts.waves && opts.waves.length > 0 ? opts.waves : [results.map(r => r.host)]
  const title = ganttText(opts.title ?? 'Rollout', 80)
  const lastEnd = Math.max(...results.flatMap(r => r.phases.map(p => p.endedAt)))
  const sectionsWith = (bars: (r: HostResult) => Bar[], hosts: number) => {
    let shown = 0
    return waves.map((wave, i) => {
      const rs = wave.map(h => byHost.get(h)).filter((r): r is HostResult => !!r)
      const ran = rs.some(r => r.phases.length > 0)
      const name = waves.length > 1 ? `Wave ${i + 1}${ran ? '' : ' not run'}` : 'Hosts'
      const out: Bar[] = []
      for (const r of rs) {
        if (shown >= hosts) break
        shown++
        if (r.phases.length > 0) out.push(...bars(r))
        else if (!ran)
          out.push({
            label: `skipped ${ganttText(r.host, 40)}`,
            tag: 'milestone',
            start: lastEnd,
            end: lastEnd
          })
      }
      return { name, bars: out }
    })
  }
  let text = chart(sectionsWith(phaseBars, results.length), title)
  if (text.length <= GANTT_TEXT_LIMIT) return { mermaid: text, note: null }
  // Too large to draw phase by phase: one bar per host, then as many hosts as fit.
  let hosts = results.length
  text = chart(sectionsWith(hostBar, hosts), title)
  while (text.length > GANTT_TEXT_LIMIT && hosts > 1) {
    hosts = Math.max(1, Math.floor((hosts * GANTT_TEXT_LIMIT) / text.length) - 1)
    text = chart(sectionsWith(hostBar, hosts), title)
  }
  return {
    mermaid: text,
    note:
      hosts < results.length
        ? `The picture shows one bar per host for the first ${hosts} of ${results.length} hosts (Mermaid draws at most ${GANTT_TEXT_LIMIT.toLocaleString('en')} characters); every host is in the table.`
        : `The picture shows one bar per host (${results.length} hosts are too many to draw phase by phase); the phases are in each host's details.`
  }
}
