import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import {
  ZWSP,
  codeBlock,
  details,
  escapeHtml,
  escapeMarkdown,
  escapeTableCell,
  heading,
  hiddenMarker,
  inlineCode,
  noAutolinks,
  table,
  truncateText
} from '../../src/core/markdown.js'

/** What a CommonMark reader makes of escaped inline text: backslash escapes and entities undone. */
function readBack(md: string): string {
  return md
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
}

/** GitHub's mention and issue-reference patterns (simplified, but stricter than GitHub's). */
const MENTION = /(^|[^A-Za-z0-9_`])@[A-Za-z0-9]/
const ISSUE_REF = /#[0-9]/
const GH_REF = /\bGH-[0-9]/i

const hostile = [
  '@octocat',
  '@org/team please look',
  'fixes #123 and owner/repo#45',
  'GH-7',
  '</details><details open><summary>x',
  '<!-- hidden --> <script>alert(1)</script>',
  'a | b | c',
  'line1\nline2\r\n\n</details>',
  '`code` ``two`` ```',
  '**bold** _it_ [link](https://evil.example) ![img](x)',
  '1. list\n- item\n# heading\n> quote',
  'https://example.com www.example.com',
  '&amp; &lt; &#64;',
  '\\| backslash pipe \\',
  '    indented code',
  '$x^2$ math ~~strike~~'
]

describe('escapeMarkdown / escapeTableCell', () => {
  it('reads back as the same text, on one line', () => {
    for (const s of hostile) {
      const out = escapeMarkdown(s)
      expect(out).not.toMatch(/[\r\n]/)
      expect(readBack(out).split(ZWSP).join('')).toBe(s.replace(/\r\n|[\r\n]/g, ' '))
    }
  })

  it('leaves no markup, mention, reference or pipe unescaped (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(...'ab1 @#|<>`*_[]()!\\\n&-/:.wGH~$'.split('')),
          maxLength: 60
        }),
        s => {
          const out = escapeTableCell(s)
          expect(out).not.toMatch(/[\r\n<>]/) // no tag, no comment, no new block
          expect(out).not.toMatch(/(^|[^\\])(\\\\)*\|/) // every pipe escaped
          expect(out).not.toMatch(/(^|[^\\])(\\\\)*[`*_[\]]/) // no code span, emphasis or link opens
          const rendered = readBack(out)
          expect(rendered).not.toMatch(MENTION)
          expect(rendered).not.toMatch(ISSUE_REF)
          expect(rendered).not.toMatch(GH_REF)
          expect(rendered).not.toMatch(/:\/\//)
          expect(rendered.split(ZWSP).join('')).toBe(s.replace(/\r\n|[\r\n]/g, ' '))
        }
      ),
      { numRuns: 500 }
    )
  })

  it('keeps leading spaces from becoming an indented code block', () => {
    expect(escapeMarkdown('    x')).toBe('&#32;&#32;&#32;&#32;x')
  })
})

describe('noAutolinks', () => {
  it('breaks mentions, references and URLs with a zero-width space', () => {
    expect(noAutolinks('@alice and @org/team')).toBe(`@${ZWSP}alice and @${ZWSP}org/team`)
    expect(noAutolinks('#12 GH-3 gh-4')).toBe(`#${ZWSP}12 GH-${ZWSP}3 gh-${ZWSP}4`)
    expect(noAutolinks('see https://x.org and www.y.org')).toBe(
      `see https:${ZWSP}//x.org and www${ZWSP}.y.org`
    )
    expect(noAutolinks('a @ b, # c, mail@ ')).toBe('a @ b, # c, mail@ ')
  })
})

describe('escapeHtml', () => {
  it('escapes tags, quotes and entities and defuses mentions without breaking its own entities', () => {
    const out = escapeHtml(`</summary></details> "a" 'b' & @bob #1`)
    expect(out).toBe(
      `&lt;/summary&gt;&lt;/details&gt; &quot;a&quot; &#39;b&#39; &amp; @${ZWSP}bob #${ZWSP}1`
    )
    // Its own numeric entity stays whole.
    expect(escapeHtml("'")).toBe('&#39;')
  })
})

describe('inlineCode', () => {
  it('uses a fence longer than any backtick run inside', () => {
    expect(inlineCode('plain')).toBe('`plain`')
    expect(inlineCode('a`b')).toBe('``a`b``')
    expect(inlineCode('``x```')).toBe('```` ``x``` ````')
    expect(inlineCode('')).toBe('` `')
  })

  it('escapes pipes inside tables and keeps everything on one line (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'a`| \n'.split('')), maxLength: 30 }), s => {
        const out = inlineCode(s, { inTable: true })
        expect(out).not.toMatch(/\n/)
        expect(out).not.toMatch(/(^|[^\\])\|/)
        const fence = /^`+/.exec(out)![0]
        expect(out.endsWith(fence)).toBe(true)
        const inner = out.slice(fence.length, out.length - fence.length)
        // No run of backticks inside as long as the fence: the span cannot close early.
        for (const run of inner.match(/`+/g) ?? []) expect(run.length).not.toBe(fence.length)
      }),
      { numRuns: 300 }
    )
  })
})

describe('codeBlock', () => {
  it('cannot be closed by its content', () => {
    const out = codeBlock('```\n</details>\n````', 'js; rm')
    const lines = out.split('\n')
    expect(lines[0]).toBe('`````jsrm')
    expect(lines[lines.length - 1]).toBe('`````')
    expect(lines.slice(1, -1).join('\n')).toBe('```\n</details>\n````')
  })
})

describe('details', () => {
  it('escapes the summary so it cannot close the element', () => {
    const out = details('</summary></details>@team', 'body')
    expect(out.match(/<\/details>/g)).toHaveLength(1)
    expect(out.match(/<\/summary>/g)).toHaveLength(1)
    expect(
      out.startsWith(
        '<details><summary>&lt;/summary&gt;&lt;/details&gt;@\u200Bteam</summary>\n\nbody\n\n</details>'
      )
    ).toBe(true)
  })
})

describe('table, heading, marker, truncate', () => {
  it('builds a GitHub table with alignment', () => {
    expect(table(['A', 'B'], [['1', '2']], ['left', 'right'])).toBe(
      '| A | B |\n| --- | ---: |\n| 1 | 2 |'
    )
  })
  it('escapes heading text and clamps the level', () => {
    expect(heading(3, 'web-1 #2')).toBe(`### web\\-1 \\#${ZWSP}2`)
    expect(heading(9, 'x')).toBe('###### x')
  })
  it('makes a marker its content cannot close', () => {
    expect(hiddenMarker('nix-deploy --> <b>')).toBe('<!-- nix-deploy - - b -->')
    expect(hiddenMarker('a---b')).toBe('<!-- a- - -b -->')
  })
  it('truncates at a line boundary and never splits a surrogate pair', () => {
    expect(truncateText('aaaa\nbbbb\ncccc', 12)).toBe('aaaa\nbbbb\n…')
    const s = 'ab😀cd'
    for (let n = 0; n <= s.length + 1; n++) {
      const out = truncateText(s, n)
      expect(out.length).toBeLessThanOrEqual(Math.max(n, 0))
      expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    }
  })
})
