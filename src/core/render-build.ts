/**
 * The job summaries of the build and diff actions (Markdown), from the records in model.ts.
 */
import { formatBytes } from './diff.js'
import { escapeMarkdown, heading, inlineCode, table } from './markdown.js'
import type { BuildRun, DiffRun, SaveResult } from './model.js'
import { renderMarkdown } from './render-diff.js'

function cacheLine(result: SaveResult | undefined): string {
  if (!result) return 'not used (cache: false)'
  switch (result.status) {
    case 'saved':
      return `saved as ${inlineCode(result.key)} (${formatBytes(result.bytes ?? 0)})`
    case 'exists':
      return `already cached as ${inlineCode(result.key)}`
    case 'unavailable':
      return 'the Actions cache is not available'
    default:
      return `not saved (${escapeMarkdown(result.message ?? 'failed')})`
  }
}

/** The job summary: what was built, then the full diff. */
export function buildSummary(run: BuildRun, cache: SaveResult | undefined): string {
  const rows: string[][] = []
  if (run.target.host) rows.push(['Host', escapeMarkdown(run.target.host)])
  else rows.push(['Installable', inlineCode(run.target.installable, { inTable: true })])
  rows.push(['Store path', inlineCode(run.built.storePath, { inTable: true })])
  rows.push(['Derivation', inlineCode(run.built.drvPath, { inTable: true })])
  rows.push(['Closure', `${formatBytes(run.closure.bytes)} in ${run.closure.paths} paths`])
  rows.push(['Build time', `${(run.built.durationMs / 1000).toFixed(1)} s`])
  if (run.diffAgainst)
    rows.push(['Compared with', escapeMarkdown(run.beforeDescription ?? run.diffAgainst)])
  rows.push(['Closure cache', cacheLine(cache)])
  if (run.signedBy) rows.push(['Signed by', inlineCode(run.signedBy)])
  if (run.pushedTo) rows.push(['Pushed to', inlineCode(run.pushedTo)])
  const parts = [heading(2, `Build: ${run.label}`), table(['', ''], rows)]
  if (run.diff)
    parts.push(
      renderMarkdown(run.diff, { detail: 'full', headingLevel: 3, title: `Changes: ${run.label}` })
    )
  else if (run.note) parts.push(escapeMarkdown(run.note))
  else parts.push('_No `diff-against` given: nothing to compare with._')
  return parts.join('\n\n') + '\n'
}

/** The diff action's job summary: the two sides, then the full diff. */
export function diffSummary(run: DiffRun): string {
  const rows = [
    [
      'Before',
      `${escapeMarkdown(run.before.description)}: ${inlineCode(run.before.path, { inTable: true })}`
    ],
    [
      'After',
      `${escapeMarkdown(run.after.description)}: ${inlineCode(run.after.path, { inTable: true })}`
    ]
  ]
  return [
    heading(2, `Closure diff: ${run.label}`),
    table(['', ''], rows),
    renderMarkdown(run.diff, { detail: 'full', headingLevel: 0 })
  ].join('\n\n')
}

/** The job summary of `report` mode: each host's full diff. */
export function reportSummary(reports: { label: string; diff: DiffRun['diff'] }[]): string {
  return (
    reports
      .map(r =>
        [
          heading(2, `Closure diff: ${r.label}`),
          renderMarkdown(r.diff, { detail: 'full', headingLevel: 0 })
        ].join('\n\n')
      )
      .join('\n\n') + '\n'
  )
}
