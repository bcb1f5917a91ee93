/**
 * A dry-activate report as Markdown (the job summary, and the sticky comment's three levels of
 * detail) and as plain text (the terminal). Unit names, paths and output lines come from a host
 * and a pull request's flake: they go through markdown.ts before they reach a body.
 */
import type { DryActivateReport } from './dry-activate.js'
import {
  codeBlock,
  details,
  escapeMarkdown,
  heading,
  inlineCode,
  table,
  truncateText
} from './markdown.js'
import { plural } from './format.js'

/** The unit lists in report order, with their labels. */
const LISTS: ReadonlyArray<{
  key: 'stop' | 'restart' | 'reload' | 'start' | 'notStopped' | 'newUnits'
  label: string
  short: string
}> = [
  { key: 'stop', label: 'Would stop', short: 'stop' },
  { key: 'restart', label: 'Would restart', short: 'restart' },
  { key: 'reload', label: 'Would reload', short: 'reload' },
  { key: 'start', label: 'Would start', short: 'start' },
  {
    key: 'notStopped',
    label: 'Changed, but would NOT be stopped or restarted',
    short: 'not restarted'
  },
  { key: 'newUnits', label: 'New units (started by their targets)', short: 'new' }
]

/** Units shown per list at the `selected` level of the comment. */
const SELECTED_UNITS = 15
/** Lines of other output shown in the job summary. */
const OUTPUT_LINES = 200

/** One line of plain text: `stop 2, restart 1, start 1, 1 new; systemd restarts; reboot required (linux 6.6.40 → 6.6.41)`. */
export function dryActivateSummaryLine(r: DryActivateReport): string {
  if (!r.changed) return 'already running this system: nothing would change'
  const parts: string[] = []
  for (const l of LISTS) {
    const n = r[l.key].length
    if (n === 0) continue
    parts.push(l.key === 'newUnits' ? `${n} new` : `${l.short} ${n}`)
  }
  const tail: string[] = []
  if (r.restartSystemd) tail.push('systemd restarts')
  if (r.rebootRequired)
    tail.push(`reboot required (${r.rebootReasons.map(x => x.detail).join('; ')})`)
  const units = parts.length ? parts.join(', ') : 'no unit changes'
  return [units, ...tail].join('; ')
}

function unitList(units: string[], max = Infinity): string {
  const shown = units.slice(0, max).map(u => inlineCode(u))
  const more = units.length > max ? ` and ${units.length - max} more` : ''
  return shown.join(', ') + more
}

function unitLines(r: DryActivateReport, max = Infinity): string {
  const lines: string[] = []
  for (const l of LISTS) {
    const units = r[l.key]
    if (units.length === 0) continue
    lines.push(`- **${escapeMarkdown(l.label)}** (${units.length}): ${unitList(units, max)}`)
  }
  if (r.restartSystemd) lines.push('- **systemd** would be re-executed (`would restart systemd`)')
  if (lines.length === 0) lines.push('- No unit would be stopped, restarted, reloaded or started.')
  return lines.join('\n')
}

function rebootLine(r: DryActivateReport): string {
  if (!r.currentSystem) return '**Reboot required:** unknown (the host runs no system yet).'
  if (!r.rebootRequired) return '**Reboot required:** no.'
  return `**Reboot required:** yes: ${r.rebootReasons.map(x => escapeMarkdown(x.detail)).join('; ')}.`
}

