import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import fc from 'fast-check'
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  chmodSync,
  mkdirSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { ActionError } from '../../src/core/errors.js'
import {
  OUTPUT_SUFFIX,
  closureOf,
  queryClosures,
  packageName,
  parseDrvName,
  parsePathInfo,
  queryClosure,
  queryClosureNixStore,
  storePathName,
  type PathInfo
} from '../../src/core/closure.js'
import { NIX_CONFIG } from '../harness/nix-env.js'

const here = dirname(fileURLToPath(import.meta.url))
const fixtures = join(here, '..', 'fixtures', 'path-info')
const NIX_ENV = { NIX_CONFIG }

function nix(args: string[]): string {
  return execFileSync('nix', args, {
    env: { ...process.env, ...NIX_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

/** A closure in a canonical form: sorted by path, references sorted. */
function canonical(infos: PathInfo[]): PathInfo[] {
  return infos
    .map(i => ({ ...i, references: [...i.references].sort() }))
    .sort((a, b) => (a.path < b.path ? -1 : 1))
}

describe('parsePathInfo: every shape Nix has printed', () => {
  // nix-2.8-array.json is real output of `nix path-info --recursive --json` (Nix 2.8.0). The others
  // were converted from it by hand to the shapes of later Nix versions, following Nix's own test
  // data (src/libstore-tests/data/path-info/json-{1,2,3}) and release notes (2.19, 2.23, 2.33).
  const reference = canonical(
    parsePathInfo(readFileSync(join(fixtures, 'nix-2.8-array.json'), 'utf8'))
  )

  it('reads the real Nix 2.8 array', () => {
    expect(reference).toHaveLength(13)
    for (const info of reference) {
      expect(info.path).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/)
      expect(info.narSize).toBeGreaterThan(0)
      for (const r of info.references) expect(r).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/)
    }
    const top = reference.find(i => i.path.endsWith('-nixos-system-web1-24.05.20240101.abcdef1'))!
    expect(top.references.map(storePathName).sort()).toEqual([
      'initrd-linux-6.1.55',
      'linux-6.1.55',
      'linux-6.1.55-modules',
      'system-path'
    ])
  })

  for (const file of readdirSync(fixtures).filter(
    f => f.endsWith('.json') && f !== 'nix-2.8-array.json'
  )) {
    it(`reads ${file} as the same closure`, () => {
      const parsed = canonical(parsePathInfo(readFileSync(join(fixtures, file), 'utf8')))
      if (file.includes('custom-store')) {
        const moved = (p: string) => p.replace(/^\/custom\/store\//, '/nix/store/')
        expect(parsed.every(i => i.path.startsWith('/custom/store/'))).toBe(true)
        expect(
          canonical(
            parsed.map(i => ({ ...i, path: moved(i.path), references: i.references.map(moved) }))
          )
        ).toEqual(reference)
      } else {
        expect(parsed).toEqual(reference)
      }
    })
  }

  it('skips invalid paths (null, valid: false)', () => {
    expect(parsePathInfo('{"/nix/store/00000000000000000000000000000000-x": null}')).toEqual([])
    expect(
      parsePathInfo('[{"path": "/nix/store/00000000000000000000000000000000-x", "valid": false}]')
    ).toEqual([])
    expect(parsePathInfo('{"version": 2, "storeDir": "/nix/store", "info": {}}')).toEqual([])
  })

  it('throws one clear ActionError for malformed or truncated output', () => {
    const text = readFileSync(join(fixtures, 'nix-2.19-object.json'), 'utf8')
    for (const bad of [
      text.slice(0, text.length / 2),
      '',
      'error: path is not valid',
      '42',
      '"x"',
      '[1]',
      '{"a": 1}',
      '[{"path": "/nix/store/a-b"}]',
      '{"/nix/store/a-b": {"narSize": -1}}',
      '{"/nix/store/a-b": {"narSize": 1, "references": [3]}}'
    ]) {
      let thrown: unknown
      try {
        parsePathInfo(bad)
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(ActionError)
      expect((thrown as ActionError).message).toMatch(
        /^The store path information from Nix is not usable: .+\.$/
      )
      expect((thrown as ActionError).message).not.toMatch(/\n/)
    }
  })

  it('never throws anything but ActionError (property: random text and random JSON)', () => {
    const check = (s: string) => {
      try {
        const out = parsePathInfo(s)
        for (const i of out) {
          expect(typeof i.path).toBe('string')
          expect(Number.isFinite(i.narSize)).toBe(true)
          expect(Array.isArray(i.references)).toBe(true)
        }
      } catch (err) {
        if (!(err instanceof ActionError)) throw err
      }
    }
    fc.assert(fc.property(fc.string(), check), { numRuns: 500 })
    fc.assert(fc.property(fc.json(), check), { numRuns: 1000 })
    // Values shaped almost like path info, to reach deeper branches.
    const entry = fc.record(
      {
        path: fc.oneof(fc.string(), fc.constant('/nix/store/00000000000000000000000000000000-a-1')),
        narSize: fc.jsonValue(),
        references: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        valid: fc.boolean(),
        storeDir: fc.jsonValue()
      },
      { requiredKeys: [] }
    )
    fc.assert(
      fc.property(fc.array(entry), a => check(JSON.stringify(a))),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(entry, fc.constant(null))), d =>
        check(JSON.stringify(d))
      ),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.dictionary(fc.string(), fc.oneof(entry, fc.jsonValue())),
        (storeDir, info) => check(JSON.stringify({ version: 2, storeDir, info }))
      ),
      { numRuns: 500 }
    )
    // Deep nesting must not escape as a RangeError.
    check('['.repeat(100000) + ']'.repeat(100000))
  })
})

describe('closureOf', () => {
  const x = (name: string) => `/nix/store/${'x'.repeat(32)}-${name}`
  const infos: PathInfo[] = [
    { path: x('a'), narSize: 1, references: [x('b')] },
    { path: x('b'), narSize: 1, references: [x('b'), x('c')] },
    { path: x('c'), narSize: 1, references: [] },
    { path: x('d'), narSize: 1, references: [x('a')] }
  ]
  it('walks the references from the root, cycles included', () => {
    expect(closureOf(x('a'), infos)!.map(i => i.path)).toEqual([x('a'), x('b'), x('c')])
    expect(closureOf(x('d'), infos)!).toHaveLength(4)
  })
  it('is undefined when the root or a reference is missing', () => {
    expect(closureOf(x('z'), infos)).toBeUndefined()
    expect(closureOf(x('a'), infos.slice(0, 2))).toBeUndefined()
  })
})

describe('package names', () => {
  const cases: [string, string, string, string][] = [
    // base name, name, version, output
    ['glibc-2.37-8', 'glibc', '2.37-8', ''],
    ['glibc-2.37-8-bin', 'glibc', '2.37-8', 'bin'],
    ['glibc-2.37-8-dev', 'glibc', '2.37-8', 'dev'],
    ['gcc-13.2.0-lib', 'gcc', '13.2.0', 'lib'],
    ['python3-3.11.6', 'python3', '3.11.6', ''],
    ['python3.11-requests-2.31.0', 'python3.11-requests', '2.31.0', ''],
    ['python3.11-requests-2.31.0-dist', 'python3.11-requests', '2.31.0', 'dist'],
    ['linux-6.1.55', 'linux', '6.1.55', ''],
    ['linux-6.1.55-modules', 'linux', '6.1.55', 'modules'],
    // Like Nix: only the last suffix is an output, the rest stays in the version.
    ['linux-6.1.55-modules-shrunk', 'linux', '6.1.55-modules', 'shrunk'],
    ['nixos-system-web1-24.05.20240101.abcdef', 'nixos-system-web1', '24.05.20240101.abcdef', ''],
    ['initrd-linux-6.1.55', 'initrd-linux', '6.1.55', ''],
    ['systemd-254.6', 'systemd', '254.6', ''],
    ['systemd-254.6-man', 'systemd', '254.6', 'man'],
    ['openssl-3.0.12-static', 'openssl', '3.0.12', 'static'],
    ['zlib-1.3-debug', 'zlib', '1.3', 'debug'],
    ['util-linux-2.39.2-lib64', 'util-linux', '2.39.2', 'lib64'],
    ['source', 'source', '', ''],
    ['etc', 'etc', '', ''],
    ['system-path', 'system-path', '', ''],
    ['unit-nginx.service', 'unit-nginx.service', '', ''],
    ['unit-script-nginx-start', 'unit-script-nginx-start', '', ''],
    ['X-Restart-Triggers-nginx', 'X-Restart-Triggers-nginx', '', ''],
    ['foo-lib', 'foo-lib', '', ''],
    ['hello-2.12.1', 'hello', '2.12.1', ''],
    ['firefox-unwrapped-121.0', 'firefox-unwrapped', '121.0', ''],
    ['xorg-server-21.1.9-dev', 'xorg-server', '21.1.9', 'dev'],
    ['perl5.38.0-libwww-perl-6.72', 'perl5.38.0-libwww-perl', '6.72', ''],
    ['rust-1.0-rc', 'rust', '1.0', 'rc'], // as ambiguous as in Nix: `rc` looks like an output
    ['foo-1.0pre1', 'foo', '1.0pre1', '']
  ]

  it.each(cases)('%s → %s %s (%s)', (base, name, version, output) => {
    expect(packageName(base)).toEqual({ name, version, output })
    expect(packageName(`/nix/store/00000000000000000000000000000000-${base}`)).toEqual({
      name,
      version,
      output
    })
  })

  it('splits like builtins.parseDrvName (real nix)', () => {
    const names = [
      ...cases.map(c => c[0]),
      'a-',
      '-1',
      'a--1',
      'a-B-1',
      'a-_x',
      'a-.1',
      'A-1-Z',
      '3d-1.0',
      'x-y-z'
    ]
    const expr = `builtins.map builtins.parseDrvName ${nixList(names)}`
    const fromNix = JSON.parse(nix(['eval', '--json', '--expr', expr])) as {
      name: string
      version: string
    }[]
    expect(names.map(parseDrvName)).toEqual(fromNix)
  })

  it('strips output suffixes exactly where the regular expression of Nix does (property)', () => {
    // The reference: the regular expression of diff-closures.cc, then parseDrvName.
    const reference = (base: string) => {
      const m = OUTPUT_SUFFIX.exec(base)
      if (m && parseDrvName(m[1]).version !== '') return { ...parseDrvName(m[1]), output: m[2] }
      return { ...parseDrvName(base), output: '' }
    }
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ab-1.Lz36_'.split('')), maxLength: 14 }),
        s => {
          expect(packageName(s)).toEqual(reference(s))
        }
      ),
      { numRuns: 3000 }
    )
  })

  it('reads the name from full paths', () => {
    expect(storePathName('/nix/store/8lsq4allxiw2mmhj3lxp1hiqgz9rl3hq-nixos-system-web1-1')).toBe(
      'nixos-system-web1-1'
    )
    expect(storePathName('8lsq4allxiw2mmhj3lxp1hiqgz9rl3hq-etc')).toBe('etc')
  })
})

