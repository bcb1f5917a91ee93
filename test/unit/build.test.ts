/** The pure parts of build and diff: how inputs are classified, names, cache keys. */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  classifySide,
  fileLabel,
  hostOfAttrPath,
  hostTarget,
  installableTarget,
  someNames
} from '../../src/core/build.js'
import { closureCacheDir, closureCacheKey, fileStoreUrl } from '../../src/core/closure-cache.js'
import { ActionError } from '../../src/core/errors.js'
import { parseInstallable } from '../../src/core/inputs.js'

const P = '/nix/store/0c4rrkfbsxkgvpc0ysbvh5xcyw4x7nhk-nixos-system-web1-24.05'

describe('classifySide', () => {
  it('reads store paths, installables and revisions', () => {
    expect(classifySide('before', P)).toEqual({ kind: 'store-path', path: P })
    expect(classifySide('before', `${P}/`)).toEqual({ kind: 'store-path', path: P })
    expect(
      classifySide('before', '.#nixosConfigurations.web1.config.system.build.toplevel')
    ).toMatchObject({
      kind: 'installable',
      installable: {
        kind: 'flake',
        flakeRef: '.',
        attrPath: 'nixosConfigurations.web1.config.system.build.toplevel'
      }
    })
    for (const rev of ['main', 'HEAD~1', 'origin/main', 'v1.2.3', 'a1b2c3d'])
      expect(classifySide('before', rev)).toEqual({ kind: 'revision', rev })
  })

  it('refuses what is none of them, naming the input', () => {
    for (const bad of ['/nix/store/nothash', 'a..b', '-x', 'main branch', '.#'])
      expect(() => classifySide('after', bad)).toThrow(/^Input 'after'/)
    expect(() => classifySide('diff-against', '.#x', { allowInstallable: false })).toThrow(
      ActionError
    )
  })

  it('never throws anything but an ActionError', () => {
    fc.assert(
      fc.property(fc.string(), s => {
        try {
          classifySide('before', s)
        } catch (err) {
          expect(err).toBeInstanceOf(ActionError)
          expect((err as ActionError).message).toMatch(/^Input 'before'/)
        }
      })
    )
  })
})

describe('targets and names', () => {
  it('finds the host in a toplevel installable', () => {
    expect(hostOfAttrPath('nixosConfigurations.web1.config.system.build.toplevel')).toBe('web1')
    expect(
      hostOfAttrPath('nixosConfigurations."web.example.com".config.system.build.toplevel')
    ).toBe('web.example.com')
    expect(hostOfAttrPath('packages.x86_64-linux.hello')).toBeUndefined()
    const t = installableTarget(
      parseInstallable('installable', '.#nixosConfigurations.db1.config.system.build.toplevel')
    )
    expect(t).toMatchObject({ host: 'db1', flakeRef: '.' })
    expect(hostTarget('.', 'web.example.com').installable).toBe(
      '.#nixosConfigurations."web.example.com".config.system.build.toplevel'
    )
  })

  it('makes file names and lists', () => {
    expect(fileLabel('web1')).toBe('web1')
    expect(fileLabel('a?b=c+d')).toBe('a_b_c_d')
    expect(fileLabel('..')).toBe('_')
    expect(someNames(['a', 'b'])).toBe('a, b')
    expect(someNames(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('a, b, c, d, e and 2 more')
  })
})

describe('closure cache names', () => {
  it('keys a closure by its store path hash', () => {
    expect(closureCacheKey(P)).toBe('nix-deploy-closure-0c4rrkfbsxkgvpc0ysbvh5xcyw4x7nhk')
    expect(closureCacheDir(P, '/runner/_temp')).toBe(
      '/runner/_temp/nix-deploy/closure-0c4rrkfbsxkgvpc0ysbvh5xcyw4x7nhk'
    )
    expect(() => closureCacheKey('/nix/store/short-x')).toThrow(ActionError)
    expect(fileStoreUrl('/tmp/c', 'zstd')).toBe('file:///tmp/c?compression=zstd')
    expect(() => fileStoreUrl('/tmp/a b')).toThrow(/absolute path without spaces/)
    expect(() => fileStoreUrl('rel/dir')).toThrow(ActionError)
  })
})
