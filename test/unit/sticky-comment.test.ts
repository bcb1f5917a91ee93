/**
 * The sticky comment's format: parse, merge, render, and the 65,536-character budget.
 */
import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import { ActionError } from '../../src/core/errors.js'
import {
  codeBlock,
  escapeMarkdown,
  escapeTableCell,
  inlineCode,
  table,
  ZWSP
} from '../../src/core/markdown.js'
import {
  COMMENT_MAX_CHARS,
  commentMarker,
  fitComment,
  isStickyComment,
  markStale,
  mergeSection,
  mergeSections,
  parseComment,
  renderComment,
  renderSummary,
  sanitizeStoredMarkdown,
  type HostSection
} from '../../src/core/sticky-comment.js'

const SUMMARY_URL = 'https://github.com/octo/fleet/actions/runs/42'

function section(host: string, over: Partial<HostSection> = {}): HostSection {
  return {
    host,
    kind: 'diff',
    changed: true,
    summary: `${host}: 2 added, 1 removed, +1.2 MiB`,
    levels: {
      full: `full detail of ${escapeMarkdown(host)}`,
      selected: `selected detail of ${escapeMarkdown(host)}`,
      summary: `summary of ${escapeMarkdown(host)}`
    },
    updatedAt: '2025-01-01T00:00:00.000Z',
    runUrl: 'https://github.com/octo/fleet/actions/runs/42/job/7',
    ...over
  }
}

/** A package table like a closure diff's, `rows` rows of distinct packages. */
function packageTable(host: string, rows: number, seed = 0): string {
  const body: string[][] = []
  for (let i = 0; i < rows; i++) {
    const name = `${host}-pkg-${seed}-${i}-${(i * 7919 + seed).toString(36)}`
    body.push([
      escapeTableCell(name),
      'upgraded',
      inlineCode(`1.${i}.${seed}`, { inTable: true }),
      inlineCode(`1.${i + 1}.0`, { inTable: true }),
      `+${i} KiB`
    ])
  }
  return table(['Package', 'Change', 'Before', 'After', 'Size'], body)
}

/** A big section: the full level is `fullRows` rows, selected a tenth, summary one paragraph. */
function bigSection(host: string, fullRows: number, changed = true): HostSection {
  return section(host, {
    changed,
    summary: changed ? `${fullRows} packages change` : 'unchanged',
    levels: {
      full: packageTable(host, fullRows),
      selected: packageTable(host, Math.ceil(fullRows / 10), 1),
      summary: `${fullRows} packages change, +${fullRows} KiB`
    }
  })
}

/** Hosts a body shows: in a `<summary>` or as a bold list item (escaped as rendered). */
function shownHosts(body: string): string[] {
  const shown: string[] = []
  for (const m of body.matchAll(/<summary>(.*?) · /g)) shown.push(m[1])
  for (const m of body.matchAll(/^- \*\*(.*?)\*\* · /gm)) shown.push(m[1].replace(/\\(.)/g, '$1'))
  return shown
}

