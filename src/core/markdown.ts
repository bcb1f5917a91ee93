/**
 * Escaping for GitHub-flavoured Markdown and the bits of HTML GitHub allows in comments, job
 * summaries and check-run text. Everything that comes from a flake or a host (package names,
 * versions, host names, command output) goes through one of these before it is put into a body,
 * so it cannot:
 *  - break a table (a `|` or a newline in a cell),
 *  - open or close markup (`<details>`, `</details>`, `<!-- -->`, backticks, `*`, `[...](...)`),
 *  - notify people or link issues (`@someone`, `@org/team`, `#123`, `GH-123`, `owner/repo#1`),
 *  - turn into a link (`https://...`, `www.`).
 *
 * Mentions and references are defused with a zero-width space (U+200B) after `@`/`#`/`GH-`:
 * GitHub links those on the rendered text, and the invisible character breaks the pattern while
 * the text still reads the same. Inside code spans and code blocks GitHub links nothing, so those
 * only need their own delimiters handled.
 */

/** Zero-width space: invisible, and breaks GitHub's mention/reference/autolink patterns. */
export const ZWSP = '\u200B'

/**
 * Invisible and direction-changing characters (bidirectional overrides and isolates, zero-width
 * spaces and joiners, the byte-order mark): text holding them can read differently from what it
 * is ("Trojan Source"). They are shown as `<U+202E>` wherever outside text is rendered.
 */
const INVISIBLE = /[\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g

/** `text` with every invisible or bidirectional character (but `keep`) written as `<U+XXXX>`. */
export function visibleInvisibles(text: string, keep = ''): string {
  return text.replace(INVISIBLE, ch =>
    ch === keep ? ch : `<U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`
  )
}

/** Every line break (and other vertical whitespace) becomes one space: nothing can start a new block. */
function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n\u2028\u2029\v\f]/g, ' ')
}

/**
 * Defuses GitHub's automatic links in text that GitHub will render: mentions (`@user`,
 * `@org/team`), issue and pull request references (`#123`, `GH-123`, `owner/repo#123`) and
 * URL autolinks (`https://`, `www.`). Does not otherwise change the text.
 */
