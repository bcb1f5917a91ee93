/**
 * Reading a closure diff document back (`parseDiffJson`, `fromJsonObject`): a real diff round-trips
 * exactly; any input, valid JSON or not, shaped like a diff or not, either gives a record or an
 * ActionError naming the file, never anything else.
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { PathInfo } from '../../src/core/closure.js'
import { diffClosures, selectedPackages } from '../../src/core/diff.js'
import { ActionError } from '../../src/core/errors.js'
import {
  fromJsonObject,
  parseDiffJson,
  renderMarkdown,
  toJson,
  toJsonObject
} from '../../src/core/render-diff.js'

let n = 0
const sp = (name: string) =>
  `/nix/store/${(++n)
    .toString(36)
    .padStart(32, '0')
    .replace(/[eotu]/g, 'a')}-${name}`
const info = (p: string, narSize: number, references: string[] = []): PathInfo => ({
  path: p,
  narSize,
  references
})

function sampleDiff() {
  const nginxOld = sp('nginx-1.26.1')
  const nginxNew = sp('nginx-1.27.0')
  const htop = sp('htop-3.3.0')
  const linuxOld = sp('linux-6.6.40')
  const linuxNew = sp('linux-6.6.41')
  const swOld = sp('system-path')
  const swNew = sp('system-path')
  const before = sp('nixos-system-web1-24.05')
  const after = sp('nixos-system-web1-24.05')
  const b = [
    info(before, 1000, [swOld, linuxOld]),
    info(swOld, 100, [nginxOld]),
    info(nginxOld, 5000),
    info(linuxOld, 70000)
  ]
  const a = [
    info(after, 1000, [swNew, linuxNew]),
    info(swNew, 120, [nginxNew, htop]),
    info(nginxNew, 5200),
    info(htop, 900),
    info(linuxNew, 70100)
  ]
  return diffClosures(b, a, {
    beforePath: before,
    afterPath: after,
    host: 'web1',
    selected: { before: selectedPackages(before, b), after: selectedPackages(after, a) }
  })
}

describe('parseDiffJson', () => {
  it('reads back exactly what toJson wrote', () => {
    const diff = sampleDiff()
    expect(diff.packages.length).toBeGreaterThan(2)
    const back = parseDiffJson(toJson(diff), "'diff-web1.json'")
    expect(back).toEqual(diff)
    expect(toJson(back)).toBe(toJson(diff))
    expect(renderMarkdown(back)).toBe(renderMarkdown(diff))
  })

  it('ignores fields it does not know (schema version 1 may add fields)', () => {
    const obj = { ...toJsonObject(sampleDiff()), futureField: { x: 1 } }
    expect(fromJsonObject(obj, 'f').host).toBe('web1')
  })

  it('throws only ActionErrors naming the file, for any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), text => {
        try {
          parseDiffJson(text, "'r.json'")
        } catch (err) {
          expect(err).toBeInstanceOf(ActionError)
          expect((err as Error).message).toContain("'r.json'")
          expect((err as Error).message).not.toContain('\n')
        }
      }),
      { numRuns: 500 }
    )
  })

  it('throws only ActionErrors for any JSON value, and for a real diff with any field replaced', () => {
    const valid = toJsonObject(sampleDiff()) as unknown as Record<string, unknown>
    const paths: (string | number)[][] = []
    const walk = (v: unknown, p: (string | number)[]) => {
      paths.push(p)
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]))
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) walk(x, [...p, k])
    }
    walk(valid, [])
    const check = (value: unknown) => {
      try {
        const d = fromJsonObject(value, "'r.json'")
        renderMarkdown(d, { maxChars: 2000 }) // what it gives renders
      } catch (err) {
        expect(err).toBeInstanceOf(ActionError)
        expect((err as Error).message).toMatch(/^The diff report 'r\.json' /)
        expect((err as Error).message).not.toContain('\n')
      }
    }
    fc.assert(fc.property(fc.jsonValue(), check), { numRuns: 300 })
    fc.assert(
      fc.property(
        fc.constantFrom(...paths.filter(p => p.length > 0)),
        fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.string()),
        (p, replacement) => {
          const copy = structuredClone(valid)
          let node = copy as Record<string | number, unknown>
          for (const k of p.slice(0, -1)) node = node[k] as Record<string | number, unknown>
          node[p[p.length - 1]] = replacement
          check(copy)
        }
      ),
      { numRuns: 1000 }
    )
  })
})
