/**
 * The sticky pull request comment: one comment per pull request, found by a hidden marker and
 * edited in place, holding one section per host and kind (a host's closure diff, its
 * dry-activate report, ...). Pure logic: the GitHub side is `src/actions/pr-comment.ts`.
 *
 * The layout of a body:
 *
 *     <!-- nix-deploy-action:sticky-comment -->          the marker (always the first line)
 *     ### NixOS deployment preview                       title and header ("2 of 5 hosts change")
 *     > [!NOTE] Shortened ... [job summary](...)        only when some detail was collapsed
 *     <details>...</details> / - host · kind: summary   one visible piece per section
 *     <!-- nix-deploy-action:data -->                    the data block (always last)
 *     <!-- nix-deploy:section v1 <base64> -->            one line per section
 *
 * Every section's data is embedded (deflated JSON, standard base64) so that a later writer, in
 * another job, can re-render the whole comment from the body alone. Standard base64 has no `-`
 * and no `>`, so the data can never close its HTML comment. Only the data lines after the LAST
 * data delimiter are read, and only from a body that starts with the marker: section content
 * (which precedes the delimiter) cannot forge a section or a comment even inside a code block.
 *
 * Budget: GitHub refuses comment bodies over 65,536 characters. `fitComment` measures each
 * section's visible piece and embedded data at each detail state and collapses the least
 * important detail first, largest sections first:
 *   1. every section from `full` to `selected`;
 *   2. unchanged sections to one line;
 *   3. changed sections to `summary`, then to one line;
 *   4. the embedded data of one-line sections loses its Markdown levels (summary text only);
 *   5. last resort: the list is truncated (unchanged sections first, from the end) with a note;
 *   6. and, past that, the data of hidden sections is dropped (unchanged first, then oldest):
 *      a later writer no longer knows those sections (reported in `dropped`).
 * The embedded data keeps only the levels the section is displayed at (a section shown at
 * `selected` embeds `selected` and `summary`, not `full`), so a section once collapsed stays at
 * most at that level until its own job writes it again; `parseComment` marks such sections with
 * `reducedTo`. Whenever anything is collapsed, a note links the job summary (`summaryUrl`),
 * which holds the full detail. Lengths are counted in UTF-16 units, never fewer than GitHub's
 * characters, so a body that fits here fits there.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { ActionError } from './errors.js'
import {
  ZWSP,
  details,
  escapeMarkdown,
  heading,
  truncateText,
  visibleInvisibles
} from './markdown.js'

/** GitHub's limit on an issue or pull request comment body, characters. */
export const COMMENT_MAX_CHARS = 65536
/** GitHub's limit on a step's job summary, bytes. */
export const SUMMARY_MAX_BYTES = 1024 * 1024

export type DetailLevel = 'full' | 'selected' | 'summary'

export interface HostSection {
  /** The host's name (the `nixosConfigurations` attribute). */
  host: string
  /** What the section reports: `diff`, `dry-activate`, ... A host has one section per kind. */
  kind: string
  /** Whether the host changes (counted in the header; unchanged sections collapse first). */
  changed: boolean
  /** One line of plain text (escaped here when rendered), e.g. `3 added, 1 removed, +4.2 MiB`. */
  summary: string
  /** The section at three levels of detail: Markdown, already escaped by the producer. */
  levels: { full: string; selected: string; summary: string }
  /** ISO 8601 time the producer wrote it: the newer of two versions of a section wins. */
  updatedAt: string
  /** The job that produced it (linked from the section). */
  runUrl?: string
  /** The pull request's head commit the section was built for (hex), when known. */
  headSha?: string
  /**
   * The newer head commit at which this section was not written again (see `markStale`): the
   * section describes `headSha`, an older push. Rendered as such, collapsed.
   */
  staleAt?: string
  /**
   * Set by `parseComment` when the comment kept less than the full detail of this section:
   * the missing levels are copies of the richest one kept (`line`: no Markdown kept, levels empty).
   */
  reducedTo?: 'selected' | 'summary' | 'line'
}

export interface RenderOptions {
  /** Longest body, characters (default 65,536). */
  maxChars?: number
  /** Where the full detail is (the run's job summaries), linked whenever something is collapsed. */
  summaryUrl?: string
  /** The comment's heading (default `NixOS deployment preview`). */
  title?: string
  /** Separate comments for separate workflows: letters, digits, `.`, `_`, `-`. */
  id?: string
}

