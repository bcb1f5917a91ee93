import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import fc from 'fast-check'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { run } from '../../src/core/process.js'
import { nixFlakeSources } from '../../src/core/nix.js'
import {
  parseNixErrors,
  sameContentAs,
  toRepoPath,
  type FlakeSources
} from '../../src/core/nix-errors.js'
import { NIX_CONFIG } from '../harness/nix-env.js'
import { itWith } from '../harness/requires.js'

/** Whether Nix named the positions by store paths (Nix 2.34 names a checkout's files on disk). */
const inStore = (stderr: string) => / at \/nix\/store\//.test(stderr)

/** The minor version of the nix on PATH (2.8 → 8, 2.34 → 34). */
function nixMinor(): number {
  const m = /(\d+)\.(\d+)/.exec(spawnSync('nix', ['--version'], { encoding: 'utf8' }).stdout ?? '')
  return m ? Number(m[2]) : 0
}

/** Run nix (or nix-instantiate) and return its stderr; the command is expected to fail. */
async function nixStderr(argv: string[], cwd: string): Promise<string> {
  const result = await run(argv, { cwd, timeoutMs: 60_000, check: false, env: { NIX_CONFIG } })
  expect(result.exitCode).not.toBe(0)
  return result.stderr
}

/** Where the flake's source and its inputs are, read by the real nix as check.ts reads them. */
async function sourcesOf(flake: string, cwd: string): Promise<FlakeSources> {
  const sources = await nixFlakeSources(flake, { cwd, env: { NIX_CONFIG } })
  expect(sources?.self).toMatch(/^\/nix\/store\/[0-9a-z]{32}-source$/)
  return sources!
}

/** A git repository with the given files, all tracked (a flake sees only tracked files). */
function gitRepo(root: string, files: Record<string, string>): string {
  mkdirSync(root, { recursive: true })
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
  }
  git('init', '-q')
  git('add', '-A')
  return root
}

const FLAKE_WITH_HOSTS = `{
  outputs = { self }: {
    nixosConfigurations.a = import ./hosts/a.nix;
    nixosConfigurations.b = import ./hosts/b.nix;
    packages.x86_64-linux.c = throw "boom here";
  };
}
`
// Line 2, column 12: the undefined variable.
const HOST_A = `{
  config = bar;
}
`
// Line 2, column 7: the failing assertion.
const HOST_B = `{ x = 1; }
  // (assert 1 == 2; { y = 2; })
`