describe('parseComment / renderComment', () => {
  it('round-trips sections exactly and orders them by host (numerically), then kind', () => {
    const sections = [
      section('web10'),
      section('web2', { kind: 'dry-activate', changed: false, runUrl: undefined }),
      section('web2'),
      section('db1', { changed: false })
    ]
    const body = renderComment(sections, { summaryUrl: SUMMARY_URL })
    const parsed = parseComment(body)
    expect(parsed).not.toBeNull()
    expect(parsed!.sections.map(s => `${s.host}/${s.kind}`)).toEqual([
      'db1/diff',
      'web2/diff',
      'web2/dry-activate',
      'web10/diff'
    ])
    for (const s of sections) expect(parsed!.sections).toContainEqual(s)
    expect(shownHosts(body)).toEqual(['db1', 'web2', 'web2', 'web10'])
    // web2 changes through its diff: 2 of 3 hosts change.
    expect(body).toContain('**2 of 3 hosts change.**')
    expect(body.startsWith(`${commentMarker()}\n`)).toBe(true)
    // Nothing was collapsed: no note.
    expect(body).not.toContain('[!NOTE]')
  })

  it('says when nothing has reported, and the singular', () => {
    expect(renderComment([])).toContain('No host has reported yet')
    expect(parseComment(renderComment([]))).toEqual({ sections: [] })
    expect(renderComment([section('a')])).toContain('**1 of 1 host changes.**')
  })

  it('is null for bodies without the marker, and keeps id variants apart', () => {
    expect(parseComment('just a comment')).toBeNull()
    expect(parseComment(null)).toBeNull()
    expect(parseComment(`text first\n${commentMarker()}`)).toBeNull()
    const other = renderComment([section('a')], { id: 'nightly' })
    expect(other.startsWith('<!-- nix-deploy-action:sticky-comment:nightly -->')).toBe(true)
    expect(parseComment(other)).toBeNull()
    expect(parseComment(other, { id: 'nightly' })!.sections).toEqual([section('a')])
    expect(parseComment(renderComment([section('a')]), { id: 'nightly' })).toBeNull()
    expect(isStickyComment(other, 'nightly')).toBe(true)
    expect(isStickyComment(other)).toBe(false)
  })

  it('refuses an id that could break the marker', () => {
    expect(() => commentMarker('a --> b')).toThrow(ActionError)
    expect(() => commentMarker('a--b')).toThrow(ActionError)
    expect(() => commentMarker('x'.repeat(65))).toThrow(ActionError)
  })

  it('skips a damaged section and keeps the others, never throwing', () => {
    const body = renderComment([section('a'), section('b'), section('c')])
    const lines = body.split('\n')
    const dataLines = lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.startsWith('<!-- nix-deploy:section'))
    expect(dataLines).toHaveLength(3)
    // Damage b's data: flip characters in the middle of its base64.
    const [line, index] = dataLines[1]
    const mid = Math.floor(line.length / 2)
    lines[index] = line.slice(0, mid) + (line[mid] === 'A' ? 'B' : 'A') + 'zz' + line.slice(mid + 3)
    const parsed = parseComment(lines.join('\n'))!
    expect(parsed.sections.map(s => s.host)).toEqual(['a', 'c'])
    // A line that is not base64 at all, valid base64 of garbage, valid deflate of non-JSON.
    const garbage = [
      '<!-- nix-deploy:section v1 not*base64 -->',
      `<!-- nix-deploy:section v1 ${randomBytes(60).toString('base64')} -->`,
      '<!-- nix-deploy:section v1 -->',
      `<!-- nix-deploy:section v1 ${deflateRawSync(Buffer.from('not json')).toString('base64')} -->`,
      `<!-- nix-deploy:section v1 ${deflateRawSync(Buffer.from('{"v":1,"host":5}')).toString('base64')} -->`
    ]
    expect(parseComment(`${body}${garbage.join('\n')}\n`)!.sections.map(s => s.host)).toEqual([
      'a',
      'b',
      'c'
    ])
  })

  it('never throws on arbitrary edits of a body', () => {
    const body = renderComment([section('a'), section('b')])
    fc.assert(
      fc.property(
        fc.nat(body.length),
        fc.nat(200),
        fc.string({ unit: 'binary', maxLength: 50 }),
        (at, cut, insert) => {
          const edited = body.slice(0, at) + insert + body.slice(Math.min(body.length, at + cut))
          const parsed = parseComment(edited)
          if (parsed) for (const s of parsed.sections) expect(typeof s.host).toBe('string')
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe('hostile content', () => {
  const evil =
    '</details><!-- @admin --> </summary> | `x` #1 GH-2 https://evil.example *b* [l](u) \n# h'

  it('cannot break the Markdown, mention anyone, or forge sections, and round-trips exactly', () => {
    const forgedLine = `<!-- nix-deploy:section v1 ${Buffer.from('{"v":1}').toString('base64')} -->`
    const producerLevels = (name: string) => ({
      // What a producer writes: escaped names in a table, raw text only inside a code block.
      full: `${table(['Package', 'Version'], [[escapeTableCell(name), escapeTableCell(`1.0-${name}`)]])}\n\n${codeBlock(
        `${name}\n<!-- nix-deploy-action:data -->\n${forgedLine}\n${commentMarker()}`
      )}`,
      selected: escapeMarkdown(name),
      summary: escapeMarkdown(name)
    })
    const sections: HostSection[] = [
      section(`web${evil}`, { kind: `diff${evil}`, summary: evil, levels: producerLevels(evil) }),
      section('@admin', {
        changed: false,
        summary: '@org/team please look',
        levels: producerLevels('@org/team')
      })
    ]
    const body = renderComment(sections, { summaryUrl: SUMMARY_URL, title: `Preview ${evil}` })
    const parsed = parseComment(body)!
    expect(parsed.sections).toHaveLength(2)
    for (const s of sections) expect(parsed.sections).toContainEqual(s)

    // Outside code blocks: every <details> we opened is closed by us, no stray HTML comment, no mention.
    const outsideCode = body.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '')
    expect(outsideCode.match(/<details/g)?.length).toBe(2)
    expect(outsideCode.match(/<\/details>/g)?.length).toBe(2)
    expect(outsideCode.match(/<\/summary>/g)?.length).toBe(2)
    const comments = outsideCode.match(/<!--/g)?.length
    expect(comments).toBe(1 /* marker */ + 1 /* data delimiter */ + 2 /* sections */)
    expect(outsideCode).not.toMatch(/@(?!\u200B)[A-Za-z]/)
    expect(outsideCode).not.toMatch(/#(?!\u200B)[0-9]/)
    expect(outsideCode).not.toMatch(/https:\/\/evil/)
    expect(body).toContain(`@${ZWSP}admin`)
    // The title is escaped too, and stays on one line.
    expect(body.split('\n')[2].startsWith('### Preview ')).toBe(true)
  })

  it('ignores links that are not http(s)', () => {
    const body = renderComment([section('a', { runUrl: 'javascript:alert(1)' })], {
      summaryUrl: 'javascript:alert(2)',
      maxChars: 1500
    })
    expect(body).not.toContain('javascript:')
  })
})

describe('mergeSection', () => {
  it('adds, replaces the same host and kind, and keeps the newer of two versions', () => {
    const a1 = section('a', { updatedAt: '2025-01-01T00:00:00Z', summary: 'old' })
    const a2 = section('a', { updatedAt: '2025-01-02T00:00:00Z', summary: 'new' })
    const b = section('b')
    const aDry = section('a', { kind: 'dry-activate' })
    let list = mergeSection([], b)
    list = mergeSection(list, a1)
    list = mergeSection(list, aDry)
    expect(list.map(s => `${s.host}/${s.kind}`)).toEqual(['a/diff', 'a/dry-activate', 'b/diff'])
    expect(mergeSection(list, a2).find(s => s.host === 'a' && s.kind === 'diff')!.summary).toBe(
      'new'
    )
    // A stale writer cannot replace a newer version.
    expect(
      mergeSection(mergeSection(list, a2), a1).find(s => s.host === 'a' && s.kind === 'diff')!
        .summary
    ).toBe('new')
    expect(mergeSections([a2, b], [a1, aDry])).toHaveLength(3)
  })
})

describe('stale sections (a later push that does not rebuild a host)', () => {
  const A = 'a'.repeat(40)
  const B = 'b'.repeat(40)
  const at = (t: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString()

  it('marks older sections built for another commit, and only those', () => {
    const old = section('beta', { headSha: A, updatedAt: at(1) })
    const unknown = section('gamma', { updatedAt: at(1) }) // a writer that did not record a commit
    const later = section('delta', { headSha: A, updatedAt: at(9) }) // newer than the writer
    const mine = section('alpha', { headSha: B, updatedAt: at(5) })
    const out = markStale([old, unknown, later, mine], mine)
    expect(out.map(s => [s.host, s.staleAt])).toEqual([
      ['beta', B],
      ['gamma', undefined],
      ['delta', undefined],
      ['alpha', undefined]
    ])
    // A writer without a commit marks nothing.
    expect(markStale([old], { ...mine, headSha: undefined })).toEqual([old])
  })

  it('renders a stale section collapsed with both commits, and keeps the marks through a round trip', () => {
    const body = renderComment(
      markStale(
        [
          section('beta', { headSha: A, updatedAt: at(1) }),
          section('alpha', { headSha: B, updatedAt: at(5) })
        ],
        section('alpha', { headSha: B, updatedAt: at(5) })
      )
    )
    expect(body).toContain('<details><summary>[stale] beta · diff')
    expect(body).toContain('<details open><summary>alpha · diff')
    expect(body).toContain(
      `*Not rebuilt at \`${B.slice(0, 12)}\`: this host is unchanged by the latest push. It was built for \`${A.slice(0, 12)}\`.*`
    )
    expect(body).toContain('**2 of 2 hosts change.** 1 of them is from an earlier push')
    const back = parseComment(body, { now: Date.UTC(2026, 0, 2) })!.sections
    expect(back.map(s => [s.host, s.headSha, s.staleAt])).toEqual([
      ['alpha', B, undefined],
      ['beta', A, B]
    ])
    // Written again for the new commit: the mark goes (the new section replaces the old).
    const again = mergeSections(back, [section('beta', { headSha: B, updatedAt: at(7) })])
    expect(renderComment(again)).not.toContain('stale')
  })

  it('reads commits as data: anything but a hex commit name is dropped', () => {
    const forged = {
      v: 1,
      host: 'web1',
      kind: 'diff',
      changed: true,
      summary: 's',
      updatedAt: at(1),
      levels: { full: 'f', selected: 's', summary: 's' },
      headSha: '`x` [link](https://evil.example) @someone',
      staleAt: 'abc</details><img src=x>'
    }
    const body = `${commentMarker()}\n\n<!-- nix-deploy-action:data -->\n<!-- nix-deploy:section v1 ${deflateRawSync(Buffer.from(JSON.stringify(forged))).toString('base64')} -->\n`
    const [s] = parseComment(body, { now: Date.UTC(2026, 0, 2) })!.sections
    expect(s.host).toBe('web1')
    expect(s.headSha).toBeUndefined()
    expect(s.staleAt).toBeUndefined()
    expect(renderComment([s])).not.toMatch(/evil|someone|<img/)
  })
})

describe('the budget', () => {
  it('fits 40 hosts with huge sections under 65,536 characters, every host named, the summary linked', () => {
    const sections = Array.from({ length: 40 }, (_, i) =>
      bigSection(`host-${String(i).padStart(2, '0')}`, 400 + i * 20, i % 3 !== 0)
    )
    expect(sections.reduce((n, s) => n + s.levels.full.length, 0)).toBeGreaterThan(1_000_000)
    const fitted = fitComment(sections, { summaryUrl: SUMMARY_URL })
    expect(fitted.body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    expect([...fitted.body].length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    expect(fitted.collapsed).toBe(true)
    expect(fitted.hidden).toEqual([])
    expect(fitted.dropped).toEqual([])
    expect(new Set(shownHosts(fitted.body))).toEqual(new Set(sections.map(s => s.host)))
    expect(fitted.body).toContain(`[job summary](${SUMMARY_URL})`)
    // Every section is still in the data, reduced where the comment shows less.
    const parsed = parseComment(fitted.body)!
    expect(parsed.sections.map(s => s.host)).toEqual(sections.map(s => s.host))
    for (const s of parsed.sections) {
      expect(s.reducedTo).toBeDefined()
      const original = sections.find(o => o.host === s.host)!
      expect({ ...s, levels: undefined, reducedTo: undefined }).toEqual({
        ...original,
        levels: undefined
      })
    }
  })

  it('collapses the least important detail first: unchanged hosts go to one line before changed hosts lose their selection', () => {
    // 5 changed hosts fit at `selected`, 20 unchanged ones at `selected` too would not.
    const changed = Array.from({ length: 5 }, (_, i) => bigSection(`c${i}`, 600))
    const unchanged = Array.from({ length: 20 }, (_, i) => bigSection(`u${i}`, 600, false))
    const fitted = fitComment([...changed, ...unchanged], { summaryUrl: SUMMARY_URL })
    expect(fitted.body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    for (const c of changed) {
      expect(fitted.body).toContain(`<details open><summary>${c.host} · diff`)
      expect(fitted.body).toContain(c.levels.selected)
      expect(fitted.body).not.toContain(c.levels.full)
    }
    // Only as many unchanged hosts as needed went to one line (largest first; here all one size).
    const line = (host: string) => new RegExp(`^- \\*\\*${host}\\*\\* · diff: unchanged`, 'm')
    const asLine = unchanged.filter(u => line(u.host).test(fitted.body))
    expect(asLine.length).toBeGreaterThan(10)
    for (const u of unchanged.filter(x => !asLine.includes(x)))
      expect(fitted.body).toContain(`<details><summary>${u.host} · diff`)
    const parsed = parseComment(fitted.body)!
    expect(parsed.sections.filter(s => s.changed).every(s => s.reducedTo === 'selected')).toBe(true)
    expect(
      parsed.sections
        .filter(s => !s.changed)
        .map(s => s.reducedTo)
        .sort()
    ).toEqual(unchanged.map(u => (asLine.includes(u) ? 'summary' : 'selected')).sort())
  })

  it('shrinks the largest section first and leaves small ones whole', () => {
    const small = section('small')
    const fitted = fitComment([small, bigSection('big', 3000)], { summaryUrl: SUMMARY_URL })
    const parsed = parseComment(fitted.body)!
    expect(parsed.sections.find(s => s.host === 'small')).toEqual(small)
    expect(parsed.sections.find(s => s.host === 'big')!.reducedTo).toBe('selected')
  })

  it('keeps a collapsed section collapsed when re-rendered (its full level is gone), and says so', () => {
    const first = parseComment(fitComment([bigSection('big', 3000)]).body)!.sections[0]
    expect(first.reducedTo).toBe('selected')
    expect(first.levels.full).toBe(first.levels.selected)
    const again = renderComment([first])
    expect(again).toContain('[!NOTE]')
    expect(again).toContain('job summaries of this workflow run')
    expect(parseComment(again)!.sections[0]).toEqual(first)
  })

  it('truncates the list with a note, and then drops data, when there are too many sections even for one line each', () => {
    // Incompressible summaries: 600 sections cannot all be kept in 65,536 characters.
    const sections = Array.from({ length: 600 }, (_, i) =>
      section(`h${i}`, {
        changed: i % 2 === 0,
        summary: randomBytes(150).toString('base64'),
        levels: { full: 'f', selected: 's', summary: 'u' }
      })
    )
    const fitted = fitComment(sections, { summaryUrl: SUMMARY_URL })
    expect(fitted.body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    expect(fitted.hidden.length).toBeGreaterThan(0)
    expect(fitted.dropped.length).toBeGreaterThan(0)
    expect(fitted.body).toMatch(
      new RegExp(`…and ${fitted.hidden.length} more sections: see the \\[job summary\\]`)
    )
    // Unchanged sections go first.
    const dropped = new Set(fitted.dropped)
    const droppedChanged = sections.filter(
      s => s.changed && dropped.has(`${s.host}\u0000${s.kind}`)
    ).length
    const keptUnchanged = sections.filter(
      s => !s.changed && !dropped.has(`${s.host}\u0000${s.kind}`)
    ).length
    expect(droppedChanged === 0 || keptUnchanged === 0).toBe(true)
    expect(parseComment(fitted.body)!.sections).toHaveLength(600 - fitted.dropped.length)
  })

  it('shows every one of 300 changed hosts of a fleet (their line data shares one compressed line), and reads them all back', () => {
    // Realistic: each diff's summary, a job of the same run, written within the same minutes.
    const sections = Array.from({ length: 300 }, (_, i) =>
      bigSection(`web-${String(i).padStart(3, '0')}.eu-central.example.org`, 40 + (i % 7))
    ).map((s, i) => ({
      ...s,
      summary: `${1 + (i % 5)} upgraded, ${i % 3} added, +${(i % 17) * 1.3} KiB${i % 4 ? '' : ', reboot required'}`,
      updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      runUrl: `https://github.com/octo/fleet/actions/runs/4242/job/${1000 + i}`
    }))
    const fitted = fitComment(sections, { summaryUrl: SUMMARY_URL })
    expect(fitted.body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
    expect({ hidden: fitted.hidden, dropped: fitted.dropped }).toEqual({ hidden: [], dropped: [] })
    expect(shownHosts(fitted.body).sort()).toEqual(sections.map(s => s.host).sort())
    const back = parseComment(fitted.body)!.sections
    expect(back).toHaveLength(300)
    for (const b of back) {
      const s = sections.find(x => x.host === b.host)!
      expect({
        summary: b.summary,
        updatedAt: b.updatedAt,
        runUrl: b.runUrl,
        changed: b.changed
      }).toEqual({
        summary: s.summary,
        updatedAt: s.updatedAt,
        runUrl: s.runUrl,
        changed: true
      })
    }
  })

  it('skips a damaged or hostile bundle line without throwing, keeping the other sections', () => {
    const kept = renderComment([section('a')])
    const pack = (v: unknown) => deflateRawSync(Buffer.from(JSON.stringify(v))).toString('base64')
    const future = {
      ...section('b'),
      v: 1,
      updatedAt: '2999-01-01T00:00:00.000Z',
      reducedTo: 'line'
    }
    const valid = {
      v: 1,
      host: 'c',
      kind: 'diff',
      changed: true,
      summary: 's',
      updatedAt: '2025-01-01T00:00:00.000Z',
      reducedTo: 'line'
    }
    for (const line of [
      '<!-- nix-deploy:sections v1 !!!notbase64 -->',
      `<!-- nix-deploy:sections v1 ${pack({ not: 'an array' })} -->`,
      `<!-- nix-deploy:sections v1 ${pack([future, 42, null, valid])} -->`
    ]) {
      const parsed = parseComment(`${kept.trimEnd()}\n${line}\n`)!
      expect(parsed.sections.map(x => x.host).sort()).toEqual(
        line.includes('notbase64') || line.includes(pack({ not: 'an array' })) ? ['a'] : ['a', 'c']
      )
    }
  })

  it('honours a small maxChars and the job summary cap in bytes', () => {
    const sections = Array.from({ length: 6 }, (_, i) => bigSection(`h${i}`, 50))
    for (const max of [1500, 3000, 10_000])
      expect(renderComment(sections, { maxChars: max }).length).toBeLessThanOrEqual(max)
    // Multi-byte content: measured in UTF-8 bytes for the summary.
    const wide = Array.from({ length: 30 }, (_, i) =>
      section(`ü${i}`, {
        levels: { full: 'ü'.repeat(60_000), selected: 'ü'.repeat(5000), summary: 'ü' }
      })
    )
    const summary = renderSummary(wide, { maxBytes: 200_000 })
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(200_000)
    expect(summary).not.toContain('nix-deploy:section')
    expect(summary).toContain('[!NOTE]')
    expect(Buffer.byteLength(renderSummary(wide))).toBeLessThanOrEqual(1024 * 1024)
  })

  it('throws an ActionError when even the heading cannot fit', () => {
    expect(() => renderComment([section('a')], { maxChars: 50 })).toThrow(ActionError)
  })
})

describe('properties', () => {
  const text = (max: number) =>
    fc.oneof(
      fc.string({ maxLength: max }),
      fc.string({ unit: 'binary', maxLength: max }),
      fc.string({
        unit: fc.constantFrom('<', '>', '-', '!', '@', '`', '|', '\n', '#', '&', 'a', '\u2028'),
        maxLength: max
      })
    )
  const arbSection = (maxLevel: number) =>
    fc.record(
      {
        host: text(20),
        kind: fc.constantFrom('diff', 'dry-activate', 'deploy'),
        changed: fc.boolean(),
        summary: text(80),
        // What a producer stores is safe Markdown: random text, made safe as a reader would.
        levels: fc.record({
          full: text(maxLevel).map(sanitizeStoredMarkdown),
          selected: text(maxLevel / 4).map(sanitizeStoredMarkdown),
          summary: text(100).map(sanitizeStoredMarkdown)
        }),
        // Never in the future (a reader refuses those).
        updatedAt: fc
          .date({ min: new Date(0), max: new Date(), noInvalidDate: true })
          .map(d => d.toISOString()),
        runUrl: fc.option(
          fc
            .tuple(fc.nat(), fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }))
            .map(
              ([id, attempt]) =>
                `https://github.com/octo/fleet/actions/runs/${id}${attempt ? `/attempts/${attempt}` : ''}`
            ),
          { nil: undefined }
        )
      },
      { requiredKeys: ['host', 'kind', 'changed', 'summary', 'levels', 'updatedAt'] }
    )

  it('making stored Markdown safe is idempotent: what a producer wrote reads back unchanged', () => {
    fc.assert(
      fc.property(text(2000), md => {
        const once = sanitizeStoredMarkdown(md)
        expect(sanitizeStoredMarkdown(once)).toBe(once)
      }),
      { numRuns: 300 }
    )
  })

  it('random sections round-trip exactly when they fit', () => {
    fc.assert(
      fc.property(fc.array(arbSection(300), { maxLength: 12 }), sections => {
        const body = renderComment(sections)
        expect(body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
        const expected = mergeSections(sections)
        expect(parseComment(body)!.sections).toEqual(expected)
      }),
      { numRuns: 150 }
    )
  })

  it('random sections always fit, and what is kept is the section or a reduction of it', () => {
    fc.assert(
      fc.property(
        fc.array(arbSection(20_000), { maxLength: 30 }),
        fc.integer({ min: 2000, max: COMMENT_MAX_CHARS }),
        (sections, maxChars) => {
          const fitted = fitComment(sections, { maxChars, summaryUrl: SUMMARY_URL })
          expect(fitted.body.length).toBeLessThanOrEqual(maxChars)
          const expected = mergeSections(sections)
          const parsed = parseComment(fitted.body)!.sections
          expect(parsed.length).toBe(expected.length - fitted.dropped.length)
          for (const s of parsed) {
            const original = expected.find(o => o.host === s.host && o.kind === s.kind)!
            if (s.reducedTo === undefined) expect(s).toEqual(original)
            else {
              expect([s.changed, s.updatedAt, s.runUrl]).toEqual([
                original.changed,
                original.updatedAt,
                original.runUrl
              ])
              if (s.reducedTo !== 'line') expect(s.levels.summary).toBe(original.levels.summary)
              if (s.reducedTo === 'selected')
                expect(s.levels.selected).toBe(original.levels.selected)
            }
          }
          if (fitted.collapsed) expect(fitted.body).toContain(`[job summary](${SUMMARY_URL})`)
        }
      ),
      { numRuns: 60 }
    )
  })
})
