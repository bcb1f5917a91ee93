/**
 * Real output of Nix 2.8, 2.26 and 2.34, captured by scripts/capture-nix-samples.sh from the
 * flakes in test/fixtures/nix-samples/flakes (their only input is a local git flake standing in
 * for nixpkgs, so the errors inside an input are real). Every version is read the same way here.
 */
import { describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parsePathInfo } from '../../src/core/closure.js'
import { parseFlakeSources, parseNixVersion, pathInfoJsonFlags } from '../../src/core/nix.js'
import {
  describeNixError,
  parseNixErrors,
  type FlakeSources,
  type NixError
} from '../../src/core/nix-errors.js'

const here = dirname(fileURLToPath(import.meta.url))
const samples = join(here, '..', 'fixtures', 'nix-samples')
const VERSIONS = ['2.8', '2.26', '2.34'] as const
type Version = (typeof VERSIONS)[number]

function sample(v: Version, name: string): string {
  return readFileSync(join(samples, `nix-${v}`, name), 'utf8')
}
function hasSample(v: Version, name: string): boolean {
  return existsSync(join(samples, `nix-${v}`, name))
}

/** The sources as check.ts reads them: `nix flake archive --json --dry-run` and the metadata. */
function sourcesOf(v: Version, flake: string): FlakeSources {
  return parseFlakeSources(
    JSON.parse(sample(v, `${flake}.archive.stdout`)),
    JSON.parse(sample(v, `${flake}.metadata.stdout`))
  )
}

/** Options as check.ts gives them for a flake checked out at /tmp/flakes/<flake>. */
function parse(v: Version, flake: string, file: string): NixError[] {
  return parseNixErrors(sample(v, file), {
    repoRoot: `/tmp/flakes/${flake}`,
    sources: sourcesOf(v, flake)
  })
}

/** Files of the nixpkgs stand-in: an annotation must never land on a repository file of that name. */
const INPUT_FILES = ['lib/modules.nix', 'nixos/top-level.nix']

describe('the captured samples are what they claim', () => {
  it.each(VERSIONS)('Nix %s', v => {
    const version = parseNixVersion(sample(v, 'version.txt'))
    expect(version?.text).toMatch(new RegExp(`^nix \\(Nix\\) ${v.replace('.', '\\.')}\\.\\d+$`))
    expect(version?.lix).toBe(false)
  })
})

describe('flake sources from archive and metadata', () => {
  it.each(VERSIONS)('Nix %s: the flake and its nixpkgs input', v => {
    const s = sourcesOf(v, 'input-error')
    expect(s.self).toMatch(/^\/nix\/store\/[0-9a-z]{32}-source$/)
    expect(s.selfUrl).toMatch(/^git\+file:\/\/\/tmp\/flakes\/input-error/)
    expect(s.inputs).toEqual([
      {
        name: 'nixpkgs',
        path: expect.stringMatching(/^\/nix\/store\/[0-9a-z]{32}-source$/),
        url: 'file:///tmp/flakes/nixpkgs'
      }
    ])
    expect(s.inputs[0].path).not.toBe(s.self)
    expect(sourcesOf(v, 'own-error').inputs).toEqual([])
  })
})

describe.each(VERSIONS)("Nix %s: errors in the user's own files", v => {
  it('nix eval: the undefined variable at its line in hosts/web.nix', () => {
    expect(parse(v, 'own-error', 'own-error.eval.stderr')).toEqual([
      {
        message: "undefined variable 'undefinedBuilder'",
        file: 'hosts/web.nix',
        line: 3,
        column: 34
      }
    ])
  })

  it("nix flake check --keep-going: three errors, each on the user's file", () => {
    const errors = parse(v, 'own-error', 'own-error.check.stderr')
    expect(errors).toHaveLength(3)
    expect(errors[0]).toMatchObject({
      message: "undefined variable 'undefinedBuilder'",
      file: 'hosts/web.nix',
      line: 3,
      column: 34
    })
    if (v === '2.8') {
      // 2.8: the message first with its own position; no frames without --show-trace.
      expect(errors[1]).toEqual({
        message: "assertion '(1 == 2)' failed",
        file: 'hosts/db.nix',
        line: 2,
        column: 7
      })
      expect(errors[2]).toEqual({ message: "boom in the user's flake" })
    } else {
      // 2.13+: frames first; the innermost frame in the user's flake is the `import` or `throw`.
      expect(errors[0].attribute).toBe('nixosConfigurations.web')
      expect(errors[1]).toEqual({
        message: "an integer with value '1' is not equal to an integer with value '2'",
        file: 'flake.nix',
        line: 4,
        column: 30,
        attribute: 'nixosConfigurations.db'
      })
      expect(errors[2]).toEqual({
        message: "boom in the user's flake",
        file: 'flake.nix',
        line: 5,
        column: 34,
        attribute: 'packages.x86_64-linux.tool'
      })
    }
    for (const e of errors) expect(e.inInput).toBeUndefined()
  })

  it('--show-trace gives the flake.nix frame for an error without a position', () => {
    const errors = parse(v, 'own-error', 'own-error.check-show-trace.stderr')
    const boom = errors.find(e => e.message === "boom in the user's flake")
    expect(boom).toMatchObject({ file: 'flake.nix', line: 5 })
  })
})