describe('parseNixErrors on real Nix output', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nix-errors-'))
  })
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  const maybe = itWith(['nix'])

  maybe('an evaluation error at a known line in a host file', async () => {
    const repo = gitRepo(join(dir, 'eval'), {
      'flake.nix':
        '{\n  outputs = { self }: {\n    nixosConfigurations.web = import ./hosts/web.nix;\n  };\n}\n',
      'hosts/web.nix': 'let\n  cfg = { a = 1; };\nin\n{\n  config = cfg.foo;\n}\n'
    })
    const stderr = await nixStderr(['nix', 'eval', '.#nixosConfigurations.web.config'], repo)
    const expected = [
      { message: "attribute 'foo' missing", file: 'hosts/web.nix', line: 5, column: 12 }
    ]
    const sources = await sourcesOf('.', repo)
    expect(parseNixErrors(stderr, { repoRoot: repo, sources })).toEqual(expected)
    // Without the sources, by content: the store copy is the repository's file.
    expect(parseNixErrors(stderr, { repoRoot: repo, sameAsRepo: sameContentAs(repo) })).toEqual(
      expected
    )
    // A repository whose hosts/web.nix differs (as the user's lib/modules.nix differs from
    // nixpkgs'): no annotation on it. (Nix 2.34 names the file on disk, not a store copy.)
    if (!inStore(stderr)) return
    writeFileSync(join(repo, 'hosts/web.nix'), '# another file\n')
    expect(parseNixErrors(stderr, { repoRoot: repo, sameAsRepo: sameContentAs(repo) })).toEqual([
      { message: "attribute 'foo' missing" }
    ])
  })

  maybe('a syntax error in flake.nix', async () => {
    const repo = gitRepo(join(dir, 'syntax'), {
      'flake.nix': '{\n  outputs = { self }: {\n    x = 1 +;\n  };\n}\n'
    })
    const stderr = await nixStderr(['nix', 'flake', 'check'], repo)
    const errors = parseNixErrors(stderr, { repoRoot: repo, sameAsRepo: sameContentAs(repo) })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ file: 'flake.nix', line: 3, column: 12 })
    expect(errors[0].message).toMatch(/^syntax error, unexpected/)
  })

  maybe(
    'flake check --keep-going in a subdirectory flake: undefined variable, assertion, throw',
    async () => {
      const repo = gitRepo(join(dir, 'sub'), {
        'infra/flake.nix': FLAKE_WITH_HOSTS,
        'infra/hosts/a.nix': HOST_A,
        'infra/hosts/b.nix': HOST_B,
        README: 'x\n'
      })
      const stderr = await nixStderr(
        ['nix', 'flake', 'check', '--keep-going', '--show-trace', './infra'],
        repo
      )
      expect(stderr).toContain('some errors were encountered during the evaluation')
      const errors = parseNixErrors(stderr, {
        repoRoot: repo,
        flakeSubdir: 'infra',
        sources: await sourcesOf('./infra', repo)
      })
      // The summary line is not an error of its own; the order is Nix's.
      expect(errors).toHaveLength(3)
      expect(errors).toContainEqual({
        message: "undefined variable 'bar'",
        file: 'infra/hosts/a.nix',
        line: 2,
        column: 12,
        attribute: 'nixosConfigurations.a'
      })
      // Nix 2.13+ words a failed `assert a == b` by its values.
      const old = nixMinor() < 13
      expect(errors).toContainEqual({
        message: old
          ? "assertion '(1 == 2)' failed"
          : "an integer with value '1' is not equal to an integer with value '2'",
        file: 'infra/hosts/b.nix',
        line: 2,
        column: 7,
        attribute: 'nixosConfigurations.b'
      })
      // `throw` has no position of its own in Nix 2.8: --show-trace gives the flake.nix frame.
      // Nix 2.13+ point at the `throw` call itself.
      expect(errors).toContainEqual({
        message: 'boom here',
        file: 'infra/flake.nix',
        line: 5,
        column: old ? 5 : 31,
        attribute: 'packages.x86_64-linux.c'
      })

      // A git flake in a subdirectory is copied whole (paths start with infra/); a path: flake only
      // the subdirectory. Both map to the same repository paths.
      const viaPath = parseNixErrors(
        await nixStderr(
          ['nix', 'flake', 'check', '--keep-going', `path:${join(repo, 'infra')}`],
          repo
        ),
        {
          repoRoot: repo,
          flakeSubdir: 'infra',
          sources: await sourcesOf(`path:${join(repo, 'infra')}`, repo),
          fileExists: rel => existsSync(join(repo, rel))
        }
      )
      expect(viaPath.find(e => e.message === "undefined variable 'bar'")).toMatchObject({
        file: 'infra/hosts/a.nix',
        line: 2,
        column: 12
      })
    }
  )

  maybe('only positions inside the flake source map when its store path is known', async () => {
    const repo = gitRepo(join(dir, 'meta'), {
      'flake.nix': FLAKE_WITH_HOSTS,
      'hosts/a.nix': HOST_A,
      'hosts/b.nix': HOST_B
    })
    const meta = await run(['nix', 'flake', 'metadata', '--json'], {
      cwd: repo,
      timeoutMs: 60_000,
      env: { NIX_CONFIG }
    })
    const sourcePath = JSON.parse(meta.stdout).path as string
    const stderr = await nixStderr(['nix', 'eval', '.#nixosConfigurations.a.config'], repo)
    if (!inStore(stderr)) {
      // Nix 2.34 names the checked-out file by its path on disk: the repository root maps it.
      expect(parseNixErrors(stderr, { sourcePath, repoRoot: repo })).toEqual([
        { message: "undefined variable 'bar'", file: 'hosts/a.nix', line: 2, column: 12 }
      ])
      return
    }
    expect(parseNixErrors(stderr, { sourcePath })).toEqual([
      { message: "undefined variable 'bar'", file: 'hosts/a.nix', line: 2, column: 12 }
    ])
    // Another store path (as nixpkgs would be) is not the user's.
    expect(
      parseNixErrors(stderr, { sourcePath: '/nix/store/00000000000000000000000000000000-source' })
    ).toEqual([{ message: "undefined variable 'bar'" }])
  })

  maybe('local non-flake evaluation maps paths under the repository root', async () => {
    const repo = gitRepo(join(dir, 'local'), { 'hosts/a.nix': HOST_A })
    const stderr = await nixStderr(
      ['nix-instantiate', '--eval', 'hosts/a.nix', '-A', 'config'],
      repo
    )
    expect(parseNixErrors(stderr, { repoRoot: repo })).toEqual([
      { message: "undefined variable 'bar'", file: 'hosts/a.nix', line: 2, column: 12 }
    ])
    expect(parseNixErrors(stderr, {})).toEqual([{ message: "undefined variable 'bar'" }])
  })
})

