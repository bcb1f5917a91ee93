import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { ActionError } from '../../src/core/errors.js'
import { parseFlakeLock, resolveInput, staleInputs } from '../../src/core/flake-lock.js'

const DAY = 86400
const NOW = new Date('2024-06-01T00:00:00Z')
const nowS = NOW.getTime() / 1000

// A version 7 lock as Nix writes it: nixpkgs, home-manager following nixpkgs, a non-flake input,
// a path input without lastModified, and an input that follows another (array).
const LOCK = JSON.stringify({
  nodes: {
    'home-manager': {
      inputs: { nixpkgs: ['nixpkgs'] },
      locked: {
        lastModified: nowS - 10 * DAY,
        narHash: 'sha256-x',
        owner: 'nix-community',
        repo: 'home-manager',
        rev: 'abc',
        type: 'github'
      },
      original: { owner: 'nix-community', repo: 'home-manager', type: 'github' }
    },
    nixpkgs: {
      locked: {
        lastModified: nowS - 45 * DAY - 3600,
        narHash: 'sha256-y',
        owner: 'NixOS',
        repo: 'nixpkgs',
        rev: 'def',
        type: 'github'
      },
      original: { owner: 'NixOS', ref: 'nixos-24.05', repo: 'nixpkgs', type: 'github' }
    },
    secrets: {
      flake: false,
      locked: {
        lastModified: nowS - 400 * DAY,
        narHash: 'sha256-z',
        type: 'git',
        url: 'https://example.com/s.git',
        rev: 'f00'
      },
      original: { type: 'git', url: 'https://example.com/s.git' }
    },
    local: {
      locked: { path: '/tmp/x', type: 'path', narHash: 'sha256-w' },
      original: { path: '/tmp/x', type: 'path' }
    },
    root: {
      inputs: {
        'home-manager': 'home-manager',
        nixpkgs: 'nixpkgs',
        secrets: 'secrets',
        local: 'local',
        stable: ['nixpkgs']
      }
    }
  },
  root: 'root',
  version: 7
})

function lockError(text: string): string {
  try {
    parseFlakeLock(text)
  } catch (err) {
    expect(err).toBeInstanceOf(ActionError)
    return (err as Error).message
  }
  throw new Error('accepted')
}

describe('parseFlakeLock', () => {
  it('reads a version 7 lock', () => {
    const lock = parseFlakeLock(LOCK)
    expect(lock.version).toBe(7)
    expect(lock.root).toBe('root')
    expect(lock.nodes.nixpkgs.lastModified).toBe(nowS - 45 * DAY - 3600)
    expect(lock.nodes.nixpkgs.type).toBe('github')
    expect(lock.nodes.secrets.flake).toBe(false)
    expect(lock.nodes.local.lastModified).toBeUndefined()
    expect(lock.nodes.root.inputs.stable).toEqual(['nixpkgs'])
    expect(lock.nodes['home-manager'].inputs.nixpkgs).toEqual(['nixpkgs'])
  })

  it('reads the lock of a flake with no inputs (what nix 2.8 writes)', () => {
    const lock = parseFlakeLock(
      '{\n  "nodes": {\n    "root": {}\n  },\n  "root": "root",\n  "version": 7\n}\n'
    )
    expect(staleInputs(lock, NOW, 30)).toEqual([])
  })

  it('refuses what is not a lock, naming flake.lock', () => {
    expect(lockError('{ nope')).toMatch(/^flake\.lock is not valid JSON: /)
    expect(lockError('[]')).toBe('flake.lock is not a JSON object')
    expect(lockError('{"version": 4, "root": "root", "nodes": {}}')).toBe(
      'flake.lock has version 4, which this action does not read (it reads 5 to 7)'
    )
    expect(lockError('{"version": 8, "root": "root", "nodes": {"root": {}}}')).toContain(
      'version 8'
    )
    expect(lockError('{"root": "root", "nodes": {}}')).toBe('flake.lock has no version number')
    expect(lockError('{"version": 7, "nodes": {}}')).toBe("flake.lock has no 'root' node name")
    expect(lockError('{"version": 7, "root": "root"}')).toBe("flake.lock has no 'nodes' object")
    expect(lockError('{"version": 7, "root": "r", "nodes": {"root": {}}}')).toBe(
      "flake.lock names root node 'r', which is not among its nodes"
    )
    expect(
      lockError('{"version": 7, "root": "root", "nodes": {"root": {"inputs": {"a": "missing"}}}}')
    ).toContain("pointing to a missing node 'missing'")
    expect(
      lockError('{"version": 7, "root": "root", "nodes": {"root": {"inputs": {"a": 3}}}}')
    ).toContain('neither a node name nor a follows path')
    expect(
      lockError(
        '{"version": 7, "root": "root", "nodes": {"root": {}, "a": {"locked": {"lastModified": "x"}}}}'
      )
    ).toContain("'lastModified' that is not a timestamp")
  })
})

