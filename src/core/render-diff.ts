/**
 * Renderings of one closure diff: Markdown for pull request comments and job summaries (with a
 * character budget), versioned JSON (docs/diff-schema.md), and plain text for the terminal.
 * Every string that came from the flake or the store (names, versions, host names, store paths)
 * goes through `markdown.ts` in Markdown and through `plain` in text.
 */
import { BOOT_COMPONENTS } from './model.js'
import {
  formatBytes,
  summarize,
  type ChangeKind,
  type ClosureDiff,
  type ClosureTotals,
  type PackageChange,
  type PackageSide,
  type RebootComponent,
  type RebootReason
} from './diff.js'
import { storePathName } from './closure.js'
import { ActionError } from './errors.js'
import { parseStorePath, replaceControlCharacters, showValue } from './inputs.js'
import { validateHostName } from './target.js'
import {
  details,
  escapeMarkdown,
  escapeTableCell,
  heading,
  inlineCode,
  table,
  truncateText
} from './markdown.js'

export const DIFF_SCHEMA_VERSION = 1

// ---------------------------------------------------------------------------------------------
// JSON

/** The diff as the documented JSON object (docs/diff-schema.md): `schemaVersion` first. */
export function toJsonObject(diff: ClosureDiff): { schemaVersion: 1 } & ClosureDiff {
  return {
    schemaVersion: DIFF_SCHEMA_VERSION,
    ...(diff.host !== undefined ? { host: diff.host } : {}),
    beforePath: diff.beforePath,
    afterPath: diff.afterPath,
    changed: diff.changed,
    summary: diff.summary,
    rebootRequired: diff.rebootRequired,
    rebootReasons: diff.rebootReasons,
    counts: diff.counts,
    totals: diff.totals,
    hasSelection: diff.hasSelection,
    packages: diff.packages
  }
}

/** The diff as JSON text (two-space indentation, trailing newline). */
export function toJson(diff: ClosureDiff): string {
  return `${JSON.stringify(toJsonObject(diff), null, 2)}\n`
}

// ---------------------------------------------------------------------------------------------
// Markdown

export type DiffDetail = 'full' | 'selected' | 'summary'

export interface MarkdownOptions {
  /** Longest acceptable result, characters; the detail is reduced until it fits. Default: no limit. */
  maxChars?: number
  /** The most detail wanted (default `full`); less is used when `maxChars` requires it. */
  detail?: DiffDetail
  /** Heading level of the host's section, 1-6 (default 3); 0 for no heading. */
  headingLevel?: number
  /** Heading text; default the host name, or the after path's name. */
  title?: string
}

const ABSENT = '—'

function versionCell(versions: string[]): string {
  if (versions.length === 0) return ABSENT
  return versions
    .map(v => (v === '' ? '*no version*' : inlineCode(v, { inTable: true })))
    .join(', ')
}

function row(p: PackageChange): string[] {
  // A version change shows what went and what came (like `nix store diff-closures`); a rebuild
  // shows the versions it has on both sides.
  const sizeOnly = p.kind === 'size-only'
  const before =
    p.kind === 'added' ? ABSENT : versionCell(sizeOnly ? p.before.versions : p.removedVersions)
  const after =
    p.kind === 'removed' ? ABSENT : versionCell(sizeOnly ? p.after.versions : p.addedVersions)
  return [
    escapeTableCell(p.name),
    sizeOnly ? 'rebuilt' : p.kind,
    before,
    after,
    formatBytes(p.bytesDelta, { signed: true })
  ]
}

function packageTable(rows: PackageChange[], limit = rows.length): string {
  const shown = rows.slice(0, limit)
  let text = table(['Package', 'Change', 'Before', 'After', 'Size'], shown.map(row), [
    'left',
    'left',
    'left',
    'left',
    'right'
  ])
  if (shown.length < rows.length)
    text += `\n\n…and ${rows.length - shown.length} more (full list in the job summary).`
  return text
}

function titleOf(diff: ClosureDiff, opts: MarkdownOptions): string {
  return opts.title ?? diff.host ?? storePathName(diff.afterPath)
}