export function noAutolinks(text: string): string {
  return text
    .replace(/@(?=[A-Za-z0-9_-])/g, `@${ZWSP}`)
    .replace(/#(?=[0-9])/g, `#${ZWSP}`)
    .replace(/\b(GH)-(?=[0-9])/gi, `$1-${ZWSP}`)
    .replace(/:\/\//g, `:${ZWSP}//`)
    .replace(/\bwww\./gi, m => `${m.slice(0, 3)}${ZWSP}.`)
}

/**
 * Escapes text for HTML contexts GitHub does not parse as Markdown: attribute values, the text of
 * `<summary>`, `<code>`, table cells written as HTML. One line; autolinks defused.
 */
export function escapeHtml(text: string): string {
  // Autolinks first: the entities written below contain `#` followed by digits.
  return noAutolinks(oneLine(visibleInvisibles(text)))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/**
 * Escapes text for inline Markdown (a paragraph, a heading, a list item or a table cell): every
 * ASCII punctuation character Markdown could read as syntax is backslash-escaped, `<`, `>` and
 * `&` become entities (no HTML tag, comment or entity can form), newlines become spaces and
 * autolinks are defused. The rendered text reads exactly as the input.
 */
export function escapeMarkdown(text: string): string {
  // Autolinks first, on the text as GitHub will see it rendered (escaping `-` would hide `GH-1`
  // from the pattern but not from GitHub); the zero-width space is not escaped below.
  const escaped = noAutolinks(oneLine(visibleInvisibles(text))).replace(
    /[\\`*_{}[\]()#+\-.!|~<>&=$]/g,
    ch => {
      switch (ch) {
        case '<':
          return '&lt;'
        case '>':
          return '&gt;'
        case '&':
          return '&amp;'
        default:
          return `\\${ch}`
      }
    }
  )
  // Leading spaces could make an indented code block when the text starts a line.
  return escaped.replace(/^ +/, m => '&#32;'.repeat(m.length))
}

/** A table cell: inline Markdown with every `|` escaped (escapeMarkdown already does both). */
export function escapeTableCell(text: string): string {
  return escapeMarkdown(text)
}

/**
 * An inline code span holding `text` literally. The fence is one backtick longer than the longest
 * run of backticks inside, padded with spaces when the content starts or ends with a backtick
 * (CommonMark strips exactly one such space). In a table (`inTable`), `|` is written `\|`, which
 * GitHub's table parser turns back into `|` before the code span is read.
 */
export function inlineCode(text: string, opts: { inTable?: boolean } = {}): string {
  let content = oneLine(visibleInvisibles(text))
  if (opts.inTable) content = content.replace(/\|/g, '\\|')
  if (content === '') return '` `'
  let longest = 0
  for (const run of content.match(/`+/g) ?? []) longest = Math.max(longest, run.length)
  const fence = '`'.repeat(longest + 1)
  const pad = content.startsWith('`') || content.endsWith('`') || /^ .* $/.test(content) ? ' ' : ''
  return `${fence}${pad}${content}${pad}${fence}`
}

/**
 * A fenced code block holding `text` literally (several lines allowed). The fence is longer than
 * any run of backticks inside, so the content cannot end the block; inside a block GitHub renders
 * `</details>` and `@someone` as plain text. `info` is the language (letters, digits, `+-_` only).
 */
export function codeBlock(text: string, info = ''): string {
  let longest = 0
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length)
  const fence = '`'.repeat(Math.max(3, longest + 1))
  const lang = info.replace(/[^A-Za-z0-9+_-]/g, '')
  const body = visibleInvisibles(text).replace(/\r\n?/g, '\n').replace(/\n$/, '')
  return `${fence}${lang}\n${body}\n${fence}`
}

/**
 * A collapsible section. `summary` is plain text (escaped here); `bodyMarkdown` is Markdown that
 * the caller already made safe. The blank lines around the body let GitHub render it as Markdown.
 */
export function details(
  summary: string,
  bodyMarkdown: string,
  opts: { open?: boolean } = {}
): string {
  return `<details${opts.open ? ' open' : ''}><summary>${escapeHtml(summary)}</summary>\n\n${bodyMarkdown.trim()}\n\n</details>`
}

/** A Markdown table. Cells are Markdown the caller already escaped (escapeTableCell, inlineCode with inTable). */
export function table(
  header: string[],
  rows: string[][],
  align?: ('left' | 'right' | 'center')[]
): string {
  const sep = header.map((_, i) => {
    switch (align?.[i]) {
      case 'right':
        return '---:'
      case 'center':
        return ':---:'
      default:
        return '---'
    }
  })
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(sep), ...rows.map(line)].join('\n')
}

/** A hidden marker (an HTML comment) that cannot be closed early by its content. */
export function hiddenMarker(id: string): string {
  let text = oneLine(id).replace(/[<>]/g, '')
  while (text.includes('--')) text = text.replace(/--/g, '- -')
  return `<!-- ${text} -->`
}

/** A heading at `level` (1-6) with escaped text. */
export function heading(level: number, text: string): string {
  const n = Math.min(6, Math.max(1, Math.trunc(level) || 1))
  return `${'#'.repeat(n)} ${escapeMarkdown(text)}`
}

/**
 * Cuts Markdown or plain text to at most `max` characters at a line boundary when possible,
 * ending with `marker` (which counts toward `max`). Never splits a surrogate pair.
 */
export function truncateText(text: string, max: number, marker = '…'): string {
  if (text.length <= max) return text
  if (max <= marker.length) return marker.slice(0, Math.max(0, max))
  let cut = max - marker.length
  const nl = text.lastIndexOf('\n', cut)
  if (nl > cut / 2) cut = nl + 1
  // Do not leave half of a surrogate pair.
  const code = text.charCodeAt(cut - 1)
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1
  return text.slice(0, cut) + marker
}