/** The job summary: everything, under a heading at `headingLevel` (0: no heading). */
export function renderDryActivateMarkdown(
  r: DryActivateReport,
  opts: { headingLevel?: number } = {}
): string {
  const level = opts.headingLevel ?? 2
  const parts: string[] = []
  if (level > 0) parts.push(heading(level, `Dry-activate: ${r.host}`))
  const rows: string[][] = [
    ['Host', `${escapeMarkdown(r.host)} (${inlineCode(r.target, { inTable: true })})`],
    ['New system', inlineCode(r.storePath, { inTable: true })],
    [
      'Running system',
      r.currentSystem
        ? `${inlineCode(r.currentSystem, { inTable: true })}${r.currentGeneration !== null ? ` (generation ${r.currentGeneration})` : ''}`
        : 'none'
    ],
    ['Closure', r.copied ? 'copied to the host' : 'already on the host'],
    [
      'Reboot required',
      r.rebootRequired
        ? `yes: ${r.rebootReasons.map(x => escapeMarkdown(x.detail)).join('; ')}`
        : r.currentSystem
          ? 'no'
          : 'unknown'
    ]
  ]
  parts.push(table(['', ''], rows))
  if (!r.changed)
    parts.push('The host already runs this system: activating it would change nothing.')
  parts.push(unitLines(r))
  if (r.rebootRequired) {
    const rrows = r.rebootReasons.map(x => [
      escapeMarkdown(x.component),
      escapeMarkdown(x.detail),
      x.before ? inlineCode(x.before, { inTable: true }) : '∅',
      x.after ? inlineCode(x.after, { inTable: true }) : '∅'
    ])
    parts.push(table(['Component', 'Change', 'Running', 'New'], rrows))
  }
  if (r.otherOutput.length) {
    const shown = r.otherOutput.slice(0, OUTPUT_LINES)
    const more =
      r.otherOutput.length > OUTPUT_LINES
        ? `\n… ${r.otherOutput.length - OUTPUT_LINES} more lines`
        : ''
    parts.push(
      details(
        `Other output of dry-activate (${plural(r.otherOutput.length, 'line')})`,
        codeBlock(shown.join('\n') + more, 'text')
      )
    )
  }
  return parts.join('\n\n') + '\n'
}

/** The comment section at its three levels (no heading: the comment titles each host's section). */
export function dryActivateLevels(r: DryActivateReport): {
  full: string
  selected: string
  summary: string
} {
  const head = `New system ${inlineCode(r.storePath)}${r.currentSystem ? `, replacing ${inlineCode(r.currentSystem)}` : ' on a host without a system'}.`
  const otherOutput = r.otherOutput.length
    ? '\n\n' +
      details(
        `Other output (${plural(r.otherOutput.length, 'line')})`,
        codeBlock(truncateText(r.otherOutput.join('\n'), 4000), 'text')
      )
    : ''
  if (!r.changed) {
    const same = `The host already runs ${inlineCode(r.storePath)}: nothing would change.`
    return { full: same, selected: same, summary: same }
  }
  return {
    full: `${head}\n\n${unitLines(r)}\n\n${rebootLine(r)}${otherOutput}`,
    selected: `${unitLines(r, SELECTED_UNITS)}\n\n${rebootLine(r)}`,
    summary: escapeMarkdown(dryActivateSummaryLine(r))
  }
}

/** The terminal's text. */
export function renderDryActivateText(r: DryActivateReport): string {
  const lines = [
    `host: ${r.host} (${r.target})`,
    `new system: ${r.storePath}`,
    `running system: ${r.currentSystem ?? 'none'}${r.currentGeneration !== null ? ` (generation ${r.currentGeneration})` : ''}`,
    `closure: ${r.copied ? 'copied to the host' : 'already on the host'}`
  ]
  if (!r.changed) lines.push('the host already runs this system: nothing would change')
  for (const l of LISTS) {
    if (r[l.key].length) lines.push(`${l.label.toLowerCase()}: ${r[l.key].join(', ')}`)
  }
  if (r.restartSystemd) lines.push('would restart systemd')
  if (!r.currentSystem) lines.push('reboot required: unknown (no running system)')
  else if (r.rebootRequired)
    lines.push(`reboot required: yes (${r.rebootReasons.map(x => x.detail).join('; ')})`)
  else lines.push('reboot required: no')
  if (r.otherOutput.length) {
    lines.push('other output:')
    for (const l of r.otherOutput) lines.push(`  ${l}`)
  }
  return lines.join('\n') + '\n'
}