describe.each(VERSIONS)('Nix %s: errors inside the nixpkgs input', v => {
  const errors = parse(v, 'input-error', 'input-error.check.stderr')
  const web = errors.find(e => e.message === "attribute 'boot' missing")
  const db = errors.find(e => e.message.startsWith('Failed assertions:'))
  const mail = errors.find(e => e.message.startsWith('A definition for option'))

  it('finds the three errors, and none lands on a file of the input', () => {
    expect(errors).toHaveLength(3)
    for (const e of errors) expect(INPUT_FILES).not.toContain(e.file)
  })

  it('a position inside the input is named with the input, never annotated', () => {
    expect(web?.inInput).toBe('nixpkgs: nixos/top-level.nix:10')
    expect(describeNixError(web!)).toBe(
      "attribute 'boot' missing (at nixpkgs: nixos/top-level.nix:10)"
    )
    if (v === '2.8') {
      // No frame in the user's flake without --show-trace: no file at all.
      expect(web).toEqual({
        message: "attribute 'boot' missing",
        inInput: 'nixpkgs: nixos/top-level.nix:10'
      })
    } else {
      // The frame that names the host in the user's flake.nix.
      expect(web).toMatchObject({ file: 'flake.nix', line: 5, column: 5 })
    }
  })

  it('NixOS failed assertions keep their text', () => {
    expect(db?.message).toBe(
      'Failed assertions: - services.postgresql.enable needs a data directory'
    )
    if (v === '2.8') expect(db?.file).toBeUndefined()
    else {
      expect(db).toMatchObject({
        file: 'flake.nix',
        line: 9,
        inInput: 'nixpkgs: nixos/top-level.nix:8',
        attribute: 'nixosConfigurations.db'
      })
    }
  })

  it("a home-manager definition (`<file>, via option …`) points at the user's file", () => {
    expect(mail?.message).toMatch(
      /^A definition for option `home-manager\.users\.alice\.programs\.git\.enable' is not of type `boolean'\. Definition values: - In `\/nix\/store\/[0-9a-z]{32}-source\/hosts\/alice\.nix, via option home-manager\.users\.alice': "yes"$/
    )
    expect(mail?.file).toBe('hosts/alice.nix')
    expect(mail?.line).toBeUndefined()
    expect(mail?.inInput).toBeUndefined()
  })

  it("--show-trace: the innermost frame in the user's flake, the input position in the message", () => {
    const traced = parse(v, 'input-error', 'input-error.check-show-trace.stderr')
    const w = traced.find(e => e.message === "attribute 'boot' missing")
    expect(w).toMatchObject({
      file: 'flake.nix',
      line: 5,
      inInput: 'nixpkgs: nixos/top-level.nix:10'
    })
    for (const e of traced) expect(INPUT_FILES).not.toContain(e.file)
  })

  it("without the sources, a store path is the user's only when the repository has it", () => {
    const self = sourcesOf(v, 'input-error').self!
    const stderr = sample(v, 'input-error.check.stderr')
    // As the runtime does it: `sameAsRepo` compares contents; here the user's files are the
    // ones under the flake's own store path.
    const errs = parseNixErrors(stderr, {
      repoRoot: '/tmp/flakes/input-error',
      sameAsRepo: store => store.startsWith(`${self}/`)
    })
    for (const e of errs) expect(INPUT_FILES).not.toContain(e.file)
    expect(errs.find(e => e.message.startsWith('A definition'))?.file).toBe('hosts/alice.nix')
    // With nothing known, no store path is mapped at all.
    for (const e of parseNixErrors(stderr)) expect(e.file).toBeUndefined()
  })
})