describe('resolveInput', () => {
  it('follows node names and follows paths', () => {
    const lock = parseFlakeLock(LOCK)
    expect(resolveInput(lock, ['nixpkgs'])).toBe('nixpkgs')
    expect(resolveInput(lock, ['stable'])).toBe('nixpkgs')
    expect(resolveInput(lock, ['home-manager', 'nixpkgs'])).toBe('nixpkgs')
    expect(resolveInput(lock, ['nope'])).toBeUndefined()
  })
  it('survives a follows loop', () => {
    const lock = parseFlakeLock(
      JSON.stringify({
        version: 7,
        root: 'root',
        nodes: { root: { inputs: { a: ['b'], b: ['a'] } } }
      })
    )
    expect(resolveInput(lock, ['a'])).toBeUndefined()
  })
  it('treats __proto__ and constructor as plain names', () => {
    const lock = parseFlakeLock(
      '{"version":7,"root":"root","nodes":{"root":{"inputs":{"__proto__":"x"}},"x":{}}}'
    )
    expect(resolveInput(lock, ['__proto__'])).toBe('x')
    expect(resolveInput(lock, ['constructor'])).toBeUndefined()
  })
})

describe('staleInputs', () => {
  it('lists direct inputs older than the limit, oldest first, leaving out follows and undated inputs', () => {
    const lock = parseFlakeLock(LOCK)
    const stale = staleInputs(lock, NOW, 30)
    expect(stale).toEqual([
      { input: 'secrets', ageDays: 400, lastModified: new Date((nowS - 400 * DAY) * 1000) },
      { input: 'nixpkgs', ageDays: 45, lastModified: new Date((nowS - 45 * DAY - 3600) * 1000) }
    ])
    expect(staleInputs(lock, NOW, 45).map(s => s.input)).toEqual(['secrets']) // 45 days old is not older than 45
    expect(staleInputs(lock, NOW, 5).map(s => s.input)).toEqual([
      'secrets',
      'nixpkgs',
      'home-manager'
    ])
  })
  it('0 turns the check off', () => {
    expect(staleInputs(parseFlakeLock(LOCK), NOW, 0)).toEqual([])
  })
})

describe('property: parseFlakeLock throws only ActionError', () => {
  it('holds for arbitrary text and arbitrary JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json(),
          fc.jsonValue().map(v => JSON.stringify({ version: 7, root: 'root', nodes: { root: v } }))
        ),
        text => {
          try {
            const lock = parseFlakeLock(text)
            staleInputs(lock, NOW, 30)
          } catch (err) {
            if (!(err instanceof ActionError)) throw err
            expect(err.message.startsWith('flake.lock ')).toBe(true)
            expect(err.message).not.toMatch(/[\n\r]/)
          }
        }
      ),
      { numRuns: 2000 }
    )
  })
})
