/**
 * The update engine's pure parts: which inputs moved between two locks (compare links for
 * github.com inputs only, follows left out, nested inputs named by their path), the nix argv per
 * Nix version, input names, and the pull request body kept under GitHub's limit.
 */
import { describe, expect, it } from '@jest/globals'
import type { PathInfo } from '../../src/core/closure.js'
import { diffClosures, selectedPackages } from '../../src/core/diff.js'
import { parseFlakeLock } from '../../src/core/flake-lock.js'
import { authOptions } from '../../src/core/git-branch.js'
import { flakeUpdateArgv, parseNixVersion } from '../../src/core/nix.js'
import { secrets } from '../../src/core/secrets.js'
import {
  checkInputNames,
  lockChanges,
  renderInputs,
  renderUpdateBody,
  renderUpdateSummary,
  sameLock,
  type UpdateResult
} from '../../src/core/update.js'

const REV = (c: string) => c.repeat(40)

function lock(nixpkgsRev: string, opts: { hmRev?: string; extra?: boolean; ref?: string } = {}) {
  const nodes: Record<string, unknown> = {
    root: {
      inputs: {
        nixpkgs: 'nixpkgs',
        'home-manager': 'home-manager',
        ...(opts.extra ? { extra: 'extra' } : {})
      }
    },
    nixpkgs: {
      locked: {
        type: 'github',
        owner: 'NixOS',
        repo: 'nixpkgs',
        rev: nixpkgsRev,
        lastModified: 1767225600,
        narHash: `sha256-${nixpkgsRev.slice(0, 8)}`,
        ...(opts.ref ? { ref: opts.ref } : {})
      },
      original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' }
    },
    'home-manager': {
      inputs: { nixpkgs: ['nixpkgs'], utils: 'utils' },
      locked: {
        type: 'github',
        owner: 'nix-community',
        repo: 'home-manager',
        host: 'ghe.example.com',
        rev: opts.hmRev ?? REV('a'),
        lastModified: 1767225600
      }
    },
    utils: {
      locked: {
        type: 'git',
        url: 'https://github.com/numtide/flake-utils.git',
        rev: opts.hmRev ?? REV('b'),
        lastModified: 1767225600
      }
    }
  }
  if (opts.extra) nodes.extra = { locked: { type: 'path', path: '/srv/extra', narHash: 'x' } }
  return parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes }))
}