export interface FitResult {
  body: string
  /** Whether any section is shown with less than its full detail. */
  collapsed: boolean
  /** Keys (`sectionKey`) of sections not shown, only counted in the truncation note. */
  hidden: string[]
  /** Keys of sections whose data could not be kept in the body: a later writer loses them. */
  dropped: string[]
}

const DEFAULT_TITLE = 'NixOS deployment preview'
const DATA_DELIMITER = '<!-- nix-deploy-action:data -->'
const SECTION_PREFIX = '<!-- nix-deploy:section v1 '
/**
 * One data line for many sections kept at `line` detail: their data objects as one JSON array,
 * compressed together. A fleet's sections share keys, kind, run URL and dates, so together they
 * compress to a fraction of their separate lines: 300 hosts fit where separate lines would not.
 */
const SECTIONS_PREFIX = '<!-- nix-deploy:sections v1 '
/** Most sections one bundle line is read for (a comment cannot hold more). */
const MAX_BUNDLED = 20_000
const SECTION_SUFFIX = ' -->'
/** Longest summary text shown on one line or kept in the minimal data. */
const LINE_SUMMARY_MAX = 200

// ---------------------------------------------------------------------------------------------
// Identity and order

/** The hidden marker that identifies the comment (a variant per `id`). */
export function commentMarker(id?: string): string {
  if (id === undefined || id === '') return '<!-- nix-deploy-action:sticky-comment -->'
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || id.includes('--')) {
    throw new ActionError(
      `Input 'comment-id' must be 1 to 64 letters, digits, '.', '_' or '-' (no '--'), not ${JSON.stringify(id.slice(0, 80))}.`,
      { input: 'comment-id' }
    )
  }
  return `<!-- nix-deploy-action:sticky-comment:${id} -->`
}

/** Whether a comment body is the sticky comment for `id` (the marker is its first line). */
export function isStickyComment(body: string | null | undefined, id?: string): boolean {
  if (typeof body !== 'string') return false
  const marker = commentMarker(id)
  const start = body.trimStart()
  // The marker must end the line: the default marker is not a prefix of an `id` variant's.
  return start.startsWith(marker) && /^(\r?\n|$)/.test(start.slice(marker.length))
}

/** A commit's hex name (SHA-1 or SHA-256, abbreviated to at least 7 digits). */
export function isCommit(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{7,64}$/.test(v)
}

/**
 * The sections of `sections` that `current` (a section being written for the pull request's
 * head commit `current.headSha`) makes stale: every other section built for a different commit
 * and not newer than `current` gets `staleAt: current.headSha`; the others are returned as they
 * are. A matrix with `changed-since` leaves hosts the latest push did not change out, so their
 * sections are not written again; without this their diff from an older push would stay in the
 * comment looking as current as the others. Marked, not removed: the old diff may still be what
 * the pull request does to that host, and a reviewer should not lose sight of it, only see which
 * commit it was built for. A section without a commit (an older writer) is left alone.
 */
export function markStale(sections: readonly HostSection[], current: HostSection): HostSection[] {
  const head = current.headSha
  if (!head) return [...sections]
  return sections.map(s =>
    sectionKey(s) !== sectionKey(current) &&
    s.headSha !== undefined &&
    s.headSha !== head &&
    s.staleAt !== head &&
    notOlder(current, s)
      ? { ...s, staleAt: head }
      : s
  )
}

/** A section's identity: its host and kind. */
export function sectionKey(s: Pick<HostSection, 'host' | 'kind'>): string {
  return `${s.host}\u0000${s.kind}`
}

// Made on first use: creating a collator loads ICU's collation data (about 5 ms), which a step
// that writes no comment should not pay.
let collator: Intl.Collator | undefined

function compareText(a: string, b: string): number {
  collator ??= new Intl.Collator('en', { numeric: true, sensitivity: 'variant' })
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0)
}

/** Stable order: by host name (numbers in names compare as numbers: web2 before web10), then kind. */
export function compareSections(a: HostSection, b: HostSection): number {
  return compareText(a.host, b.host) || compareText(a.kind, b.kind)
}

function time(s: HostSection): number {
  const t = Date.parse(s.updatedAt)
  return Number.isNaN(t) ? -Infinity : t
}