function countsText(rows: PackageChange[]): string {
  const counts = new Map<string, number>()
  for (const p of rows) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1)
  const order = ['upgraded', 'downgraded', 'changed', 'added', 'removed', 'size-only']
  return order
    .filter(k => counts.has(k))
    .map(k => `${counts.get(k)} ${k === 'size-only' ? 'rebuilt' : k}`)
    .join(', ')
}

function rebootNote(diff: ClosureDiff): string {
  if (!diff.rebootRequired) return ''
  return `**Reboot required:** ${diff.rebootReasons.map(r => escapeMarkdown(r.detail)).join('; ')}.`
}

function totalsLine(diff: ClosureDiff): string {
  const t = diff.totals
  const paths = `${t.before.paths} → ${t.after.paths} paths (${t.pathsDelta >= 0 ? '+' : ''}${t.pathsDelta})`
  const bytes = `${formatBytes(t.before.bytes)} → ${formatBytes(t.after.bytes)} (${formatBytes(t.bytesDelta, { signed: true })})`
  return `Closure: ${paths}, ${bytes}. ${inlineCode(storePathName(diff.beforePath))} → ${inlineCode(storePathName(diff.afterPath))}`
}

/** How much of the dependency list a rendering keeps. */
interface Plan {
  detail: DiffDetail
  /** Rows of the main (selected) table kept. */
  mainRows: number
  /** Rows of the dependency table kept; rebuilt-only rows are dropped first. */
  depRows: number
  depRebuilt: boolean
}

function split(diff: ClosureDiff): {
  main: PackageChange[]
  deps: PackageChange[]
  depVersions: PackageChange[]
} {
  // With a selection, the main table is the selected packages whose version changed; without one
  // (not a NixOS system), every version change. The rest, rebuilds included, is "dependencies".
  const isMain = (p: PackageChange) =>
    p.kind !== 'size-only' && (diff.hasSelection ? p.selected : true)
  const main = diff.packages.filter(isMain)
  const deps = diff.packages.filter(p => !isMain(p))
  return { main, deps, depVersions: deps.filter(p => p.kind !== 'size-only') }
}

function renderPlan(diff: ClosureDiff, opts: MarkdownOptions, plan: Plan): string {
  const { main, deps, depVersions } = split(diff)
  const level = opts.headingLevel ?? 3
  const parts: string[] = []
  if (level > 0) parts.push(heading(level, titleOf(diff, opts)))
  parts.push(`**${escapeMarkdown(diff.summary)}**`)
  if (plan.detail === 'summary') {
    const note = rebootNote(diff)
    if (note) parts.push(note)
    return parts.join('\n\n') + '\n'
  }
  if (main.length > 0) {
    if (diff.hasSelection) parts.push('System packages:')
    parts.push(packageTable(main, plan.mainRows))
  }
  const note = rebootNote(diff)
  if (note) parts.push(note)
  if (deps.length > 0) {
    const label = `${diff.hasSelection ? 'Dependencies' : 'Rebuilt packages'}: ${countsText(deps)}`
    if (plan.detail === 'full') {
      const rows = plan.depRebuilt ? deps : depVersions
      let body = rows.length > 0 ? packageTable(rows, plan.depRows) : ''
      const hidden = deps.length - rows.length
      if (hidden > 0)
        body += `${body ? '\n\n' : ''}${hidden} rebuilt with the same version (listed in the job summary).`
      parts.push(details(label, body))
    } else {
      parts.push(`${escapeMarkdown(label)} (listed in the job summary).`)
    }
  }
  parts.push(totalsLine(diff))
  return parts.join('\n\n') + '\n'
}

/**
 * The host's section in Markdown. Without `maxChars` it renders at the `detail` asked for. With
 * it, detail goes least important first until the text fits: rebuilt dependencies, then
 * dependency rows, then the dependency section (`selected`), then system package rows, then
 * everything but the summary (`summary`), and finally the section becomes one line
 * `**host**: summary`, cut if it must be.
 */
