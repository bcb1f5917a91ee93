/** A deploy's results as Markdown (job summary) and plain text (terminal). */
import { formatDuration, plural } from '../format.js'
import { escapeTableCell, inlineCode, table, details } from '../markdown.js'
import type { HostResult, HostStatus } from '../model.js'
import { rolloutGantt } from './render-gantt.js'

const ICON: Record<HostStatus, string> = {
  deployed: '✅',
  unchanged: '⏸️',
  'rolled-back': '↩️',
  failed: '❌',
  skipped: '⏭️'
}

function shortPath(p: string | null): string {
  if (!p) return '—'
  return p.replace(/^\/nix\/store\/([0-9a-z]{8})[0-9a-z]{24}-/, '/nix/store/$1…-')
}

export function renderDeployMarkdown(
  results: HostResult[],
  opts: { title: string; waves?: string[][]; haltedAtWave?: number | null }
): string {
  const out: string[] = []
  const counts = new Map<HostStatus, number>()
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1)
  out.push(`## ${opts.title}`)
  out.push('')
  out.push([...counts.entries()].map(([s, n]) => `${ICON[s]} ${n} ${s}`).join(' · '))
  // The picture first: waves, hosts and their phases on one time axis (GitHub draws it).
  const waveCount = opts.waves && opts.waves.length > 1 ? ` in ${opts.waves.length} waves` : ''
  const picture = rolloutGantt(results, {
    waves: opts.waves,
    title: `${opts.title.split(/[ :(]/)[0]} of ${plural(results.length, 'host')}${waveCount}`
  })
  if (picture) {
    out.push('', '```mermaid', picture.mermaid, '```')
    if (picture.note) out.push('', `_${picture.note}_`)
  }
  if (opts.waves && opts.waves.length > 1) {
    out.push('')
    out.push(
      `Waves: ${opts.waves.map((w, i) => `${i + 1}: ${w.map(h => inlineCode(h)).join(', ')}`).join(' → ')}${opts.haltedAtWave !== null && opts.haltedAtWave !== undefined ? ` — halted at wave ${opts.haltedAtWave + 1}` : ''}`
    )
  }
  out.push('')
  out.push(
    table(
      ['Host', 'Status', 'Store path', 'Previous', 'Generation', 'Duration', 'Failing check'],
      results.map(r => [
        inlineCode(r.host, { inTable: true }),
        `${ICON[r.status]} ${r.status}`,
        r.storePath ? inlineCode(shortPath(r.storePath), { inTable: true }) : '—',
        inlineCode(shortPath(r.previousStorePath), { inTable: true }),
        r.generation !== null ? String(r.generation) : '—',
        formatDuration(Math.round(r.durationSeconds * 1000)),
        r.failingCheck ? escapeTableCell(r.failingCheck) : '—'
      ])
    )
  )
  for (const r of results) {
    if (r.phases.length === 0 && !r.error) continue
    const body: string[] = []
    if (r.error) body.push(`**${escapeTableCell(r.error)}**`, '')
    if (r.phases.length) {
      body.push(
        table(
          ['Phase', 'Result', 'Time', 'Detail'],
          r.phases.map(p => [
            p.name,
            p.status === 'ok' ? '✅' : p.status === 'failed' ? '❌' : '⏭️',
            formatDuration(p.durationMs),
            escapeTableCell((p.detail ?? '').slice(0, 300))
          ])
        )
      )
    }
    if (r.health.length) {
      body.push('')
      body.push(
        table(
          ['Health check', 'Result', 'Attempts', 'Detail'],
          r.health.map(h => [
            escapeTableCell(h.check),
            h.ok ? '✅' : '❌',
            String(h.attempts),
            escapeTableCell(h.detail.slice(0, 200))
          ])
        )
      )
    }
    if (r.activation) {
      const a = r.activation
      const lines = [
        ['stopped', a.stop],
        ['restarted', a.restart],
        ['reloaded', a.reload],
        ['started', [...a.start, ...a.newlyStarted]],
        ['failed', a.failed],
        ['user units failed', a.failedUserUnits ?? []],
        ['user activation failed for', a.failedUsers ?? []]
      ].filter(([, l]) => (l as string[]).length > 0) as [string, string[]][]
      if (lines.length) {
        body.push('')
        for (const [what, units] of lines)
          body.push(`- ${what}: ${units.map(u => inlineCode(u)).join(', ')}`)
      }
    }
    out.push('')
    out.push(
      details(
        `${r.host}: ${r.status}, ${formatDuration(Math.round(r.durationSeconds * 1000))}`,
        body.join('\n'),
        { open: r.status === 'failed' || r.status === 'rolled-back' }
      )
    )
  }
  return out.join('\n') + '\n'
}

export function renderDeployText(results: HostResult[]): string {
  const lines: string[] = []
  for (const r of results) {
    lines.push(
      `${r.host.padEnd(20)} ${r.status.padEnd(12)} ${shortPath(r.storePath).padEnd(40)} ${formatDuration(Math.round(r.durationSeconds * 1000))}`
    )
    for (const p of r.phases)
      lines.push(
        `    ${p.status === 'ok' ? '✓' : p.status === 'failed' ? '✗' : '-'} ${p.name.padEnd(12)} ${formatDuration(p.durationMs).padEnd(10)} ${(p.detail ?? '').slice(0, 120)}`
      )
    for (const h of r.health)
      lines.push(
        `    ${h.ok ? '✓' : '✗'} ${h.check} (${h.attempts} attempt(s)) ${h.ok ? '' : h.detail}`
      )
    if (r.error) lines.push(`    ${r.error}`)
  }
  return lines.join('\n') + '\n'
}