const USER = '/nix/store/d01yixjig8cclax9sdkfzg2hvcgprh60-source'
const NIXPKGS = '/nix/store/9fpv0kjq9a80isa1wkkvrdqsh9dpcn05-source'

/**
 * Shapes no Nix on this machine prints (captured output of Nix 2.8, 2.26 and 2.34 is read in
 * nix-samples.test.ts): written by hand, each from the source named.
 */
describe('parseNixErrors on samples of other Nix versions', () => {
  // A «github:…» input cannot be fetched here; the «…» form is the one Nix 2.34 printed for a
  // git+file input (nix-samples/nix-2.34), with colours as Nix prints them on a terminal.
  it('newer accessor-style positions and colours', () => {
    const stderr =
      "\x1b[31;1merror:\x1b[0m undefined variable \x1b[35;1m'pkgs'\x1b[0m\r\n\r\n       \x1b[34;1mat \x1b[35;1m«git+file:///home/u/infra»/hosts/db.nix:7:14\x1b[0m:\r\n" +
      'error: something in nixpkgs\n\n       at «github:NixOS/nixpkgs/abc123»/lib/trivial.nix:3:1:\n'
    expect(parseNixErrors(stderr, { repoRoot: '/home/u/infra' })).toEqual([
      { message: "undefined variable 'pkgs'", file: 'hosts/db.nix', line: 7, column: 14 },
      { message: 'something in nixpkgs', inInput: 'github:nixos/nixpkgs: lib/trivial.nix:3' }
    ])
    expect(
      parseNixErrors(stderr, {
        repoRoot: '/home/u/infra',
        sources: { inputs: [{ name: 'nixpkgs', url: 'github:NixOS/nixpkgs' }] }
      })[1]
    ).toEqual({ message: 'something in nixpkgs', inInput: 'nixpkgs: lib/trivial.nix:3' })
    // Another local checkout is not the user's.
    expect(parseNixErrors(stderr, { repoRoot: '/home/u/other' })[0]).toEqual({
      message: "undefined variable 'pkgs'",
      inInput: '/home/u/infra: hosts/db.nix:7'
    })
  })

  // Nix 2.31–2.32 `flake check --keep-going`: each error through ignoreExceptionExceptInterrupt
  // (Nix's src/libutil/util.cc), which prints `error (ignored): ` and the message alone, with no
  // position and no frames; a message starting with a line break continues at column 0. Written
  // from that source: Debian packages no 2.31 or 2.32.
  it('Nix 2.31–2.32: error (ignored) with the message alone', () => {
    const stderr = [
      'evaluating flake...',
      "checking flake output 'nixosConfigurations'...",
      "checking NixOS configuration 'nixosConfigurations.web'...",
      "error (ignored): undefined variable 'undefinedBuilder'",
      "checking NixOS configuration 'nixosConfigurations.db'...",
      'error (ignored): ',
      'Failed assertions:',
      '- services.postgresql.enable needs a data directory',
      '- networking.hostName is empty',
      "checking flake output 'packages'...",
      "error (ignored): boom in the user's flake",
      'error: some errors were encountered during the evaluation',
      ''
    ].join('\n')
    expect(parseNixErrors(stderr, { sources: { self: USER, inputs: [] } })).toEqual([
      { message: "undefined variable 'undefinedBuilder'" },
      {
        message:
          'Failed assertions: - services.postgresql.enable needs a data directory - networking.hostName is empty'
      },
      { message: "boom in the user's flake" }
    ])
  })

  // Nix 2.3's one-line form: kept from the earlier hand-written samples (no Nix 2.3 here).
  it('Nix 2.3: message and position on one line', () => {
    const stderr = `error: undefined variable 'bar' at ${USER}/hosts/a.nix:2:12\n`
    expect(parseNixErrors(stderr, { sources: { self: USER, inputs: [] } })).toEqual([
      { message: "undefined variable 'bar'", file: 'hosts/a.nix', line: 2, column: 12 }
    ])
  })

  // Hand-written: a NixOS definition list in the form of the captured home-manager one (whose
  // `, via option` suffix nixpkgs' lib/types.nix, deferredModuleWith, adds), and a builder failure
  // in the words Nix 2.8 prints here.
  it('module definition sites without a line, builder failures, and duplicates', () => {
    const stderr = `error: A definition for option \`services.nginx.enable' is not of type \`boolean'. Definition values:
       - In \`${USER}/hosts/web.nix': "yes"
error: builder for '/nix/store/8vf92l7v9s232gcyqhkydmgvrcanl7hj-a.drv' failed with exit code 1;
       last 10 log lines:
       > boom
error: builder for '/nix/store/8vf92l7v9s232gcyqhkydmgvrcanl7hj-a.drv' failed with exit code 1;
`
    expect(parseNixErrors(stderr, { sources: { self: USER, inputs: [] } })).toEqual([
      {
        message: `A definition for option \`services.nginx.enable' is not of type \`boolean'. Definition values: - In \`${USER}/hosts/web.nix': "yes"`,
        file: 'hosts/web.nix'
      },
      {
        message:
          "builder for '/nix/store/8vf92l7v9s232gcyqhkydmgvrcanl7hj-a.drv' failed with exit code 1;"
      }
    ])
  })

  it('ignores text that is not an error, and the keep-going summary', () => {
    expect(
      parseNixErrors('evaluating flake...\nwarning: Git tree is dirty\nrunning flake checks...\n')
    ).toEqual([])
    expect(parseNixErrors('error: some errors were encountered during the evaluation\n')).toEqual(
      []
    )
  })
})