export function renderMarkdown(diff: ClosureDiff, opts: MarkdownOptions = {}): string {
  const { main, deps, depVersions } = split(diff)
  const want = opts.detail ?? 'full'
  const max = opts.maxChars ?? Infinity
  const fits = (text: string) => text.length <= max

  const full: Plan = {
    detail: 'full',
    mainRows: main.length,
    depRows: deps.length,
    depRebuilt: true
  }
  const tries: Plan[] = []
  if (want === 'full') {
    tries.push(full, { ...full, depRebuilt: false, depRows: depVersions.length })
  }
  for (const plan of tries) {
    const text = renderPlan(diff, opts, plan)
    if (fits(text)) return text
  }
  if (want === 'full' && depVersions.length > 0) {
    const text = largestFitting(
      depVersions.length,
      n => renderPlan(diff, opts, { ...full, depRebuilt: false, depRows: n }),
      fits
    )
    if (text) return text
  }
  if (want !== 'summary') {
    const selected: Plan = {
      detail: 'selected',
      mainRows: main.length,
      depRows: 0,
      depRebuilt: false
    }
    const text = renderPlan(diff, opts, selected)
    if (fits(text)) return text
    if (main.length > 0) {
      const cut = largestFitting(
        main.length,
        n => renderPlan(diff, opts, { ...selected, mainRows: n }),
        fits
      )
      if (cut) return cut
    }
  }
  const summary = renderPlan(diff, opts, {
    detail: 'summary',
    mainRows: 0,
    depRows: 0,
    depRebuilt: false
  })
  if (fits(summary)) return summary
  const line = `**${escapeMarkdown(titleOf(diff, opts))}**: ${escapeMarkdown(diff.summary)}\n`
  if (fits(line)) return line
  // Cut the escaped line at a place that does not split an escape (`\x`, `&lt;`) or a character.
  return cutMarkdown(line, max)
}

/** The rendering with the most rows (0 < n <= total) that fits, by bisection; undefined if none does. */
function largestFitting(
  total: number,
  render: (n: number) => string,
  fits: (t: string) => boolean
): string | undefined {
  let lo = 1 // a table with no rows is worth less than the next plan down
  let hi = total - 1 // `total` rows was tried already
  let best: string | undefined
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const text = render(mid)
    if (fits(text)) {
      best = text
      lo = mid + 1
    } else hi = mid - 1
  }
  return best
}

function cutMarkdown(text: string, max: number): string {
  const marker = '…'
  if (max <= marker.length) return ''
  // Cut first, then repair what the cut broke: the repairs only ever shorten the text.
  let out = truncateText(text, max - marker.length, '')
  // Back off past an unfinished entity, then past trailing unescaped `*` (half of a `**`) and a
  // dangling backslash, until neither is left.
  const amp = out.lastIndexOf('&')
  if (amp >= 0 && !out.slice(amp).includes(';')) out = out.slice(0, amp)
  for (;;) {
    const before = out
    out = out.replace(/(^|[^\\])\*+$/, '$1')
    if (out.endsWith('\\') && !out.endsWith('\\\\')) out = out.slice(0, -1)
    if (out === before) break
  }
  // Never leave `**` unbalanced.
  if ((out.match(/\*\*/g) ?? []).length % 2 === 1) out = out.replace(/\*\*/, '')
  return out + marker
}

// ---------------------------------------------------------------------------------------------
// Plain text

/** Drops control characters (ANSI escapes, carriage returns) from text that came from outside. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this is about
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
}

function plainVersions(v: string[]): string {
  return v.length === 0 ? '∅' : v.map(x => plain(x) || 'ε').join(', ')
}

/**
 * The diff for a terminal, lines like `nix store diff-closures` prints:
 * `  firefox: 120.0 → 121.0, +4.2 MiB`, selected packages first when known.
 */
