import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PathInfo } from '../../src/core/closure.js'
import {
  diffClosures,
  selectedPackages,
  type ClosureDiff,
  type PackageChange
} from '../../src/core/diff.js'
import {
  DIFF_SCHEMA_VERSION,
  renderMarkdown,
  renderText,
  toJson,
  toJsonObject
} from '../../src/core/render-diff.js'

const here = dirname(fileURLToPath(import.meta.url))

let n = 0
const path = (name: string) =>
  `/nix/store/${(++n)
    .toString(36)
    .padStart(32, '0')
    .replace(/[eotu]/g, 'a')}-${name}`
const info = (p: string, narSize: number, references: string[] = []): PathInfo => ({
  path: p,
  narSize,
  references
})

/** A system with `deps` dependencies that change version and `rebuilt` that only change size. */
function system(opts: { deps: number; rebuilt: number; host?: string }): ClosureDiff {
  const b: PathInfo[] = []
  const a: PathInfo[] = []
  const ffA = path('firefox-120.0')
  const ffB = path('firefox-121.0')
  const vimA = path('vim-9.0.2')
  const htop = path('htop-3.2.2')
  const swA = path('system-path')
  const swB = path('system-path')
  const kA = path('linux-6.1.55')
  const kB = path('linux-6.1.60')
  const topA = path('nixos-system-web1-24.05.1')
  const topB = path('nixos-system-web1-24.05.2')
  b.push(
    info(topA, 100, [swA, kA]),
    info(swA, 100, [ffA, vimA]),
    info(ffA, 80_000_000),
    info(vimA, 3_000_000),
    info(kA, 40_000_000)
  )
  a.push(
    info(topB, 100, [swB, kB]),
    info(swB, 100, [ffB, htop]),
    info(ffB, 82_000_000),
    info(htop, 400_000),
    info(kB, 41_000_000)
  )
  for (let i = 0; i < opts.deps; i++) {
    b.push(info(path(`lib${i}-1.${i}`), 10_000 + i))
    a.push(info(path(`lib${i}-1.${i + 1}`), 10_500 + i))
  }
  for (let i = 0; i < opts.rebuilt; i++) {
    b.push(info(path(`data${i}-2.0`), 5_000))
    a.push(info(path(`data${i}-2.0`), 5_100))
  }
  return diffClosures(b, a, {
    beforePath: topA,
    afterPath: topB,
    host: opts.host ?? 'web1',
    selected: { before: selectedPackages(topA, b), after: selectedPackages(topB, a) }
  })
}

/** Cells of a Markdown table row: split at pipes that are not escaped. */
function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map(c => c.trim())
}

function tableRows(md: string): string[] {
  return md.split('\n').filter(l => l.startsWith('|'))
}