describe('lockChanges', () => {
  it('lists each input that moved, with a compare link for github.com inputs only', () => {
    const changes = lockChanges(lock(REV('1')), lock(REV('2'), { hmRev: REV('3'), extra: true }))
    expect(changes.map(c => [c.input, c.change])).toEqual([
      ['extra', 'added'],
      ['home-manager', 'updated'],
      ['nixpkgs', 'updated'],
      ['home-manager/utils', 'updated']
    ])
    const nixpkgs = changes.find(c => c.input === 'nixpkgs')!
    expect(nixpkgs).toMatchObject({
      before: { rev: REV('1'), lastModified: 1767225600, source: 'github:NixOS/nixpkgs' },
      after: { rev: REV('2') },
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${REV('1')}...${REV('2')}`
    })
    // On another GitHub server: no github.com link.
    expect(changes.find(c => c.input === 'home-manager')!.compareUrl).toBeUndefined()
    // A git input on github.com over https gets one too.
    expect(changes.find(c => c.input === 'home-manager/utils')!.compareUrl).toBe(
      `https://github.com/numtide/flake-utils/compare/${REV('b')}...${REV('3')}`
    )
    // `home-manager/nixpkgs` follows nixpkgs: not listed twice.
    expect(changes.some(c => c.input === 'home-manager/nixpkgs')).toBe(false)
  })

  it('finds nothing between a lock and itself, whatever the formatting', () => {
    const a = lock(REV('1'))
    expect(lockChanges(a, lock(REV('1')))).toEqual([])
    expect(sameLock(a, lock(REV('1')))).toBe(true)
    expect(sameLock(a, lock(REV('2')))).toBe(false)
    // Another Nix's spelling of the same pin (Nix 2.34 rewrites `ref` for the same commit).
    expect(lockChanges(a, lock(REV('1'), { ref: 'refs/heads/main' }))).toEqual([])
    // A path input has no commit: its content hash names the revision.
    const path = (narHash: string) =>
      parseFlakeLock(
        JSON.stringify({
          version: 7,
          root: 'root',
          nodes: {
            root: { inputs: { secrets: 'secrets' } },
            secrets: { locked: { type: 'path', path: '/srv/secrets', narHash } }
          }
        })
      )
    const moved = lockChanges(path(`sha256-${'A'.repeat(43)}`), path(`sha256-${'B'.repeat(43)}`))
    expect(renderInputs(moved)).toContain(`\`sha256-AAAAAAAAAAAA\` | \`sha256-BBBBBBBBBBBB\``)
    const removed = lockChanges(lock(REV('1'), { extra: true }), a)
    expect(removed).toEqual([expect.objectContaining({ input: 'extra', change: 'removed' })])
  })
})

describe('flakeUpdateArgv', () => {
  const v = (text: string) => parseNixVersion(text)
  it('updates every input the same way on every version, and single inputs per version', () => {
    for (const t of ['nix (Nix) 2.8.0', 'nix (Nix) 2.34.8', 'nix (Lix, like Nix) 2.91.1'])
      expect(flakeUpdateArgv([], v(t)).slice(-2)).toEqual(['flake', 'update'])
    expect(flakeUpdateArgv(['nixpkgs', 'a/b'], v('nix (Nix) 2.8.0')).slice(3)).toEqual([
      'flake',
      'lock',
      '--update-input',
      'nixpkgs',
      '--update-input',
      'a/b'
    ])
    expect(flakeUpdateArgv(['nixpkgs'], v('nix (Nix) 2.18.9')).slice(3, 5)).toEqual([
      'flake',
      'lock'
    ])
    expect(flakeUpdateArgv(['nixpkgs', 'a/b'], v('nix (Nix) 2.19.0')).slice(3)).toEqual([
      'flake',
      'update',
      'nixpkgs',
      'a/b'
    ])
    expect(flakeUpdateArgv(['nixpkgs'], v('nix (Lix, like Nix) 2.91.1')).slice(3, 5)).toEqual([
      'flake',
      'lock'
    ])
  })
})

describe('checkInputNames', () => {
  it('takes names the lock has, nested ones by path, and refuses others with one sentence', () => {
    const l = lock(REV('1'))
    expect(checkInputNames(['nixpkgs', 'home-manager/utils', 'nixpkgs'], l)).toEqual([
      'nixpkgs',
      'home-manager/utils'
    ])
    expect(() => checkInputNames(['nixpkgz'], l)).toThrow(
      "Input 'inputs': the flake has no input 'nixpkgz'; its inputs are nixpkgs, home-manager."
    )
    expect(() => checkInputNames(['--override-input'], l)).toThrow(/is not a flake input name/)
    expect(() => checkInputNames(['a b'], undefined)).toThrow(/is not a flake input name/)
  })
})

describe('renderUpdateBody', () => {
  let n = 0
  const p = (name: string) => `/nix/store/${String(++n).padStart(32, '0')}-${name}`
  /** A host whose system upgrades `count` packages. */
  function hostDiff(host: string, count: number) {
    const mk = (v: string) => {
      const pkgs: PathInfo[] = Array.from({ length: count }, (_, i) => ({
        path: p(`tool${i}-with-a-long-name-${v}`),
        narSize: 1000 + i,
        references: []
      }))
      const top: PathInfo = {
        path: p(`nixos-system-${host}-24.05`),
        narSize: 100,
        references: pkgs.map(x => x.path)
      }
      return [top, ...pkgs]
    }
    const b = mk('1.0')
    const a = mk('1.1')
    return diffClosures(b, a, {
      beforePath: b[0].path,
      afterPath: a[0].path,
      host,
      selected: { before: selectedPackages(b[0].path, b), after: selectedPackages(a[0].path, a) }
    })
  }
  function result(hosts: number, packages: number): UpdateResult {
    const l = lock(REV('2'))
    return {
      repoRoot: '/repo',
      lockFile: 'flake.lock',
      lockAfter: '{}',
      changed: true,
      inputs: lockChanges(lock(REV('1')), l),
      hosts: Array.from({ length: hosts }, (_, i) => {
        const diff = hostDiff(`web${i}`, packages)
        return { host: `web${i}`, state: 'changed' as const, diff }
      }),
      unchangedHosts: ['db1']
    }
  }

  it('shows everything when it fits', () => {
    const r = result(2, 3)
    const { body, collapsed } = renderUpdateBody(r)
    expect(collapsed).toBe(false)
    expect(body).toContain('#### web0')
    expect(body).toContain('| tool2\\-with\\-a\\-long\\-name | upgraded |')
    expect(body).toContain(`compare/${REV('1')}...${REV('2')}`)
    expect(renderUpdateSummary(r)).toContain('tool2\\-with')
  })

  it("stays within GitHub's limit, collapsing detail first, then one line per host", () => {
    const big = result(4, 3000)
    expect(renderUpdateSummary(big).length).toBeGreaterThan(65536)
    const fitted = renderUpdateBody(big, { summaryUrl: 'https://github.com/o/r/actions/runs/1' })
    expect(fitted.collapsed).toBe(true)
    expect(fitted.body.length).toBeLessThanOrEqual(65536)
    for (let i = 0; i < 4; i++) expect(fitted.body).toContain(`web${i}`)
    expect(fitted.body).toContain('everything is in [the job summary]')
    const many = result(300, 100)
    const lines = renderUpdateBody(many, { maxChars: 65536 })
    expect(lines.body.length).toBeLessThanOrEqual(65536)
    for (let i = 0; i < 300; i++) expect(lines.body).toMatch(new RegExp(`(#### |\`)web${i}\\b`))
    const tiny = renderUpdateBody(big, { maxChars: 3000 })
    expect(tiny.body.length).toBeLessThanOrEqual(3000)
  })
})

describe('authOptions', () => {
  it("sends the token as actions/checkout does, clearing the checkout's header first", () => {
    const b64 = Buffer.from('x-access-token:tok-123456').toString('base64')
    expect(authOptions('https://github.com/octo/fleet', 'tok-123456')).toEqual([
      '-c',
      'http.https://github.com/.extraheader=',
      '-c',
      `http.https://github.com/.extraheader=AUTHORIZATION: basic ${b64}`
    ])
    expect(secrets.scrub(`header ${b64}`)).toBe('header ***')
    expect(authOptions('/srv/git/fleet.git', 'tok-123456')[1]).toBe('http.extraheader=')
    expect(authOptions('https://github.com/octo/fleet', '')).toEqual([])
  })
})