export function renderText(diff: ClosureDiff): string {
  const lines: string[] = []
  lines.push(`${plain(diff.host ?? storePathName(diff.afterPath))}: ${plain(diff.summary)}`)
  const line = (p: PackageChange) => {
    const sizeOnly = p.kind === 'size-only'
    const versions = sizeOnly
      ? `${plainVersions(p.after.versions)} (rebuilt)`
      : `${plainVersions(p.removedVersions)} → ${plainVersions(p.addedVersions)}`
    return `  ${plain(p.name)}: ${versions}, ${formatBytes(p.bytesDelta, { signed: true })}`
  }
  const { main, deps } = split(diff)
  if (main.length > 0) {
    if (diff.hasSelection) lines.push('system packages:')
    lines.push(...main.map(line))
  }
  if (deps.length > 0) {
    lines.push(diff.hasSelection ? 'dependencies:' : 'rebuilt:')
    lines.push(...deps.map(line))
  }
  const t = diff.totals
  lines.push(
    `closure: ${t.before.paths} → ${t.after.paths} paths, ${formatBytes(t.before.bytes)} → ${formatBytes(t.after.bytes)} (${formatBytes(t.bytesDelta, { signed: true })})`
  )
  for (const r of diff.rebootReasons) lines.push(`reboot required: ${plain(r.detail)}`)
  return lines.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// JSON, read back

const CHANGE_KINDS: readonly ChangeKind[] = [
  'added',
  'removed',
  'upgraded',
  'downgraded',
  'changed',
  'size-only'
]
/** Longest string accepted in a diff document (a version, a name, a summary line). */
const MAX_STRING = 4096

/**
 * Rebuilds the ClosureDiff record from a parsed diff document (docs/diff-schema.md, schema
 * version 1), as `toJsonObject` wrote it. The document may come from anyone (an artifact of a
 * pull request from a fork), so every field is checked for its type and range, unknown fields are
 * ignored, and the strings are kept as data: the renderers escape them. Anything else throws one
 * ActionError naming `source` (the file) and the field.
 */
export function fromJsonObject(value: unknown, source: string): ClosureDiff {
  const bad = (where: string, problem: string) =>
    new ActionError(
      `The diff report ${source} is not a valid closure diff (schema version ${DIFF_SCHEMA_VERSION}): ${where} ${problem}.`,
      { input: 'report' }
    )
  const object = (v: unknown, where: string): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw bad(where, 'must be an object')
    return v as Record<string, unknown>
  }
  const str = (v: unknown, where: string): string => {
    if (typeof v !== 'string') throw bad(where, 'must be a string')
    if (v.length > MAX_STRING) throw bad(where, `is longer than ${MAX_STRING} characters`)
    return v
  }
  const bool = (v: unknown, where: string): boolean => {
    if (typeof v !== 'boolean') throw bad(where, 'must be true or false')
    return v
  }
  const int = (v: unknown, where: string, min = -Number.MAX_SAFE_INTEGER): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      throw bad(
        where,
        min === 0 ? 'must be a whole number of at least 0' : 'must be a whole number'
      )
    return v
  }
  const list = (v: unknown, where: string): unknown[] => {
    if (!Array.isArray(v)) throw bad(where, 'must be an array')
    return v
  }
  const strings = (v: unknown, where: string): string[] =>
    list(v, where).map((s, i) => str(s, `${where}[${i}]`))
  const storePath = (v: unknown, where: string): string => {
    const s = str(v, where)
    try {
      return parseStorePath(where, s)
    } catch {
      throw bad(where, `is not a store path (${showValue(s)})`)
    }
  }
  const totals = (v: unknown, where: string): ClosureTotals => {
    const o = object(v, where)
    return { paths: int(o.paths, `${where}.paths`, 0), bytes: int(o.bytes, `${where}.bytes`, 0) }
  }
  const side = (v: unknown, where: string): PackageSide => {
    const o = object(v, where)
    return {
      versions: strings(o.versions, `${where}.versions`),
      bytes: int(o.bytes, `${where}.bytes`, 0),
      paths: int(o.paths, `${where}.paths`, 0)
    }
  }

  const doc = object(value, 'the document')
  if (doc.schemaVersion !== DIFF_SCHEMA_VERSION) {
    const found =
      typeof doc.schemaVersion === 'number' || typeof doc.schemaVersion === 'string'
        ? showValue(String(doc.schemaVersion), 20)
        : 'missing'
    throw new ActionError(
      `The diff report ${source} has schemaVersion ${found}, but this version of the action reads schemaVersion ${DIFF_SCHEMA_VERSION} (docs/diff-schema.md).`,
      { input: 'report' }
    )
  }
  let host: string | undefined
  if (doc.host !== undefined) {
    host = str(doc.host, 'host')
    try {
      validateHostName(host, 'host')
    } catch {
      throw bad('host', `is not a valid host name (${showValue(host)})`)
    }
  }
  const countsIn = object(doc.counts, 'counts')
  const counts = {} as Record<ChangeKind, number>
  for (const k of CHANGE_KINDS) counts[k] = int(countsIn[k], `counts.${k}`, 0)
  const t = object(doc.totals, 'totals')
  const packages = list(doc.packages, 'packages').map((p, i): PackageChange => {
    const where = `packages[${i}]`
    const o = object(p, where)
    const kind = str(o.kind, `${where}.kind`)
    if (!(CHANGE_KINDS as readonly string[]).includes(kind))
      throw bad(`${where}.kind`, `must be one of ${CHANGE_KINDS.join(', ')}`)
    return {
      name: str(o.name, `${where}.name`),
      kind: kind as ChangeKind,
      selected: bool(o.selected, `${where}.selected`),
      before: side(o.before, `${where}.before`),
      after: side(o.after, `${where}.after`),
      addedVersions: strings(o.addedVersions, `${where}.addedVersions`),
      removedVersions: strings(o.removedVersions, `${where}.removedVersions`),
      bytesDelta: int(o.bytesDelta, `${where}.bytesDelta`)
    }
  })
  const rebootReasons = list(doc.rebootReasons, 'rebootReasons').map((r, i): RebootReason => {
    const where = `rebootReasons[${i}]`
    const o = object(r, where)
    const component = str(o.component, `${where}.component`)
    if (!(BOOT_COMPONENTS as readonly string[]).includes(component))
      throw bad(`${where}.component`, `must be one of ${BOOT_COMPONENTS.join(', ')}`)
    return {
      component: component as RebootComponent,
      detail: str(o.detail, `${where}.detail`),
      ...(o.before !== undefined ? { before: str(o.before, `${where}.before`) } : {}),
      ...(o.after !== undefined ? { after: str(o.after, `${where}.after`) } : {})
    }
  })
  str(doc.summary, 'summary') // present and a string, as the schema says; its text is not used
  const changed = bool(doc.changed, 'changed')
  const rebootRequired = bool(doc.rebootRequired, 'rebootRequired')
  const bytesDelta = int(t.bytesDelta, 'totals.bytesDelta')
  return {
    ...(host !== undefined ? { host } : {}),
    beforePath: storePath(doc.beforePath, 'beforePath'),
    afterPath: storePath(doc.afterPath, 'afterPath'),
    changed,
    // Made again from the report's numbers, never taken from its text: in the workflow_run
    // pattern a fork wrote the file, and `diff-summary` (one line, documented as such) is read by
    // a privileged job. The numbers are still the fork's.
    summary: summarize({
      counts,
      totals: { bytesDelta } as ClosureDiff['totals'],
      rebootRequired,
      changed
    }),
    rebootRequired,
    rebootReasons,
    counts,
    totals: {
      before: totals(t.before, 'totals.before'),
      after: totals(t.after, 'totals.after'),
      pathsDelta: int(t.pathsDelta, 'totals.pathsDelta'),
      bytesDelta: int(t.bytesDelta, 'totals.bytesDelta'),
      pathsAdded: int(t.pathsAdded, 'totals.pathsAdded', 0),
      pathsRemoved: int(t.pathsRemoved, 'totals.pathsRemoved', 0)
    },
    hasSelection: bool(doc.hasSelection, 'hasSelection'),
    packages
  }
}

/** `fromJsonObject` of JSON text; text that is not JSON is an ActionError naming `source`. */
export function parseDiffJson(text: string, source: string): ClosureDiff {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new ActionError(
      `The diff report ${source} is not JSON (${replaceControlCharacters(why).slice(0, 120)}).`,
      { input: 'report' }
    )
  }
  return fromJsonObject(value, source)
}
