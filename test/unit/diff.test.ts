import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { queryClosure, queryClosures, type PathInfo } from '../../src/core/closure.js'
import {
  compareVersions,
  diffClosures,
  formatBytes,
  selectedPackages,
  sortVersions,
  type ClosureDiff
} from '../../src/core/diff.js'
import { NIX_CONFIG } from '../harness/nix-env.js'

const NIX_ENV = { NIX_CONFIG }

function nix(args: string[]): string {
  return execFileSync('nix', args, {
    env: { ...process.env, ...NIX_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

function nixString(s: string): string {
  return JSON.stringify(s).replace(/\$\{/g, '\\${')
}

/** builtins.compareVersions for many pairs, in one evaluation. */
function nixCompare(pairs: [string, string][]): number[] {
  const list = pairs
    .map(([a, b]) => `(builtins.compareVersions ${nixString(a)} ${nixString(b)})`)
    .join(' ')
  return JSON.parse(nix(['eval', '--json', '--expr', `[ ${list} ]`])) as number[]
}

describe('compareVersions', () => {
  const pairs: [string, string][] = [
    ['1.2', '1.10'],
    ['1.10', '1.2'],
    ['1.0', '1.0'],
    ['1.0', '1.00'],
    ['1.0pre1', '1.0'],
    ['1.0', '1.0pre1'],
    ['1.0pre1', '1.0pre2'],
    ['2.3a', '2.3.1'],
    ['2.3', '2.3a'],
    ['2.3a', '2.3b'],
    ['1.0', '1.0.0'],
    ['1.0-rc1', '1.0'],
    ['6.1.55', '6.1.60'],
    ['2.37-8', '2.37-45'],
    ['24.05.20240101.abcdef', '24.05.20240102.012345'],
    ['unstable-2023-01-01', 'unstable-2023-12-31'],
    ['0-unstable-2024-01-01', '0.1'],
    ['1.2.3', '1.2.3-pre'],
    ['', '1'],
    ['', ''],
    ['a', ''],
    ['pre', 'a'],
    ['1.0alpha', '1.0beta'],
    ['99999999999', '100000000000'], // beyond int: compared as words
    ['2147483647', '2147483648'],
    ['2147483648', '9'],
    ['1_2', '1.3'],
    ['1..2', '1.2'],
    ['1-.2', '1.2'],
    ['3.0.12', '3.0.13'],
    ['8.4.0', '8.3.0']
  ]

  it('agrees with builtins.compareVersions on known pairs', () => {
    expect(pairs.map(([a, b]) => compareVersions(a, b))).toEqual(nixCompare(pairs))
  })

  it('agrees with builtins.compareVersions on random versions (property)', () => {
    const component = fc.oneof(
      fc.integer({ min: 0, max: 30 }).map(String),
      fc.constantFrom('pre', 'rc', 'alpha', 'a', 'b', 'p', 'unstable', '', '00', '2147483648'),
      fc.string({ unit: fc.constantFrom(...'0123456789abpr_+'.split('')), maxLength: 4 })
    )
    const version = fc
      .array(fc.tuple(component, fc.constantFrom('.', '-', '')), { maxLength: 5 })
      .map(parts => parts.map(([c, s]) => c + s).join(''))
    const sample = fc.sample(fc.tuple(version, version), {
      numRuns: 600,
      seed: Date.now() % 100000
    })
    const got = sample.map(([a, b]) => compareVersions(a, b))
    const want = nixCompare(sample)
    const mismatches = sample
      .filter((_, i) => got[i] !== want[i])
      .map((p, i) => ({ pair: p, ours: got[i], nix: want[i] }))
    expect(mismatches).toEqual([])
  })

  it('sorts with a total order (ties broken byte-wise)', () => {
    expect(sortVersions(['1.10', '1.2', '1.00', '1.0', '1.0pre1'])).toEqual([
      '1.0pre1',
      '1.0',
      '1.00',
      '1.2',
      '1.10'
    ])
  })
})

describe('formatBytes', () => {
  it.each([
    [0, {}, '0 B'],
    [0, { signed: true }, '0 B'],
    [512, {}, '512 B'],
    [-512, { signed: true }, '-512 B'],
    [1024, {}, '1.0 KiB'],
    [4404019, { signed: true }, '+4.2 MiB'],
    [-4404019, { signed: true }, '-4.2 MiB'],
    [1048575, {}, '1.0 MiB'], // not "1024.0 KiB"
    [1073741824, {}, '1.0 GiB'],
    [5 * 1024 ** 4, {}, '5.0 TiB']
  ] as [number, { signed?: boolean }, string][])('%d %j → %s', (bytes, opts, text) => {
    expect(formatBytes(bytes, opts)).toBe(text)
  })
})

// ---------------------------------------------------------------------------------------------
// Synthetic closures

const HASH = (n: number) =>
  n
    .toString(36)
    .padStart(32, '0')
    .replace(/[eotu]/g, 'a') // Nix's base-32 has no e, o, t, u
let counter = 0
function p(name: string): string {
  return `/nix/store/${HASH(++counter)}-${name}`
}
function info(path: string, narSize: number, references: string[] = []): PathInfo {
  return { path, narSize, references }
}

function pkg(d: ClosureDiff, name: string) {
  return d.packages.find(x => x.name === name)
}

describe('diffClosures', () => {
  const glibc = p('glibc-2.37-8')
  const glibcBin = p('glibc-2.37-8-bin')
  const sslOld = p('openssl-3.0.12')
  const sslNew = p('openssl-3.0.13')
  const curlOld = p('curl-8.4.0')
  const curlNew = p('curl-8.3.0')
  const zlibA = p('zlib-1.3')
  const zlibB = p('zlib-1.3')
  const dual1 = p('libdual-1.0')
  const dual2 = p('libdual-2.0')
  const mixA1 = p('mix-1.0')
  const mixA3 = p('mix-3.0')
  const mixB2 = p('mix-2.0')
  const old = p('oldtool-1.0')
  const neu = p('newtool-0.1')
  const etcA = p('etc')
  const etcB = p('etc')
  const swA = p('system-path')
  const swB = p('system-path')
  const kA = p('linux-6.1.55')
  const kB = p('linux-6.1.60')
  const initrdA = p('initrd-linux-6.1.55')
  const initrdB = p('initrd-linux-6.1.60')
  const topA = p('nixos-system-web1-24.05.20240101.abcdef1')
  const topB = p('nixos-system-web1-24.05.20240102.0123456')

  const before = [
    info(topA, 300, [swA, kA, initrdA, etcA]),
    info(swA, 200, [curlOld, old, glibcBin]),
    info(glibc, 20000),
    info(glibcBin, 3000, [glibc]),
    info(sslOld, 15000, [glibc]),
    info(curlOld, 12000, [sslOld, zlibA]),
    info(zlibA, 10000),
    info(dual1, 100),
    info(mixA1, 100),
    info(mixA3, 100),
    info(old, 9000),
    info(etcA, 50),
    info(kA, 40000),
    info(initrdA, 20000)
  ]
  const after = [
    info(topB, 300, [swB, kB, initrdB, etcB]),
    info(swB, 200, [curlNew, neu, glibcBin]),
    info(glibc, 20000),
    info(glibcBin, 3000, [glibc]),
    info(sslNew, 15100, [glibc]),
    info(curlNew, 12000, [sslNew, zlibB]),
    info(zlibB, 30000),
    info(dual1, 100),
    info(dual2, 100),
    info(mixB2, 100),
    info(neu, 11000),
    info(etcB, 60),
    info(kB, 41000),
    info(initrdB, 20000)
  ]
  const opts = {
    beforePath: topA,
    afterPath: topB,
    host: 'web1',
    selected: { before: selectedPackages(topA, before), after: selectedPackages(topB, after) }
  }
  const d = diffClosures(before, after, opts)

  it('classifies every kind of change', () => {
    const kinds = Object.fromEntries(d.packages.map(x => [x.name, x.kind]))
    expect(kinds).toEqual({
      curl: 'downgraded',
      etc: 'size-only',
      'initrd-linux': 'upgraded',
      libdual: 'changed', // a version added next to one that stays
      linux: 'upgraded',
      mix: 'changed', // 1.0 and 3.0 → 2.0: not one direction
      newtool: 'added',
      'nixos-system-web1': 'upgraded',
      oldtool: 'removed',
      openssl: 'upgraded',
      zlib: 'size-only'
      // system-path is a new store path of the same size and no version: like Nix, not listed.
    })
  })

  it('records versions, sizes and selection', () => {
    expect(pkg(d, 'openssl')).toEqual({
      name: 'openssl',
      kind: 'upgraded',
      selected: false,
      before: { versions: ['3.0.12'], bytes: 15000, paths: 1 },
      after: { versions: ['3.0.13'], bytes: 15100, paths: 1 },
      addedVersions: ['3.0.13'],
      removedVersions: ['3.0.12'],
      bytesDelta: 100
    })
    expect(pkg(d, 'mix')).toMatchObject({
      addedVersions: ['2.0'],
      removedVersions: ['1.0', '3.0'],
      before: { versions: ['1.0', '3.0'] }
    })
    expect(pkg(d, 'curl')!.selected).toBe(true)
    expect(pkg(d, 'newtool')!.selected).toBe(true)
    expect(pkg(d, 'oldtool')!.selected).toBe(true)
    expect(pkg(d, 'zlib')!.selected).toBe(false)
    expect(pkg(d, 'glibc')).toBeUndefined() // unchanged, though selected through glibc-bin
    expect(d.hasSelection).toBe(true)
  })

  it('counts totals and summarises in one line', () => {
    expect(d.totals.before).toEqual({ paths: 14, bytes: before.reduce((s, i) => s + i.narSize, 0) })
    expect(d.totals.after).toEqual({ paths: 14, bytes: after.reduce((s, i) => s + i.narSize, 0) })
    expect(d.totals.bytesDelta).toBe(d.totals.after.bytes - d.totals.before.bytes)
    // Only after: topB swB sslNew curlNew zlibB dual2 mixB2 neu etcB kB initrdB; only before: the 11 counterparts.
    expect(d.totals.pathsAdded).toBe(11)
    expect(d.totals.pathsRemoved).toBe(11)
    expect(d.counts).toEqual({
      added: 1,
      removed: 1,
      upgraded: 4,
      downgraded: 1,
      changed: 2,
      'size-only': 2
    })
    expect(d.summary).toBe(
      `4 upgraded, 1 downgraded, 2 changed, 1 added, 1 removed, ${formatBytes(d.totals.bytesDelta, { signed: true })}, reboot required`
    )
  })

  it('says why a reboot is needed', () => {
    expect(d.rebootRequired).toBe(true)
    expect(d.rebootReasons.map(r => r.component)).toEqual(['kernel', 'initrd'])
    expect(d.rebootReasons[0]).toEqual({
      component: 'kernel',
      detail: 'linux 6.1.55 → 6.1.60',
      before: '6.1.55',
      after: '6.1.60'
    })
    expect(d.rebootReasons[1]).toEqual({
      component: 'initrd',
      detail: 'initrd changed',
      before: initrdA,
      after: initrdB
    })
  })

  it('flags a rebuilt kernel, kernel modules and a systemd version change', () => {
    const k1 = p('linux-6.1.55')
    const m1 = p('linux-6.1.55-modules')
    const m2 = p('linux-6.1.55-modules')
    const s1 = p('systemd-254.6')
    const s2 = p('systemd-255.2')
    const t1 = p('nixos-system-a-1')
    const t2 = p('nixos-system-a-1')
    const r = diffClosures(
      [info(t1, 1, [k1, m1, s1]), info(k1, 1), info(m1, 1), info(s1, 1)],
      [info(t2, 1, [k1, m2, s2]), info(k1, 1), info(m2, 2), info(s2, 1)],
      { beforePath: t1, afterPath: t2 }
    )
    expect(r.rebootReasons.map(x => x.component)).toEqual(['kernel-modules', 'systemd'])
    expect(r.rebootReasons[1].detail).toBe('systemd 254.6 → 255.2')
    // Without a toplevel in the data only versions count.
    const plain = diffClosures([info(s1, 1)], [info(s1, 1)], { beforePath: s1, afterPath: s1 })
    expect(plain.rebootRequired).toBe(false)
    expect(plain.summary).toBe('no changes')
    expect(plain.changed).toBe(false)
  })

  it('gives the same record for the same closures in any order, listed twice or not', () => {
    const shuffle = <T>(a: T[], seed: number) => {
      const out = [...a]
      for (let i = out.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        const j = seed % (i + 1)
        ;[out[i], out[j]] = [out[j], out[i]]
      }
      return out
    }
    for (const seed of [1, 2, 3, 42]) {
      const again = diffClosures(
        shuffle([...before, ...before.slice(0, 3)], seed),
        shuffle(after, seed + 7),
        {
          ...opts,
          selected: {
            before: new Set([...opts.selected.before].reverse()),
            after: opts.selected.after
          }
        }
      )
      expect(JSON.stringify(again)).toBe(JSON.stringify(d))
    }
  })

  it('keeps the invariants on random closures (property)', () => {
    const names = ['a-1', 'a-2', 'a-2-bin', 'b-1.0', 'b-1.0pre', 'c', 'd-lib', 'e-3']
    const closure = fc.uniqueArray(
      fc.tuple(
        fc.integer({ min: 0, max: 11 }),
        fc.constantFrom(...names),
        fc.integer({ min: 0, max: 5000 })
      ),
      {
        selector: t => t[0],
        maxLength: 12
      }
    )
    fc.assert(
      fc.property(closure, closure, (xs, ys) => {
        // The same hash index means the same store path: keep one name per index on both sides.
        const nameOf = new Map<number, string>()
        for (const [i, n] of [...xs, ...ys]) if (!nameOf.has(i)) nameOf.set(i, n)
        const sizeOf = new Map<number, number>()
        for (const [i, , s] of [...xs, ...ys]) if (!sizeOf.has(i)) sizeOf.set(i, s)
        const mk = (l: [number, string, number][]) =>
          l.map(([i]) => info(`/nix/store/${HASH(i + 1)}-${nameOf.get(i)}`, sizeOf.get(i)!))
        const b = mk(xs)
        const a = mk(ys)
        const r = diffClosures(b, a, { beforePath: 'x', afterPath: 'y' })
        const sum = (l: PathInfo[]) => l.reduce((s, i) => s + i.narSize, 0)
        expect(r.totals.bytesDelta).toBe(sum(a) - sum(b))
        expect(r.packages.reduce((s, x) => s + x.bytesDelta, 0)).toBe(sum(a) - sum(b))
        expect(r.packages.map(x => x.name)).toEqual([...r.packages.map(x => x.name)].sort())
        for (const x of r.packages) {
          if (x.kind === 'added') expect(x.before.paths).toBe(0)
          if (x.kind === 'removed') expect(x.after.paths).toBe(0)
          if (x.kind === 'size-only') expect(x.bytesDelta).not.toBe(0)
        }
        // Swapping sides swaps added/removed and upgraded/downgraded.
        const back = diffClosures(a, b, { beforePath: 'y', afterPath: 'x' })
        const flip: Record<string, string> = {
          added: 'removed',
          removed: 'added',
          upgraded: 'downgraded',
          downgraded: 'upgraded',
          changed: 'changed',
          'size-only': 'size-only'
        }
        expect(back.packages.map(x => [x.name, x.kind])).toEqual(
          r.packages.map(x => [x.name, flip[x.kind]])
        )
      }),
      { numRuns: 300 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Agreement with `nix store diff-closures` on real closures

/** Tiny packages named `name-version`; `variant` picks the before or the after system. */
const CLOSURES_NIX = `{ variant, salt }:
let
  mk = name: pad: deps: derivation {
    inherit name deps salt;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out; echo \${name} > $out/name; for d in $deps; do echo $d >> $out/deps; done; head -c \${toString pad} /dev/zero > $out/pad" ];
  };
  before = variant == "before";
  glibc = mk "glibc-2.37-8" 20000 [ ];
  glibcBin = mk "glibc-2.37-8-bin" 3000 [ glibc ];
  zlib = mk "zlib-1.3" (if before then 10000 else 30000) [ glibc ];
  openssl = mk (if before then "openssl-3.0.12" else "openssl-3.0.13") 15000 [ glibc ];
  curl = mk (if before then "curl-8.4.0" else "curl-8.3.0") 12000 [ openssl zlib ];
  foo = mk (if before then "foo-1.0pre1" else "foo-1.0") 100 [ ];
  tool = if before then mk "oldtool-1.0" 9000 [ glibc ] else mk "newtool-0.1" 11000 [ glibc ];
  banner = mk "banner" 50 [ ];
  dual = [ (mk "libdual-1.0" 100 [ ]) ] ++ (if before then [ ] else [ (mk "libdual-2.0" 9000 [ ]) ]);
  mix = if before then [ (mk "mix-1.0" 100 [ ]) (mk "mix-3.0" 100 [ ]) ] else [ (mk "mix-2.0" 100 [ ]) ];
  requests = mk "python3.11-requests-2.31.0" 4000 [ glibc ];
  kver = if before then "6.1.55" else "6.1.60";
  linux = mk "linux-\${kver}" 40000 [ ];
  modules = mk "linux-\${kver}-modules" 30000 [ linux ];
  initrd = mk "initrd-linux-\${kver}" 20000 [ modules ];
  systemPath = mk "system-path" 200 ([ curl tool glibcBin requests foo ] ++ dual ++ mix ++ (if before then [ ] else [ banner ]));
in
mk "nixos-system-web1-24.05.20240101.abcdef1" 300 [ systemPath linux modules initrd ]
`

interface NixLine {
  name: string
  versions?: string
  bytes?: number
}

/** Parses `nix store diff-closures` lines: `name: 1.0 → 2.0, +1.2 KiB`, `name: +19.5 KiB`. */
function parseDiffClosures(out: string): NixLine[] {
  const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }
  // eslint-disable-next-line no-control-regex -- Nix colours its output even when piped
  const ansi = /\x1b\[[0-9;]*m/g
  return out
    .replace(ansi, '')
    .split('\n')
    .filter(l => l.trim() !== '')
    .map(l => {
      const m = /^(.+?): (.*)$/.exec(l.trim())
      if (!m) throw new Error(`unexpected line from nix store diff-closures: ${l}`)
      const line: NixLine = { name: m[1] }
      for (const item of m[2].split(/, (?=[+-]?\d[\d.]* (?:B|KiB|MiB|GiB)$)/)) {
        const size = /^([+-]?\d+(?:\.\d+)?) (B|KiB|MiB|GiB)$/.exec(item)
        if (size) line.bytes = Number(size[1]) * units[size[2]]
        else line.versions = item
      }
      return line
    })
}

describe('agreement with nix store diff-closures', () => {
  let dir: string
  let beforePath: string
  let afterPath: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'diff-agree-'))
    writeFileSync(join(dir, 'closures.nix'), CLOSURES_NIX)
    // A fresh salt per run: the closures are really built, not found from an earlier run.
    const salt = `${process.pid}-${Date.now()}`
    const build = (variant: string) =>
      (
        JSON.parse(
          nix([
            'build',
            '--no-link',
            '--json',
            '--file',
            join(dir, 'closures.nix'),
            '--argstr',
            'variant',
            variant,
            '--argstr',
            'salt',
            salt
          ])
        ) as { outputs: { out: string } }[]
      )[0].outputs.out
    beforePath = build('before')
    afterPath = build('after')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('finds the same version changes and size changes as Nix', async () => {
    const nixLines = parseDiffClosures(nix(['store', 'diff-closures', beforePath, afterPath]))
    const [b, a] = await queryClosures([beforePath, afterPath], { timeoutMs: 60_000, env: NIX_ENV })
    // One process for both gives what one process each gives.
    const sorted = (l: PathInfo[]) => l.map(i => i.path).sort()
    expect(sorted(b)).toEqual(
      sorted(await queryClosure(beforePath, { timeoutMs: 60_000, env: NIX_ENV }))
    )
    const d = diffClosures(b, a, { beforePath, afterPath })

    // The names whose versions changed.
    const ours = d.packages.filter(x => x.kind !== 'size-only')
    expect(ours.map(x => x.name)).toEqual(
      nixLines.filter(l => l.versions !== undefined).map(l => l.name)
    )
    expect(ours.map(x => x.name)).toEqual(
      expect.arrayContaining([
        'banner',
        'curl',
        'foo',
        'libdual',
        'linux',
        'mix',
        'newtool',
        'oldtool',
        'openssl'
      ])
    )

    // The versions, in Nix's notation (∅ nothing, ε no version).
    const show = (v: string[]) => (v.length === 0 ? '∅' : v.map(x => x || 'ε').join(', '))
    for (const l of nixLines.filter(l => l.versions !== undefined)) {
      const x = d.packages.find(q => q.name === l.name)!
      expect(`${show(x.removedVersions)} → ${show(x.addedVersions)}`).toBe(l.versions)
    }

    // Every size Nix shows (it shows those of 8 KiB or more) is ours, to its rounding.
    const shown = nixLines.filter(l => l.bytes !== undefined)
    expect(shown.length).toBeGreaterThanOrEqual(3)
    for (const l of shown) {
      const x = d.packages.find(q => q.name === l.name)
      expect(x).toBeDefined()
      expect(Math.abs(x!.bytesDelta - l.bytes!)).toBeLessThanOrEqual(0.05 * 1024 * 1024)
      expect(Math.abs(x!.bytesDelta - l.bytes!)).toBeLessThanOrEqual(Math.abs(l.bytes!) * 0.01 + 52)
    }
    // And every package of ours with 8 KiB or more of change is on Nix's list.
    for (const x of d.packages.filter(q => Math.abs(q.bytesDelta) >= 8 * 1024)) {
      expect(shown.map(l => l.name)).toContain(x.name)
    }
    // The classification Nix does not make, checked by hand for this fixture.
    const kind = (n: string) => d.packages.find(q => q.name === n)!.kind
    expect([
      kind('curl'),
      kind('openssl'),
      kind('foo'),
      kind('libdual'),
      kind('mix'),
      kind('zlib')
    ]).toEqual(['downgraded', 'upgraded', 'upgraded', 'changed', 'changed', 'size-only'])
  })
})
