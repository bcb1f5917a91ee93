/** The check record as Markdown (job summary) and plain text (terminal). */
import type { CheckReport } from './check.js'
import { formatDuration, plural } from './format.js'
import { describeNixError } from './nix-errors.js'
import { codeBlock, escapeTableCell, inlineCode, table } from './markdown.js'

export function renderCheckMarkdown(report: CheckReport, flake: string): string {
  const out: string[] = []
  const icon = report.result === 'passed' ? '✅' : '❌'
  const headline =
    report.result === 'passed'
      ? 'nix flake check passed'
      : `nix flake check failed${report.errors.length ? `: ${plural(report.errors.length, 'error')}` : ''}`
  out.push(`## ${icon} ${headline}`)
  out.push('')
  const what = [
    `Flake ${inlineCode(flake)}`,
    plural(report.hosts.length, 'NixOS configuration'),
    plural(report.checks.length, 'check'),
    formatDuration(report.durationMs)
  ]
  out.push(what.join(' · '))
  if (report.hosts.length > 0) {
    out.push('')
    out.push(`Hosts: ${report.hosts.map(h => inlineCode(h)).join(', ')}`)
  }
  if (report.errors.length > 0) {
    out.push('')
    out.push('### Evaluation errors')
    out.push('')
    out.push(
      table(
        ['File', 'Line', 'Error'],
        report.errors.map(e => [
          e.file ? inlineCode(e.file, { inTable: true }) : '—',
          e.line ? String(e.line) : '—',
          escapeTableCell(e.message) +
            (e.inInput ? ` (at ${inlineCode(e.inInput, { inTable: true })})` : '')
        ])
      )
    )
  }
  if (report.failureTail) {
    out.push('')
    out.push('### Output of nix flake check')
    out.push('')
    out.push(codeBlock(report.failureTail))
  }
  if (report.formatChecked) {
    out.push('')
    out.push('### Formatting')
    out.push('')
    if (report.unformatted.length === 0) out.push("The flake's formatter changes nothing.")
    else {
      out.push(
        `The flake's formatter changes ${plural(report.unformatted.length, 'file')}; run \`nix fmt\` and commit:`
      )
      out.push('')
      for (const f of report.unformatted) out.push(`- ${inlineCode(f)}`)
    }
  }
  if (report.staleInputs.length > 0) {
    out.push('')
    out.push('### Stale flake.lock inputs')
    out.push('')
    out.push(
      table(
        ['Input', 'Last updated', 'Age'],
        report.staleInputs.map(s => [
          escapeTableCell(s.input),
          s.lastModified.toISOString().slice(0, 10),
          `${Math.floor(s.ageDays)} days`
        ])
      )
    )
    out.push('')
    out.push('Run `nix flake update` to refresh them.')
  }
  return out.join('\n') + '\n'
}

export function renderCheckText(report: CheckReport, flake: string): string {
  const lines: string[] = []
  lines.push(
    `${report.result === 'passed' ? 'PASSED' : 'FAILED'}: nix flake check of ${flake} (${plural(report.hosts.length, 'host')}, ${plural(report.checks.length, 'check')}, ${formatDuration(report.durationMs)})`
  )
  for (const e of report.errors) {
    lines.push(
      `  error: ${e.file ? `${e.file}${e.line ? `:${e.line}` : ''}${e.column ? `:${e.column}` : ''}: ` : ''}${describeNixError(e)}`
    )
  }
  if (report.failureTail) lines.push(report.failureTail.replace(/^/gm, '  | '))
  for (const f of report.unformatted) lines.push(`  not formatted: ${f}`)
  for (const s of report.staleInputs) {
    lines.push(
      `  stale input: ${s.input}, last updated ${s.lastModified.toISOString().slice(0, 10)} (${Math.floor(s.ageDays)} days)`
    )
  }
  return lines.join('\n') + '\n'
}