describe('renderMarkdown', () => {
  const d = system({ deps: 3, rebuilt: 2 })

  it('renders a host section: heading, summary, system packages, reboot note, dependencies, totals', () => {
    const md = renderMarkdown(d)
    const lines = md.split('\n')
    expect(lines[0]).toBe('### web1')
    expect(lines[2]).toBe(`**${d.summary.replace(/[-+.]/g, m => `\\${m}`)}**`)
    expect(md).toContain('| firefox | upgraded | `120.0` | `121.0` | +1.9 MiB |')
    expect(md).toContain('| htop | added | — | `3.2.2` | +390.6 KiB |')
    expect(md).toContain('| vim | removed | `9.0.2` | — | -2.9 MiB |')
    expect(md).toContain('**Reboot required:** linux 6\\.1\\.55 → 6\\.1\\.60.')
    expect(md).toContain('<details><summary>Dependencies: 5 upgraded, 2 rebuilt</summary>')
    expect(md).toContain('| lib0 | upgraded | `1.0` | `1.1` | +500 B |')
    expect(md).toContain('| data1 | rebuilt | `2.0` | `2.0` | +100 B |')
    expect(md).toMatch(
      /\nClosure: 10 → 10 paths \(\+0\), .+ → .+ \(\+.+\)\. `nixos-system-web1-24\.05\.1` → `nixos-system-web1-24\.05\.2`\n$/
    )
    // The system packages come before the details; every table row has five cells.
    expect(md.indexOf('firefox')).toBeLessThan(md.indexOf('<details>'))
    for (const row of tableRows(md)) expect(cells(row)).toHaveLength(5)
  })

  it('lets the caller pick the heading level and title', () => {
    expect(renderMarkdown(d, { headingLevel: 2 }).startsWith('## web1\n')).toBe(true)
    expect(renderMarkdown(d, { headingLevel: 0 }).startsWith('**')).toBe(true)
    expect(
      renderMarkdown(d, { title: 'web1 (x86_64-linux)' }).startsWith(
        '### web1 \\(x86\\_64\\-linux\\)\n'
      )
    ).toBe(true)
  })

  it('renders less detail when asked', () => {
    const selected = renderMarkdown(d, { detail: 'selected' })
    expect(selected).toContain('| firefox |')
    expect(selected).not.toContain('<details>')
    expect(selected).toContain('Dependencies: 5 upgraded, 2 rebuilt (listed in the job summary).')
    const summary = renderMarkdown(d, { detail: 'summary' })
    expect(summary).not.toContain('|')
    expect(summary).toContain('Reboot required')
  })

  it('escapes everything that came from outside', () => {
    const hostile: ClosureDiff = JSON.parse(JSON.stringify(d)) as ClosureDiff
    hostile.host = '@org/team </details> #1'
    const evil: PackageChange = {
      ...hostile.packages[0],
      name: 'x | y </details><details> @alice',
      selected: true,
      kind: 'upgraded',
      removedVersions: ['1|0`'],
      addedVersions: ['<b>2</b> @bob']
    }
    hostile.packages = [
      evil,
      ...hostile.packages.map(p => ({ ...p, name: `${p.name}\n</details>` }))
    ]
    const md = renderMarkdown(hostile)
    expect(md.match(/<details>/g)).toHaveLength(1)
    expect(md.match(/<\/details>/g)).toHaveLength(1)
    // GitHub links nothing inside code spans; everywhere else mentions and references are broken.
    const outsideCode = md.replace(/(`+)[^`].*?\1/g, '')
    expect(outsideCode).not.toMatch(/@(?!\u200B)[a-z]/)
    expect(outsideCode).not.toMatch(/#(?!\u200B)1/)
    expect(md).toContain('`<b>2</b> @bob`')
    expect(outsideCode).not.toContain('<b>') // inside a code span it is text
    for (const row of tableRows(md)) expect(cells(row)).toHaveLength(5)
    expect(md.split('\n')[0]).toBe('### @\u200Borg/team &lt;/details&gt; \\#\u200B1')
  })

  it('collapses the least important detail first to fit a budget', () => {
    const big = system({ deps: 400, rebuilt: 400 })
    const full = renderMarkdown(big)
    expect(full).toContain('| data399 |')

    // Dropping rebuilt dependencies is the first step.
    const noRebuilt = renderMarkdown(big, { maxChars: full.length - 1 })
    expect(noRebuilt).not.toContain('| data0 |')
    expect(noRebuilt).toContain('| lib399 |')
    expect(noRebuilt).toContain('400 rebuilt with the same version (listed in the job summary).')

    // Then dependency rows, keeping as many as fit.
    const someDeps = renderMarkdown(big, { maxChars: Math.floor(noRebuilt.length / 2) })
    expect(someDeps.length).toBeLessThanOrEqual(Math.floor(noRebuilt.length / 2))
    expect(someDeps).toContain('| lib0 |')
    expect(someDeps).toMatch(/…and \d+ more \(full list in the job summary\)\./)
    expect(someDeps).toContain('| firefox |')

    // Then the dependency section, then system package rows, then everything but the summary.
    const selectedLength = renderMarkdown(big, { detail: 'selected' }).length
    const selectedOnly = renderMarkdown(big, { maxChars: selectedLength })
    expect(selectedOnly).toBe(renderMarkdown(big, { detail: 'selected' }))
    expect(selectedOnly).not.toContain('<details>')
    expect(selectedOnly).toContain(
      'Dependencies: 402 upgraded, 400 rebuilt (listed in the job summary).'
    )
    expect(selectedOnly).toContain('| firefox |')
    const summary = renderMarkdown(big, { maxChars: 200 })
    expect(summary).not.toContain('|')
    expect(summary.startsWith('### web1\n')).toBe(true)
    const line = renderMarkdown(big, { maxChars: 60 })
    expect(line.length).toBeLessThanOrEqual(60)
    expect(line.startsWith('**web1**: ')).toBe(true)
  })

  it('never exceeds the budget and keeps markup whole (property)', () => {
    const big = system({ deps: 60, rebuilt: 60, host: 'db-1 | @ops' })
    const full = renderMarkdown(big).length
    fc.assert(
      fc.property(fc.integer({ min: 1, max: full + 10 }), max => {
        const md = renderMarkdown(big, { maxChars: max })
        expect(md.length).toBeLessThanOrEqual(max)
        expect((md.match(/<details>/g) ?? []).length).toBe((md.match(/<\/details>/g) ?? []).length)
        expect((md.match(/\*\*/g) ?? []).length % 2).toBe(0)
        for (const row of tableRows(md)) expect(cells(row)).toHaveLength(5)
      }),
      { numRuns: 200 }
    )
  })
})

describe('toJson', () => {
  const d = system({ deps: 2, rebuilt: 1 })

  it('writes schemaVersion 1 and the whole record', () => {
    const obj = JSON.parse(toJson(d)) as Record<string, unknown>
    expect(obj.schemaVersion).toBe(1)
    expect(DIFF_SCHEMA_VERSION).toBe(1)
    expect(Object.keys(obj)[0]).toBe('schemaVersion')
    const { schemaVersion, ...rest } = obj
    void schemaVersion
    expect(rest).toEqual(JSON.parse(JSON.stringify(d)))
    expect(toJson(d).endsWith('}\n')).toBe(true)
  })

  it('documents every field it writes in docs/diff-schema.md', () => {
    const doc = readFileSync(join(here, '..', '..', 'docs', 'diff-schema.md'), 'utf8')
    const keys = new Set<string>()
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk)
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          keys.add(k)
          walk(x)
        }
      }
    }
    walk(toJsonObject(d))
    for (const k of keys) expect(doc).toContain(`\`${k}\``)
    expect(doc).toContain('schemaVersion')
  })
})

describe('renderText', () => {
  it('prints lines like nix store diff-closures, selected packages first', () => {
    const text = renderText(system({ deps: 1, rebuilt: 1 }))
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^web1: 4 upgraded, 1 added, 1 removed, \+.+, reboot required$/)
    expect(lines).toContain('system packages:')
    expect(lines).toContain('  firefox: 120.0 → 121.0, +1.9 MiB')
    expect(lines).toContain('  htop: ∅ → 3.2.2, +390.6 KiB')
    expect(lines).toContain('  data0: 2.0 (rebuilt), +100 B')
    expect(lines.indexOf('system packages:')).toBeLessThan(lines.indexOf('dependencies:'))
    expect(lines[lines.length - 1]).toBe('reboot required: linux 6.1.55 → 6.1.60')
  })

  it('cannot carry terminal escapes', () => {
    const d = system({ deps: 0, rebuilt: 0, host: 'web1\u001b[2J\r' })
    // eslint-disable-next-line no-control-regex -- control characters are what this is about
    expect(renderText(d)).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/)
  })
})
