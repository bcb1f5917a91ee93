import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { ActionError } from '../../src/core/errors.js'
import {
  formatTarget,
  nixStoreUri,
  parseTarget,
  sshDestination,
  sshPortArgs,
  targetAddress,
  validateHostName,
  type Target
} from '../../src/core/target.js'

const SRC = "input 'target'"

describe('parseTarget', () => {
  it('reads every accepted form with the defaults', () => {
    const cases: Array<[string, Target]> = [
      ['web1', { user: 'root', host: 'web1', port: 22 }],
      ['web1.example.com', { user: 'root', host: 'web1.example.com', port: 22 }],
      ['deploy@web1', { user: 'deploy', host: 'web1', port: 22 }],
      ['web1:2222', { user: 'root', host: 'web1', port: 2222 }],
      ['deploy@web1.example.com:2222', { user: 'deploy', host: 'web1.example.com', port: 2222 }],
      ['10.0.0.7', { user: 'root', host: '10.0.0.7', port: 22 }],
      ['ops@10.0.0.7:65535', { user: 'ops', host: '10.0.0.7', port: 65535 }],
      ['[::1]:2222', { user: 'root', host: '::1', port: 2222 }],
      ['[2001:db8::1]', { user: 'root', host: '2001:db8::1', port: 22 }],
      ['admin@[fe80::1]:22', { user: 'admin', host: 'fe80::1', port: 22 }],
      ['fe80::1', { user: 'root', host: 'fe80::1', port: 22 }],
      ['machine$@host', { user: 'machine$', host: 'host', port: 22 }],
      ['_svc.x-1@web_1', { user: '_svc.x-1', host: 'web_1', port: 22 }]
    ]
    for (const [text, expected] of cases) expect(parseTarget(text, SRC)).toEqual(expected)
  })

  it('refuses hostile and malformed destinations, naming the source and the reason', () => {
    const cases: Array<[string, string]> = [
      ['', 'it is empty'],
      ['-oProxyCommand=touch /tmp/x', "starts with '-'"],
      ['root@-oProxyCommand=x', 'the character'],
      ['root@-host', "starts or ends with '-'"],
      ['web1 ; rm -rf /', 'contains a space'],
      ['web1\nInjected: line', 'whitespace'],
      ['web1;id', "the character ';'"],
      ['$(id)@web1', "the character '('"],
      ['`id`', 'the character'],
      ["'web1'", 'the character'],
      ['web1/..', "the character '/'"],
      ['web1..example', "contains '..'"],
      ['.web1', "starts with '.'"],
      ['wéb1', 'non-ASCII'],
      ['a@b@c', "more than one '@'"],
      ['@web1', 'user before'],
      ['Root@web1', 'not a valid user name'],
      ['u$x@web1', 'not a valid user name'],
      ['web$1', "'$' may only end the user name"],
      ['web1:0', 'not a number from 1 to 65535'],
      ['web1:65536', 'not a number from 1 to 65535'],
      ['web1:022', 'not a number from 1 to 65535'],
      ['web1:', 'not a number from 1 to 65535'],
      ['web1:ssh', 'not a number from 1 to 65535'],
      ['300.1.1.1', 'not a valid IPv4 address'],
      ['10.0.0.07', 'not a valid IPv4 address'],
      ['[web1]:22', 'not an IPv6 address'],
      ['[::1', "no matching ']'"],
      ['[::1]x', "only ':port' may follow ']'"],
      ['::1:2222:zz', 'not an IPv6 address'],
      ['user@', 'the host is empty'],
      ['a'.repeat(64) + '.com', 'longer than 63'],
      ['x'.repeat(301), 'longer than 300']
    ]
    for (const [text, why] of cases) {
      let caught: unknown
      try {
        parseTarget(text, SRC)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(ActionError)
      const message = (caught as ActionError).message
      expect(message.startsWith("Input 'target' has an invalid SSH destination '")).toBe(true)
      expect(message).toContain(why)
      expect(message).not.toMatch(/[\n\r]/)
      expect((caught as ActionError).input).toBe('target')
    }
  })

  it('names a flake source in the message', () => {
    expect(() => parseTarget('web 1', 'deploy.nodes.web1.hostname')).toThrow(
      "Deploy.nodes.web1.hostname has an invalid SSH destination 'web 1': it contains a space"
    )
  })

  it('shows a long hostile value escaped and truncated', () => {
    try {
      parseTarget(`${'a'.repeat(100)}\n`, SRC)
      throw new Error('not refused')
    } catch (err) {
      expect(err).toBeInstanceOf(ActionError)
      expect((err as Error).message).toContain(`'${'a'.repeat(80)}…'`)
    }
  })
})

describe('formatting', () => {
  it('formats for messages, ssh argv and nix store URIs', () => {
    const v4 = parseTarget('deploy@web1:2222', SRC)
    expect(formatTarget(v4)).toBe('deploy@web1:2222')
    expect(sshDestination(v4)).toBe('deploy@web1')
    expect(sshPortArgs(v4)).toEqual(['-p', '2222'])
    expect(targetAddress(v4)).toBe('web1')
    expect(nixStoreUri(v4)).toEqual({ uri: 'ssh-ng://deploy@web1', sshOpts: ['-p', '2222'] })
    expect(nixStoreUri(parseTarget('web1', SRC))).toEqual({
      uri: 'ssh-ng://root@web1',
      sshOpts: []
    })

    const v6 = parseTarget('[2001:db8::1]:2200', SRC)
    expect(formatTarget(v6)).toBe('root@[2001:db8::1]:2200')
    expect(sshDestination(v6)).toBe('root@2001:db8::1')
    expect(nixStoreUri(v6)).toEqual({ uri: 'ssh-ng://root@[2001:db8::1]', sshOpts: ['-p', '2200'] })
  })
})

describe('validateHostName', () => {
  it('accepts flake attribute names fit for host names', () => {
    for (const n of ['web1', 'web-1', 'web_1', 'web1.example.com', 'A1'])
      expect(validateHostName(n, 'nixosConfigurations')).toBe(n)
  })
  it('refuses the rest', () => {
    expect(() => validateHostName('-web', 'nixosConfigurations')).toThrow(
      "NixosConfigurations has an invalid host name '-web': it starts with '-'"
    )
    expect(() => validateHostName('.web', 'x')).toThrow("starts with '.'")
    expect(() => validateHostName('web 1', 'x')).toThrow('contains a space')
    expect(() => validateHostName('web"1', 'x')).toThrow(ActionError)
    expect(() => validateHostName('', 'x')).toThrow('it is empty')
    expect(() => validateHostName('a'.repeat(254), 'x')).toThrow('longer than 253')
  })
})

// Generators for valid parts, to check the round trip.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)
const dnsName = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .map(ls => ls.join('.'))
  .filter(n => !/^[0-9.]+$/.test(n))
const ipv4 = fc.ipV4()
const ipv6 = fc.ipV6().filter(a => !a.includes('.'))
const user = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,20}\$?$/)
const port = fc.integer({ min: 1, max: 65535 })