function nixList(items: string[]): string {
  return `[ ${items.map(s => JSON.stringify(s).replace(/\$\{/g, '\\${')).join(' ')} ]`
}

describe('queryClosure against the real store', () => {
  let dir: string
  let top: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'closure-test-'))
    // A few tiny packages, one of them referring to itself.
    writeFileSync(
      join(dir, 'pkgs.nix'),
      `let mk = name: deps: derivation {
        inherit name deps; system = builtins.currentSystem; builder = "/bin/sh";
        args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out; echo $out > $out/self; for d in $deps; do echo $d >> $out/deps; done" ];
      };
      a = mk "closure-test-a-1.0" [ ];
      b = mk "closure-test-b-2.0-bin" [ a ];
      in mk "closure-test-top-3" [ a b ]`
    )
    const out = JSON.parse(
      nix(['build', '--no-link', '--json', '--file', join(dir, 'pkgs.nix')])
    ) as { outputs: { out: string } }[]
    top = out[0].outputs.out
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('reads the closure through nix path-info', async () => {
    const infos = canonical(await queryClosure(top, { timeoutMs: 60_000, env: NIX_ENV }))
    expect(infos.map(i => storePathName(i.path))).toEqual(
      expect.arrayContaining(['closure-test-a-1.0', 'closure-test-b-2.0-bin', 'closure-test-top-3'])
    )
    expect(infos).toHaveLength(3)
    const t = infos.find(i => i.path === top)!
    expect(t.references.map(storePathName).sort()).toEqual([
      'closure-test-a-1.0',
      'closure-test-b-2.0-bin',
      'closure-test-top-3'
    ])
    // Sizes are what nix-store reports.
    const sizes = execFileSync('nix-store', ['--query', '--size', ...infos.map(i => i.path)], {
      encoding: 'utf8'
    })
      .trim()
      .split('\n')
      .map(Number)
    expect(infos.map(i => i.narSize)).toEqual(sizes)
  })

  it('reads several closures with one nix process, each walked from its root', async () => {
    const whole = canonical(await queryClosure(top, { timeoutMs: 60_000, env: NIX_ENV }))
    const b = whole.find(i => storePathName(i.path) === 'closure-test-b-2.0-bin')!
    const [c1, c2] = await queryClosures([b.path, top], { timeoutMs: 60_000, env: NIX_ENV })
    expect(canonical(c2)).toEqual(whole)
    expect(canonical(c1).map(i => storePathName(i.path))).toEqual(
      canonical(await queryClosure(b.path, { timeoutMs: 60_000, env: NIX_ENV })).map(i =>
        storePathName(i.path)
      )
    )
    expect(c1.map(i => storePathName(i.path)).sort()).toEqual([
      'closure-test-a-1.0',
      'closure-test-b-2.0-bin'
    ])
  })

  it('the nix-store fallback reads the same closure', async () => {
    const viaPathInfo = canonical(await queryClosure(top, { timeoutMs: 60_000, env: NIX_ENV }))
    const viaNixStore = canonical(
      await queryClosureNixStore(top, { timeoutMs: 60_000, env: NIX_ENV })
    )
    // `--graph` leaves out self-references; everything else is the same.
    const noSelf = (l: PathInfo[]) =>
      l.map(i => ({ ...i, references: i.references.filter(r => r !== i.path) }))
    expect(noSelf(viaNixStore)).toEqual(noSelf(viaPathInfo))
  })

  it('falls back to nix-store when nix path-info prints something unreadable', async () => {
    const bin = join(dir, 'bin')
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, 'nix'), '#!/bin/sh\necho \'{"truncated": \'\n')
    chmodSync(join(bin, 'nix'), 0o755)
    const infos = await queryClosure(top, {
      timeoutMs: 60_000,
      env: { ...NIX_ENV, PATH: `${bin}:${process.env.PATH}` }
    })
    expect(canonical(infos).map(i => i.path)).toEqual(
      canonical(await queryClosureNixStore(top, { timeoutMs: 60_000, env: NIX_ENV })).map(
        i => i.path
      )
    )
  })

  it('fails with an ActionError naming the path when it is not in the store', async () => {
    const missing = '/nix/store/00000000000000000000000000000000-not-there-1.0'
    await expect(
      queryClosure(missing, { timeoutMs: 60_000, env: NIX_ENV, host: 'web1' })
    ).rejects.toThrow(ActionError)
    await expect(
      queryClosure(missing, { timeoutMs: 60_000, env: NIX_ENV, host: 'web1' })
    ).rejects.toThrow(/not-there-1\.0/)
  })
})