describe('Nix 2.34 names checked-out files by their path and inputs by their URL', () => {
  it('maps the working tree to the repository and the «git+file:…» input to its name', () => {
    const stderr = sample('2.34', 'input-error.check.stderr')
    expect(stderr).toContain('at /tmp/flakes/input-error/flake.nix:5:5:')
    expect(stderr).toMatch(
      /at «git\+file:\/\/\/tmp\/flakes\/nixpkgs\?[^»]*»\/nixos\/top-level\.nix:10:16:/
    )
    // Were the input's accessor taken for the user's (any local «git+file:…»), the annotation
    // would land on the repository's nixos/top-level.nix.
    const web = parse('2.34', 'input-error', 'input-error.check.stderr')[0]
    expect(web).toMatchObject({ file: 'flake.nix', inInput: 'nixpkgs: nixos/top-level.nix:10' })
  })
})

describe('nix path-info --json, every shape captured', () => {
  const APP = '/nix/store/84352c99i74pzpdvmwrjxwcxssgr870k-app-0.1'
  const LIB = '/nix/store/j1c1yi4dhmd99camqy8s3s49az61b1li-libfoo-1.2'
  const expected = [
    { path: APP, narSize: 168, references: [LIB] },
    { path: LIB, narSize: 120, references: [] }
  ]
  const cases: [Version, string][] = [
    ['2.8', 'closure.path-info.stdout'], // array of { path, … }
    ['2.26', 'closure.path-info.stdout'], // object keyed by full path
    ['2.34', 'closure.path-info.stdout'], // keyed by full path, with version 1 (and a warning)
    ['2.34', 'closure.path-info-format-1.stdout'],
    ['2.34', 'closure.path-info-format-2.stdout'] // { info: { <base name>: … }, storeDir }
  ]
  it.each(cases)('Nix %s %s', (v, file) => {
    const parsed = parsePathInfo(sample(v, file)).sort((a, b) => (a.path < b.path ? -1 : 1))
    expect(parsed).toEqual(expected)
  })

  it.each([
    ['2.8', 'closure.path-info-invalid.stdout'],
    ['2.26', 'closure.path-info-invalid.stdout'],
    ['2.34', 'closure.path-info-invalid.stdout'],
    ['2.34', 'closure.path-info-invalid-format-2.stdout']
  ] as [Version, string][])('an invalid path (Nix %s %s) gives nothing', (v, file) => {
    expect(parsePathInfo(sample(v, file))).toEqual([])
  })

  it.each(VERSIONS)('Nix %s: the flags chosen for its version print no deprecation warning', v => {
    const flags = pathInfoJsonFlags(parseNixVersion(sample(v, 'version.txt')))
    if (v === '2.34') {
      expect(flags).toEqual(['--json', '--json-format', '2'])
      // The warning Nix 2.34 prints for --json alone, and its absence with the flag.
      expect(sample(v, 'closure.path-info.stderr')).toMatch(
        /'--json' without '--json-format' is deprecated.*will become an error/
      )
      expect(hasSample(v, 'closure.path-info-format-2.stderr')).toBe(false)
    } else {
      // No --json-format before 2.33: passing it would fail.
      expect(flags).toEqual(['--json'])
      expect(hasSample(v, 'closure.path-info.stderr')).toBe(false)
    }
  })
})

describe('parseNixVersion and pathInfoJsonFlags on versions not run here', () => {
  // The version lines of Lix and Determinate Nix, from their `--version` (not packaged by Debian).
  it.each([
    ['nix (Nix) 2.33.0', ['--json', '--json-format', '2']],
    ['nix (Nix) 2.32.4', ['--json']],
    ['nix (Nix) 3.0.0pre20260101_abcdef', ['--json', '--json-format', '2']],
    ['nix (Lix, like Nix) 2.93.3', ['--json']],
    ['nix (Determinate Nix 3.8.2) 2.30.1', ['--json']],
    ['garbage', ['--json']]
  ])('%s', (line, flags) => {
    expect(pathInfoJsonFlags(parseNixVersion(line))).toEqual(flags)
  })
})
