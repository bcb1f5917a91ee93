import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import fc from 'fast-check'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { run } from '../../src/core/process.js'
import { parseNixErrors, toRepoPath } from '../../src/core/nix-errors.js'
import { NIX_CONFIG } from '../harness/nix-env.js'
import { itWith } from '../harness/requires.js'

/** Run nix (or nix-instantiate) and return its stderr; the command is expected to fail. */
async function nixStderr(argv: string[], cwd: string): Promise<string> {
  const result = await run(argv, { cwd, timeoutMs: 60_000, check: false, env: { NIX_CONFIG } })
  expect(result.exitCode).not.toBe(0)
  return result.stderr
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
    expect(parseNixErrors(stderr, { repoRoot: repo })).toEqual([
      { message: "attribute 'foo' missing", file: 'hosts/web.nix', line: 5, column: 12 }
    ])
  })

  maybe('a syntax error in flake.nix', async () => {
    const repo = gitRepo(join(dir, 'syntax'), {
      'flake.nix': '{\n  outputs = { self }: {\n    x = 1 +;\n  };\n}\n'
    })
    const stderr = await nixStderr(['nix', 'flake', 'check'], repo)
    const errors = parseNixErrors(stderr)
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
      const errors = parseNixErrors(stderr, { flakeSubdir: 'infra' })
      // The summary line is not an error of its own; the order is Nix's.
      expect(errors).toHaveLength(3)
      expect(errors).toContainEqual({
        message: "undefined variable 'bar'",
        file: 'infra/hosts/a.nix',
        line: 2,
        column: 12,
        attribute: 'nixosConfigurations.a'
      })
      expect(errors).toContainEqual({
        message: "assertion '(1 == 2)' failed",
        file: 'infra/hosts/b.nix',
        line: 2,
        column: 7,
        attribute: 'nixosConfigurations.b'
      })
      // `throw` has no position of its own; --show-trace gives the flake.nix frame.
      expect(errors).toContainEqual({
        message: 'boom here',
        file: 'infra/flake.nix',
        line: 5,
        column: 5,
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
          flakeSubdir: 'infra',
          fileExists: rel => existsSync(join(repo, rel))
        }
      )
      expect(viaPath).toContainEqual({
        message: "undefined variable 'bar'",
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

describe('parseNixErrors on samples of other Nix versions', () => {
  it('Nix 2.13+: frames first, the message last with its innermost position', () => {
    const stderr = `building the system configuration...
error:
       … while calling the 'head' builtin

         at ${NIXPKGS}/lib/attrsets.nix:922:11:

          921|         || pred here (elemAt values 1) (head values) then
          922|           head values
             |           ^

       … while evaluating the attribute 'value'

         at ${NIXPKGS}/lib/modules.nix:807:9:

          806|     in warnDeprecation opt //
          807|       { value = builtins.addErrorContext "while evaluating the option \`\${showOption loc}':" value;
             |         ^

       (stack trace truncated; use '--show-trace' to show the full trace)

       error: attribute 'age' missing

       at ${USER}/machines/mracek/default.nix:60:21:

           59|          services.tor.settings.MapAddress = [
           60|                  "mracek.nixium \${config.age.secrets.mracek-onion.path}" # Add Tor Alias
             |                     ^
`
    expect(parseNixErrors(stderr, { sourcePath: USER })).toEqual([
      {
        message: "attribute 'age' missing",
        file: 'machines/mracek/default.nix',
        line: 60,
        column: 21
      }
    ])
  })

  it('when the innermost position is in nixpkgs, points at the innermost frame in the flake', () => {
    const stderr = `error:
       … while checking flake output 'nixosConfigurations'

         at ${USER}/flake.nix:48:5:

           47|
           48|     nixosConfigurations = {
             |     ^

       … while evaluating the module argument \`helpers' in "${USER}/modules/vim.nix":

       … while importing

         at ${USER}/hosts/web/default.nix:12:3:

           12|   imports = [ ../../modules/vim.nix ];
             |   ^

       error: attribute 'helpers' missing

       at ${NIXPKGS}/lib/modules.nix:469:28:

          468|         builtins.addErrorContext (context name)
          469|           (args.\${name} or config._module.args.\${name})
             |                            ^
`
    expect(parseNixErrors(stderr, { sourcePath: USER })).toEqual([
      {
        message: "attribute 'helpers' missing",
        file: 'hosts/web/default.nix',
        line: 12,
        column: 3,
        attribute: 'nixosConfigurations'
      }
    ])
  })

  it('newer accessor-style positions and colours', () => {
    const stderr =
      "\x1b[31;1merror:\x1b[0m undefined variable \x1b[35;1m'pkgs'\x1b[0m\r\n\r\n       \x1b[34;1mat \x1b[35;1m«git+file:///home/u/infra»/hosts/db.nix:7:14\x1b[0m:\r\n" +
      'error: something in nixpkgs\n\n       at «github:NixOS/nixpkgs/abc123»/lib/trivial.nix:3:1:\n'
    expect(parseNixErrors(stderr)).toEqual([
      { message: "undefined variable 'pkgs'", file: 'hosts/db.nix', line: 7, column: 14 },
      { message: 'something in nixpkgs' }
    ])
  })

  it('Nix 2.3: message and position on one line', () => {
    const stderr = `error: undefined variable 'bar' at ${USER}/hosts/a.nix:2:12\n`
    expect(parseNixErrors(stderr)).toEqual([
      { message: "undefined variable 'bar'", file: 'hosts/a.nix', line: 2, column: 12 }
    ])
  })

  it('module definition sites without a line, builder failures, and duplicates', () => {
    const stderr = `error: A definition for option \`services.nginx.enable' is not of type \`boolean'. Definition values:
       - In \`${USER}/hosts/web.nix': "yes"
error: builder for '/nix/store/8vf92l7v9s232gcyqhkydmgvrcanl7hj-a.drv' failed with exit code 1;
       last 10 log lines:
       > boom
error: builder for '/nix/store/8vf92l7v9s232gcyqhkydmgvrcanl7hj-a.drv' failed with exit code 1;
`
    expect(parseNixErrors(stderr)).toEqual([
      {
        message:
          "A definition for option `services.nginx.enable' is not of type `boolean'. Definition values:",
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
    expect(toRepoPath(`${USER}/hosts/a.nix`, { flakeSubdir: 'infra' })).toBe('infra/hosts/a.nix')
    expect(toRepoPath(`${USER}/infra/hosts/a.nix`, { flakeSubdir: 'infra/' })).toBe(
      'infra/hosts/a.nix'
    )
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