/** Whether `a` is at least as new as `b` (unparseable times are the oldest; ties go to `a`). */
function notOlder(a: HostSection, b: HostSection): boolean {
  const ta = time(a)
  const tb = time(b)
  if (ta !== tb) return ta > tb
  return a.updatedAt >= b.updatedAt
}

/** Whether `found` (a section read back from a comment) is `mine` or a newer version of it. */
export function isSameOrNewer(found: HostSection, mine: HostSection): boolean {
  return sectionKey(found) === sectionKey(mine) && notOlder(found, mine)
}

/**
 * `existing` with `section` in it: it replaces the section of the same host and kind unless that
 * one is newer (a later run of the same job already wrote it). Returns a new array, sorted.
 */
export function mergeSection(
  existing: readonly HostSection[],
  section: HostSection
): HostSection[] {
  const key = sectionKey(section)
  const out: HostSection[] = []
  let placed = false
  for (const s of existing) {
    if (sectionKey(s) !== key) out.push(s)
    else if (!placed) {
      out.push(notOlder(section, s) ? section : s)
      placed = true
    }
  }
  if (!placed) out.push(section)
  return out.sort(compareSections)
}

/** All sections of several lists (e.g. several comments), newest version of each. */
export function mergeSections(...lists: readonly (readonly HostSection[])[]): HostSection[] {
  let out: HostSection[] = []
  for (const list of lists) for (const s of list) out = mergeSection(out, s)
  return out
}

// ---------------------------------------------------------------------------------------------
// Embedded data

type Stored = { full?: string; selected?: string; summary?: string } | undefined

function encodeSection(s: HostSection, keep: 'full' | 'selected' | 'summary' | 'line'): string {
  // Fitting measures each section at several levels, several times: compress each once.
  let cached = encoded.get(s)
  if (!cached) encoded.set(s, (cached = new Map()))
  let line = cached.get(keep)
  if (line === undefined) {
    line = `${SECTION_PREFIX}${pack(sectionData(s, keep))}${SECTION_SUFFIX}`
    cached.set(keep, line)
  }
  return line
}

/** Data lines already made, per section object and level (sections are not changed once made). */
const encoded = new WeakMap<HostSection, Map<string, string>>()

/** The data lines of sections kept at `line` detail, as one line (see SECTIONS_PREFIX). */
function encodeBundle(sections: readonly HostSection[]): string {
  return `${SECTIONS_PREFIX}${pack(sections.map(s => sectionData(s, 'line')))}${SECTION_SUFFIX}`
}

/** Deflated JSON, in base64: what a data line holds between its prefix and suffix. */
function pack(data: unknown): string {
  // JSON.stringify writes lone surrogates as \uXXXX escapes, so the UTF-8 round trip is exact.
  return deflateRawSync(Buffer.from(JSON.stringify(data), 'utf8'), { level: 9 }).toString('base64')
}