describe('properties', () => {
  it('formatTarget and parseTarget round-trip', () => {
    fc.assert(
      fc.property(user, fc.oneof(dnsName, ipv4, ipv6), port, (u, h, p) => {
        const t = { user: u, host: h, port: p }
        expect(parseTarget(formatTarget(t), SRC)).toEqual(t)
      }),
      { numRuns: 1000 }
    )
  })

  it('no input throws anything but an ActionError, and what passes is a safe argv word', () => {
    const chars = fc.constantFrom(...'a0.-_@:[]$;/ \n\'"`é9f'.split(''))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 120 }),
          fc.string({ unit: chars, maxLength: 30 })
        ),
        text => {
          let t: Target
          try {
            t = parseTarget(text, SRC)
          } catch (err) {
            if (!(err instanceof ActionError)) throw err
            expect(err.message).not.toMatch(/[\n\r]/)
            return
          }
          const words = [sshDestination(t), formatTarget(t), nixStoreUri(t).uri, t.host, t.user]
          for (const w of words) {
            expect(w.startsWith('-')).toBe(false)
            expect(w).toMatch(/^[A-Za-z0-9@:.[\]_$/-]+$/)
          }
          expect(t.port).toBeGreaterThanOrEqual(1)
          expect(t.port).toBeLessThanOrEqual(65535)
        }
      ),
      { numRuns: 3000 }
    )
  })

  it('validateHostName throws only ActionError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), name => {
        try {
          validateHostName(name, 'nixosConfigurations')
          expect(name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/)
        } catch (err) {
          if (!(err instanceof ActionError)) throw err
        }
      })
    )
  })
})
