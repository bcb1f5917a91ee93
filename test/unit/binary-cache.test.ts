/** The binary cache's inputs and Nix's refusal messages (src/core/binary-cache.ts). */
import { describe, expect, it } from '@jest/globals'
import {
  parseSigningKey,
  parseStoreUrl,
  parseSubstituters,
  parseTrustedKeys,
  refusedPath
} from '../../src/core/binary-cache.js'
import { secrets } from '../../src/core/secrets.js'

// Made with `nix key generate-secret --key-name ci-cache-1` and `convert-secret-to-public` (Nix 2.8).
const PUB = 'cache-1:f168qwMB1LoXxTGAfnOK+29JYqc1gcAcUiPkiBy3MrY='
const SECRET = `ci-1:${Buffer.alloc(64, 7).toString('base64')}`
const P = '/nix/store/4gmkj9pyjp8g2rvq6hmpzy6pnqmrh2sc-cx-top'

describe('binary cache inputs', () => {
  it('reads public keys, any separator, and names a bad one', () => {
    expect(
      parseTrustedKeys(
        'trusted-public-keys',
        `${PUB}\n${PUB}, other:${Buffer.alloc(32).toString('base64')}`
      )
    ).toEqual([PUB, `other:${Buffer.alloc(32).toString('base64')}`])
    expect(() => parseTrustedKeys('trusted-public-keys', 'cache-1:abc')).toThrow(
      /Input 'trusted-public-keys': 'cache-1:abc' is not a Nix public key/
    )
    // A secret key is not a public key.
    expect(() => parseTrustedKeys('trusted-public-keys', SECRET)).toThrow(/not a Nix public key/)
  })

  it('reads a secret key, masks it, and never shows a bad one', () => {
    expect(parseSigningKey('signing-key', SECRET)).toBe(SECRET)
    expect(secrets.scrub(`x ${SECRET} y`)).toBe('x *** y')
    const bad = 'ci-1:bm90LWEta2V5LWF0LWFsbA=='
    let message = ''
    try {
      parseSigningKey('signing-key', bad)
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/^Input 'signing-key' is not a Nix secret key/)
    expect(message).not.toContain('bm90')
  })

  it('reads store URLs and refuses what is not one', () => {
    expect(
      parseStoreUrl('push-to', 's3://bucket?region=eu-central-1&endpoint=http://127.0.0.1:9000')
    ).toMatch(/^s3:/)
    expect(
      parseSubstituters('substituters', 'file:///a, https://c.example.com\nssh-ng://u@h')
    ).toEqual(['file:///a', 'https://c.example.com', 'ssh-ng://u@h'])
    for (const bad of ['/srv/cache', 'ftp://x', '-oProxyCommand=x', 'file://'])
      expect(() => parseStoreUrl('push-to', bad)).toThrow(
        /Input 'push-to': .* is not a Nix store URL/
      )
  })

  it("finds the refused path in Nix's messages", () => {
    expect(refusedPath(`error: cannot add path '${P}' because it lacks a valid signature`)).toEqual(
      { path: P, why: 'unsigned' }
    )
    expect(refusedPath(`path '${P}' is untrusted`)).toEqual({ path: P, why: 'unsigned' })
    expect(refusedPath(`error: hash mismatch importing path '${P}';`)).toEqual({
      path: P,
      why: 'tampered'
    })
    expect(refusedPath('error: something else')).toBeUndefined()
  })
})