/** The inverse of `pack`; undefined for anything damaged. */
function unpack(base64: string): unknown {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined
  try {
    const json = inflateRawSync(Buffer.from(base64, 'base64'), {
      maxOutputLength: 64 * 1024 * 1024
    })
    return JSON.parse(json.toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

function sectionData(
  s: HostSection,
  keep: 'full' | 'selected' | 'summary' | 'line'
): Record<string, unknown> {
  let levels: Stored
  let summary = s.summary
  if (keep === 'full') levels = { ...s.levels }
  else if (keep === 'selected') levels = { selected: s.levels.selected, summary: s.levels.summary }
  else if (keep === 'summary') levels = { summary: s.levels.summary }
  else {
    levels = undefined
    summary = truncateText(oneLine(summary), LINE_SUMMARY_MAX)
  }
  const data: Record<string, unknown> = {
    v: 1,
    host: s.host,
    kind: s.kind,
    changed: s.changed,
    summary,
    updatedAt: s.updatedAt
  }
  if (s.runUrl !== undefined) data.runUrl = s.runUrl
  if (s.headSha !== undefined) data.headSha = s.headSha
  if (s.staleAt !== undefined) data.staleAt = s.staleAt
  if (levels) data.levels = levels
  if (keep !== 'full') data.reducedTo = keep
  return data
}

function isString(v: unknown): v is string {
  return typeof v === 'string'
}

/** How far a section's `updatedAt` may be ahead of this machine's clock (clock skew), ms. */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000
/** The shape of a run's page, as `runSummaryUrl` writes it: anything else is not linked. */
const RUN_URL =
  /^https:\/\/[A-Za-z0-9.-]+(?::[0-9]+)?\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/actions\/runs\/[0-9]+(?:\/attempts\/[0-9]+)?(?:\/job\/[0-9]+)?$/

/**
 * One data line back into a section; undefined when it is damaged in any way, or dated in the
 * future (such a section would win every merge against the real one forever). What it holds is
 * data from a comment, not Markdown this run made: its levels go through `sanitizeStoredMarkdown`
 * and a `runUrl` is kept only when it has the shape of a run's page.
 */
function decodeSection(base64: string, now: number): HostSection | undefined {
  return sectionFromData(unpack(base64) as Record<string, unknown> | undefined, now)
}

/** The sections of a bundle line (see SECTIONS_PREFIX); damaged entries are skipped. */
function decodeBundle(base64: string, now: number): HostSection[] {
  const list = unpack(base64)
  if (!Array.isArray(list) || list.length > MAX_BUNDLED) return []
  return list
    .map(d => sectionFromData(d as Record<string, unknown> | undefined, now))
    .filter((x): x is HostSection => x !== undefined)
}

/** One section's data object, checked (see decodeSection). */
function sectionFromData(
  data: Record<string, unknown> | undefined,
  now: number
): HostSection | undefined {
  if (!data || typeof data !== 'object' || Array.isArray(data) || data.v !== 1) return undefined
  const { host, kind, changed, summary, updatedAt, runUrl, reducedTo, headSha, staleAt } = data
  if (
    !isString(host) ||
    !isString(kind) ||
    typeof changed !== 'boolean' ||
    !isString(summary) ||
    !isString(updatedAt)
  )
    return undefined
  if (runUrl !== undefined && !isString(runUrl)) return undefined
  if (host.length > 1024 || kind.length > 1024) return undefined
  const at = Date.parse(updatedAt)
  if (Number.isNaN(at) || at > now + FUTURE_TOLERANCE_MS) return undefined
  const raw = data.levels as Record<string, unknown> | undefined
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) return undefined
  let levels: HostSection['levels']
  switch (reducedTo) {
    case undefined:
      if (!raw || !isString(raw.full) || !isString(raw.selected) || !isString(raw.summary))
        return undefined
      levels = { full: raw.full, selected: raw.selected, summary: raw.summary }
      break
    case 'selected':
      if (!raw || !isString(raw.selected) || !isString(raw.summary)) return undefined
      levels = { full: raw.selected, selected: raw.selected, summary: raw.summary }
      break
    case 'summary':
      if (!raw || !isString(raw.summary)) return undefined
      levels = { full: raw.summary, selected: raw.summary, summary: raw.summary }
      break
    case 'line':
      levels = { full: '', selected: '', summary: '' }
      break
    default:
      return undefined
  }
  levels = {
    full: sanitizeStoredMarkdown(levels.full),
    selected: sanitizeStoredMarkdown(levels.selected),
    summary: sanitizeStoredMarkdown(levels.summary)
  }
  const s: HostSection = { host, kind, changed, summary, levels, updatedAt }
  if (runUrl !== undefined && RUN_URL.test(runUrl)) s.runUrl = runUrl
  if (reducedTo !== undefined) s.reducedTo = reducedTo
  // Commits are data too: kept only when they are a commit's hex name.
  if (isCommit(headSha)) s.headSha = headSha
  if (isCommit(staleAt)) s.staleAt = staleAt
  return s
}

/**
 * The sections of a sticky comment, or null when the body is not one (no marker for `id` on its
 * first line). A damaged data line is skipped; when a section appears twice the newer wins.
 */
export function parseComment(
  body: string | null | undefined,
  opts: { id?: string; now?: number } = {}
): { sections: HostSection[] } | null {
  const now = opts.now ?? Date.now()
  if (!isStickyComment(body, opts.id)) return null
  const text = body as string
  const at = text.lastIndexOf(DATA_DELIMITER)
  if (at < 0) return { sections: [] }
  const found: HostSection[] = []
  for (const line of text.slice(at + DATA_DELIMITER.length).split('\n')) {
    const l = line.trim()
    if (l.startsWith(SECTIONS_PREFIX) && l.endsWith(SECTION_SUFFIX)) {
      const inner = l.slice(SECTIONS_PREFIX.length, l.length - SECTION_SUFFIX.length).trim()
      found.push(...decodeBundle(inner, now))
      continue
    }
    if (!l.startsWith(SECTION_PREFIX) || !l.endsWith(SECTION_SUFFIX)) continue
    const s = decodeSection(
      l.slice(SECTION_PREFIX.length, l.length - SECTION_SUFFIX.length).trim(),
      now
    )
    if (s) found.push(s)
  }
  return { sections: mergeSections(found) }
}

// ---------------------------------------------------------------------------------------------
// Stored Markdown, read back

/** The only HTML the producers write into a section's levels (`details` in markdown.ts). */
const ALLOWED_TAG = /^<(?:details(?: open)?|\/details|summary|\/summary)>$/

/**
 * A section's Markdown as read back from a comment, made safe again: whoever wrote the comment,
 * its text is data. Outside code (fenced blocks and code spans, where GitHub renders nothing):
 *  - every HTML tag other than the `<details>`/`<summary>` pairs the producers write is escaped,
 *    and those too when they do not pair up (a stray `</details>` would close the comment's own);
 *  - images (`![`), links and reference definitions (`](`, `[x]:`) are broken;
 *  - mentions, issue references and URL autolinks are defused (as `escapeMarkdown` does);
 *  - invisible and bidirectional characters are shown as `<U+XXXX>`.
 * What the producers write passes unchanged (they escape all of this already), so a real
 * section renders as it did.
 */
export function sanitizeStoredMarkdown(markdown: string): string {
  const lines = markdown.split('\n')
  const out: string[] = []
  let fence: string | null = null
  let depth = 0
  let balanced = true
  const tags: { line: number; tag: string }[] = []
  for (const line of lines) {
    if (fence !== null) {
      out.push(line)
      if (new RegExp(`^ {0,3}${fence}\`*\\s*$`).test(line)) fence = null
      continue
    }
    const open = /^ {0,3}(`{3,})[^`]*$/.exec(line)
    if (open) {
      fence = open[1]
      out.push(line)
      continue
    }
    // Code spans (kept as they are) and text (sanitised) in between.
    const runs = [...line.matchAll(/`+/g)]
    let result = ''
    let from = 0
    for (let i = 0; i < runs.length; i++) {
      const opening = runs[i]
      const j = runs.findIndex((r, k) => k > i && r[0].length === opening[0].length)
      if (j < 0) continue // an unmatched run is literal text
      const closing = runs[j]
      result +=
        sanitizeText(line.slice(from, opening.index)) +
        line.slice(opening.index, closing.index + closing[0].length)
      from = closing.index + closing[0].length
      i = j
    }
    result += sanitizeText(line.slice(from))
    for (const m of result.matchAll(/<[^<>]*>/g)) {
      tags.push({ line: out.length, tag: m[0] })
      if (m[0].startsWith('<details')) depth++
      else if (m[0] === '</details>') depth--
      if (depth < 0) balanced = false
    }
    out.push(result)
  }
  if (depth !== 0 || fence !== null) balanced = false
  if (!balanced)
    for (const { line } of tags)
      out[line] = out[line].replace(/<((?:\/?details(?: open)?|\/?summary))>/g, '&lt;$1&gt;')
  return out.join('\n')
}

function sanitizeText(text: string): string {
  // U+200B stays: the producers put it after `@` and `#` to defuse mentions (markdown.ts).
  return visibleInvisibles(text, ZWSP)
    .replace(/<[^<>]*>?/g, tag => (ALLOWED_TAG.test(tag) ? tag : tag.replace(/</g, '&lt;')))
    .replace(/!\[/g, '!\\[')
    .replace(/\]\(/g, ']\\(')
    .replace(/^(\s*)\[([^\]]*)\]:/, '$1\\[$2]:')
    .replace(/@(?=[A-Za-z0-9_-])/g, `@${ZWSP}`)
    .replace(/(?<!&)#(?=[0-9])/g, `#${ZWSP}`)
    .replace(/\b(GH)-(?=[0-9])/gi, `$1-${ZWSP}`)
    .replace(/:\/\//g, `:${ZWSP}//`)
    .replace(/\bwww\./gi, m => `${m.slice(0, 3)}${ZWSP}.`)
}

// ---------------------------------------------------------------------------------------------
// Visible Markdown

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** An http(s) URL safe for a Markdown link target, or undefined. */
function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return undefined
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined
  return u.href.replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/ /g, '%20')
}

function link(text: string, url: string | undefined): string {
  const href = safeUrl(url)
  return href ? `[${text}](${href})` : ''
}

function sectionTitle(s: HostSection): string {
  const summary = truncateText(oneLine(s.summary), LINE_SUMMARY_MAX)
  return `${s.staleAt ? `[stale] ` : ''}${s.host} · ${s.kind}${summary ? `: ${summary}` : ''}`
}

const short = (sha: string) => sha.slice(0, 12)

/** The sentence that says a section is from an older push (empty when it is not). */
function staleNote(s: HostSection): string {
  if (!s.staleAt) return ''
  const built = s.headSha ? ` It was built for \`${short(s.headSha)}\`.` : ''
  return `*Not rebuilt at \`${short(s.staleAt)}\`: this host is unchanged by the latest push.${built}*`
}

/** A section as a collapsible block at a level of detail (blank lines around it). */
function renderBlock(s: HostSection, level: DetailLevel): string {
  const job = link('job', s.runUrl)
  const stale = staleNote(s)
  const body = `${stale ? `${stale}\n\n` : ''}${s.levels[level].trim() || '*No detail.*'}${job ? `\n\n${job}` : ''}`
  return `\n${details(sectionTitle(s), body, { open: s.changed && !s.staleAt })}\n`
}

/** A section as one list item. */
function renderLine(s: HostSection): string {
  const summary = truncateText(oneLine(s.summary), LINE_SUMMARY_MAX)
  const job = link('job', s.runUrl)
  const stale = staleNote(s)
  return `- ${s.staleAt ? '[stale] ' : ''}**${escapeMarkdown(s.host)}** · ${escapeMarkdown(s.kind)}${summary ? `: ${escapeMarkdown(summary)}` : ''}${job ? ` (${job})` : ''}${stale ? ` ${stale}` : ''}`
}

function headerLine(sections: readonly HostSection[]): string {
  const hosts = new Map<string, boolean>()
  for (const s of sections) hosts.set(s.host, (hosts.get(s.host) ?? false) || s.changed)
  const total = hosts.size
  if (total === 0) return '*No host has reported yet.*'
  const changed = [...hosts.values()].filter(Boolean).length
  const stale = new Set(sections.filter(s => s.staleAt).map(s => s.host)).size
  const older = stale
    ? ` ${stale} of them ${stale === 1 ? 'is' : 'are'} from an earlier push (marked stale).`
    : ''
  return `**${changed} of ${total} ${total === 1 ? 'host' : 'hosts'} ${changed === 1 ? 'changes' : 'change'}.**${older}`
}

/** Where the full detail is, as Markdown: a link to the run's job summaries when known. */
function summaryWhere(summaryUrl: string | undefined): string {
  return link('job summary', summaryUrl) || 'job summaries of this workflow run'
}

function commentNote(summaryUrl: string | undefined, max: number): string {
  const limit =
    max === COMMENT_MAX_CHARS ? "GitHub's 65,536-character limit on comments" : `${max} characters`
  return `\n> [!NOTE]\n> Some detail is collapsed to fit ${limit}: the full detail is in the ${summaryWhere(summaryUrl)}.\n`
}

function commentMore(hidden: number, summaryUrl: string | undefined): string {
  return `\n*…and ${hidden} more ${hidden === 1 ? 'section' : 'sections'}: see the ${summaryWhere(summaryUrl)}.*\n`
}

// ---------------------------------------------------------------------------------------------
// Fitting

/**
 * The states of a section, most detail first. The visible piece and the embedded data of each:
 *   0 full block + data(full)      1 selected block + data(selected)    2 summary block + data(summary)
 *   3 line + data(summary)         4 line + data(line)                  5 hidden + data(line)
 *   6 hidden, no data
 */
type State = 0 | 1 | 2 | 3 | 4 | 5 | 6

interface Fitting {
  s: HostSection
  index: number
  state: State
  /** Cost of each state (visible piece + its newline, data line + its newline), computed lazily. */
  costs: (number | undefined)[]
}

interface FitParams {
  max: number
  /** Length of a text in the unit of the budget. */
  measure: (text: string) => number
  /** Whether sections' data is embedded (the comment) or not (the job summary). */
  embed: boolean
  title: string
  marker?: string
  /** The note shown when anything is collapsed. */
  note: string
  /** The line that counts hidden sections. */
  more: (hidden: number) => string
  /**
   * Sections kept at `line` detail share one data line (a bundle), each counted at this many
   * characters (an estimate: the body is measured after rendering). Unset: one line each.
   */
  lineCost?: number
}

const KEEP: Record<State, 'full' | 'selected' | 'summary' | 'line' | undefined> = {
  0: 'full',
  1: 'selected',
  2: 'summary',
  3: 'summary',
  4: 'line',
  5: 'line',
  6: undefined
}

function visiblePiece(s: HostSection, state: State): string | undefined {
  switch (state) {
    case 0:
      return renderBlock(s, 'full')
    case 1:
      return renderBlock(s, 'selected')
    case 2:
      return renderBlock(s, 'summary')
    case 3:
    case 4:
      return renderLine(s)
    default:
      return undefined
  }
}

function initialState(s: HostSection): State {
  switch (s.reducedTo) {
    case 'selected':
      return 1
    case 'summary':
      return 2
    case 'line':
      return 4
    default:
      return 0
  }
}

function fit(input: readonly HostSection[], p: FitParams): FitResult | null {
  const sections = [...input].sort(compareSections)
  const items: Fitting[] = sections.map((s, index) => ({
    s,
    index,
    state: initialState(s),
    costs: []
  }))
  const cost = (it: Fitting, state: State): number => {
    let c = it.costs[state]
    if (c === undefined) {
      const piece = visiblePiece(it.s, state)
      const keep = KEEP[state]
      c =
        (piece === undefined ? 0 : p.measure(piece) + 1) +
        (p.embed && keep
          ? keep === 'line' && p.lineCost !== undefined
            ? p.lineCost
            : p.measure(encodeSection(it.s, keep)) + 1
          : 0)
      it.costs[state] = c
    }
    return c
  }

  const head = [p.marker, heading(3, p.title), headerLine(sections)]
    .filter((x): x is string => x !== undefined)
    .join('\n\n')
  const delimiter = `\n${DATA_DELIMITER}`
  // Every piece is followed by one newline (the join, and the final one).
  const fixed =
    p.measure(head) +
    1 +
    (p.embed ? p.measure(delimiter) + 1 : 0) +
    (p.embed && p.lineCost !== undefined ? p.measure(encodeBundle([])) + 1 : 0)
  const note = p.measure(p.note) + 1
  const more = p.measure(p.more(Number.MAX_SAFE_INTEGER)) + 1

  let total = items.reduce((sum, it) => sum + cost(it, it.state), 0)
  const fits = () => {
    const collapsed = items.some(it => it.state > 0)
    const hidden = items.some(it => it.state >= 5)
    return fixed + total + (collapsed ? note : 0) + (hidden ? more : 0) <= p.max
  }
  const move = (it: Fitting, to: State) => {
    if (to <= it.state) return
    total += cost(it, to) - cost(it, it.state)
    it.state = to
  }
  /** Moves the chosen sections to `to`, largest first, until the body fits. */
  const phase = (
    choose: (it: Fitting) => boolean,
    to: State,
    order?: (a: Fitting, b: Fitting) => number
  ) => {
    if (fits()) return
    const list = items.filter(it => it.state < to && choose(it))
    list.sort(order ?? ((a, b) => cost(b, b.state) - cost(a, a.state) || a.index - b.index))
    for (const it of list) {
      move(it, to)
      if (fits()) return
    }
  }
  const fromTheEnd = (a: Fitting, b: Fitting) =>
    Number(a.s.changed) - Number(b.s.changed) || b.index - a.index
  phase(() => true, 1)
  phase(it => !it.s.changed, 3)
  phase(it => it.s.changed, 2)
  phase(it => it.s.changed, 3)
  phase(() => true, 4)
  phase(() => true, 5, fromTheEnd)
  phase(
    () => true,
    6,
    (a, b) =>
      Number(a.s.changed) - Number(b.s.changed) || time(a.s) - time(b.s) || b.index - a.index
  )
  if (!fits()) {
    throw new ActionError(
      `The pull request comment cannot fit in ${p.max} characters: even its heading is too long.`,
      { phase: 'comment' }
    )
  }

  const collapsed = items.some(it => it.state > 0)
  const hiddenItems = items.filter(it => it.state >= 5)
  const parts = [head]
  if (collapsed) parts.push(p.note)
  for (const it of items) {
    const piece = visiblePiece(it.s, it.state)
    if (piece !== undefined) parts.push(piece)
  }
  if (hiddenItems.length) parts.push(p.more(hiddenItems.length))
  if (p.embed) {
    parts.push(delimiter)
    const bundled: HostSection[] = []
    for (const it of items) {
      const keep = KEEP[it.state]
      if (keep === 'line' && p.lineCost !== undefined) bundled.push(it.s)
      else if (keep) parts.push(encodeSection(it.s, keep))
    }
    if (bundled.length) parts.push(encodeBundle(bundled))
  }
  const body = `${parts.join('\n')}\n`
  // With a bundle the line cost is an estimate: the caller measures and tries again.
  if (p.lineCost !== undefined && p.measure(body) > p.max) return null
  // The accounting above is an upper bound; this guards the promise against a mistake in it.
  if (p.measure(body) > p.max)
    throw new Error(`sticky comment: rendered ${p.measure(body)} > ${p.max}`)
  return {
    body,
    collapsed,
    hidden: hiddenItems.map(it => sectionKey(it.s)),
    dropped: items.filter(it => it.state === 6).map(it => sectionKey(it.s))
  }
}

/**
 * The comment body for these sections (the newest version of each host and kind), fitted under
 * `maxChars` including the embedded data. Also says what was collapsed, hidden or dropped.
 */
export function fitComment(sections: readonly HostSection[], opts: RenderOptions = {}): FitResult {
  const max = opts.maxChars ?? COMMENT_MAX_CHARS
  const merged = mergeSections(sections)
  const params: FitParams = {
    max,
    measure: t => t.length,
    embed: true,
    title: opts.title ?? DEFAULT_TITLE,
    marker: commentMarker(opts.id),
    note: commentNote(opts.summaryUrl, max),
    more: n => commentMore(n, opts.summaryUrl)
  }
  const plain = fit(merged, params) as FitResult
  if (!plain.collapsed || merged.length < 2) return plain
  // Many sections: those kept at `line` detail share one data line. Each is first counted at its
  // share of the bundle of every section; a subset compresses less well, so when the rendered
  // body comes out too long each is counted at more, and in the end the separate lines above.
  const share = (encodeBundle(merged).length - encodeBundle([]).length) / merged.length
  for (const factor of [1.1, 1.5, 2.5]) {
    const bundled = fit(merged, { ...params, lineCost: Math.ceil(share * factor) })
    if (bundled && !worse(bundled, plain)) return bundled
  }
  return plain
}

/** Whether `a` keeps less than `b`: more sections dropped or hidden. */
function worse(a: FitResult, b: FitResult): boolean {
  return a.dropped.length > b.dropped.length || a.hidden.length > b.hidden.length
}

/** The comment body (see `fitComment`): always at most `maxChars` characters. */
export function renderComment(sections: readonly HostSection[], opts: RenderOptions = {}): string {
  return fitComment(sections, opts).body
}

/**
 * The same sections for a job summary: no marker and no embedded data, fitted under `maxBytes`
 * of UTF-8 (GitHub's 1 MiB per step, less what the step writes besides), collapsing in the same
 * order. `fullDetailAt` says, in Markdown the caller made safe, where the rest is when something
 * had to be collapsed (default: the step's `diff-json-file` output).
 */
export function renderSummary(
  sections: readonly HostSection[],
  opts: { maxBytes?: number; title?: string; fullDetailAt?: string } = {}
): string {
  const max = opts.maxBytes ?? SUMMARY_MAX_BYTES
  const where = opts.fullDetailAt ?? "the step's `diff-json-file` output"
  return fit(mergeSections(sections), {
    max,
    measure: t => Buffer.byteLength(t, 'utf8'),
    embed: false,
    title: opts.title ?? DEFAULT_TITLE,
    note: `\n> [!NOTE]\n> Some detail is collapsed to fit GitHub's 1 MiB limit on job summaries: the complete data is in ${where}.\n`,
    more: n => `\n*…and ${n} more ${n === 1 ? 'section' : 'sections'} (see ${where}).*\n`
  })!.body
}
