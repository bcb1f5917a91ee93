/** The matrix plan as Markdown (job summary) and plain text (terminal). */
import { plural } from './format.js'
import { escapeTableCell, inlineCode, table } from './markdown.js'
import type { MatrixPlan } from './matrix.js'

/** How many hosts build on each runner label (`runs-on`), in the matrix's order. */
function runnerCounts(plan: MatrixPlan): [string, number][] {
  const counts = new Map<string, number>()
  for (const e of plan.matrix.include) {
    const n = 'hosts' in e ? e.hosts.length : 1
    counts.set(e['runs-on'], (counts.get(e['runs-on']) ?? 0) + n)
  }
  return [...counts]
}

export function renderMatrixMarkdown(plan: MatrixPlan): string {
  const out: string[] = []
  const n = plan.hosts.length
  out.push(
    `## 🧮 ${plural(n, 'host')} to build${plan.skipped.length ? `, ${plan.skipped.length} unchanged` : ''}`
  )
  out.push('')
  if (plan.changedSince) {
    out.push(
      `Compared with ${inlineCode(plan.changedSince.input)} (${inlineCode(plan.changedSince.commit.slice(0, 12))}) by toplevel derivation.`
    )
    out.push('')
  }
  if (plan.sharded) {
    out.push(
      `More hosts than \`max-jobs\`: packed into ${plural(plan.matrix.include.length, 'shard')} so the matrix stays within GitHub's limit.`
    )
    out.push('')
  }
  const runners = runnerCounts(plan)
  if (runners.length) {
    out.push(
      `Runners (\`runs-on\`): ${runners.map(([label, n]) => `${inlineCode(label)} ${plural(n, 'host')}`).join(', ')}.`
    )
    out.push('')
  }
  if (plan.details.length === 0) {
    out.push('No host matches the selector.')
    return out.join('\n') + '\n'
  }
  out.push(
    table(
      ['Host', 'System', 'Target', 'Tags', 'Build', 'Why'],
      plan.details.map(d => [
        inlineCode(d.host, { inTable: true }),
        d.system ? inlineCode(d.system, { inTable: true }) : '—',
        inlineCode(d.target, { inTable: true }),
        d.tags.length ? d.tags.map(t => escapeTableCell(`@${t}`)).join(' ') : '—',
        d.included ? 'yes' : 'no',
        escapeTableCell(d.reason)
      ])
    )
  )
  return out.join('\n') + '\n'
}

export function renderMatrixText(plan: MatrixPlan): string {
  const lines = [
    `${plural(plan.hosts.length, 'host')} to build${plan.skipped.length ? `, ${plan.skipped.length} unchanged` : ''}`
  ]
  for (const d of plan.details) {
    lines.push(
      `  ${d.included ? '+' : '-'} ${d.host.padEnd(20)} ${String(d.system ?? '-').padEnd(16)} ${d.target.padEnd(28)} ${d.tags.map(t => `@${t}`).join(' ')}  (${d.reason})`
    )
  }
  if (plan.sharded) lines.push(`  packed into ${plan.matrix.include.length} shards`)
  const runners = runnerCounts(plan)
  if (runners.length)
    lines.push(
      `  runners: ${runners.map(([label, n]) => `${label} (${plural(n, 'host')})`).join(', ')}`
    )
  return lines.join('\n') + '\n'
}