describe('toRepoPath', () => {
  it('refuses paths that climb out, and keeps subdirectory paths right', () => {
    expect(toRepoPath(`${USER}/../etc/passwd`)).toBeUndefined()
    const sources = { self: USER, inputs: [{ name: 'nixpkgs', path: NIXPKGS }] }
    expect(toRepoPath(`${USER}/hosts/a.nix`, { flakeSubdir: 'infra', sources })).toBe(
      'infra/hosts/a.nix'
    )
    expect(toRepoPath(`${USER}/infra/hosts/a.nix`, { flakeSubdir: 'infra/', sources })).toBe(
      'infra/hosts/a.nix'
    )
    expect(toRepoPath(`${NIXPKGS}/lib/modules.nix`, { sources })).toBeUndefined()
    expect(toRepoPath(`${USER}/hosts/a.nix`)).toBeUndefined()
    expect(toRepoPath('/nix/store/short-source/a.nix')).toBeUndefined()
    expect(toRepoPath('/home/u/repo/a.nix', { repoRoot: '/home/u/repo/' })).toBe('a.nix')
    expect(toRepoPath('/home/u/other/a.nix', { repoRoot: '/home/u/repo' })).toBeUndefined()
  })
})

describe('property: parseNixErrors is total', () => {
  it('any text gives a list of well-formed errors', () => {
    const pieces = fc.constantFrom(
      'error: ',
      'error (ignored): ',
      '\n',
      '       ',
      `at ${USER}/a.nix:1:2:`,
      "… while checking flake output 'x'",
      'x',
      '\x1b[31m',
      `at ${USER}/../b.nix:3:4`,
      '«git+file:///r»/c.nix:5:6'
    )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.array(pieces, { maxLength: 30 }).map(p => p.join(''))
        ),
        text => {
          for (const e of parseNixErrors(text, { flakeSubdir: 'infra' })) {
            expect(typeof e.message).toBe('string')
            expect(e.message).not.toMatch(/[\n\r]/)
            if (e.file !== undefined) {
              expect(e.file.split('/')).not.toContain('..')
              expect(e.file.startsWith('/')).toBe(false)
            }
            if (e.line !== undefined) expect(e.line).toBeGreaterThan(0)
          }
        }
      ),
      { numRuns: 3000 }
    )
  })
})
