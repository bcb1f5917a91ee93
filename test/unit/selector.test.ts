import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { ActionError } from '../../src/core/errors.js'
import { globToRegExp, parseSelector, selectHosts, type HostInfo } from '../../src/core/selector.js'

// The fleet from colmena's own node_filter tests, plus one more.
const hosts: HostInfo[] = [
  { name: 'alpha', tags: ['web', 'infra-lax'] },
  { name: 'beta', tags: ['router', 'infra-sfo'] },
  { name: 'gamma-a', tags: ['controller'] },
  { name: 'gamma-b', tags: ['ewaste'] },
  { name: 'web.example', tags: [] }
]

const pick = (on: string) => selectHosts(parseSelector(on), hosts)

describe('parseSelector', () => {
  it('blank means every host', () => {
    expect(parseSelector('')).toEqual({ all: true, rules: [] })
    expect(parseSelector(' \t\n')).toEqual({ all: true, rules: [] })
    expect(parseSelector(undefined)).toEqual({ all: true, rules: [] })
    expect(pick('')).toEqual(hosts.map(h => h.name))
  })
  it('splits on commas (trimming, like colmena) and on whitespace', () => {
    expect(parseSelector('a, \t@b ,    c-*').rules).toEqual([
      { kind: 'name', pattern: 'a', text: 'a' },
      { kind: 'tag', pattern: 'b', text: '@b' },
      { kind: 'name', pattern: 'c-*', text: 'c-*' }
    ])
    expect(parseSelector('a b\n@c').rules.map(r => r.text)).toEqual(['a', 'b', '@c'])
  })
  it('refuses empty rules like colmena (a,,b / trailing comma)', () => {
    expect(() => parseSelector(',')).toThrow(ActionError)
    expect(() => parseSelector('a,,b')).toThrow("Input 'on' has an empty element")
    expect(() => parseSelector('a,b,c,')).toThrow(ActionError)
  })
  it('refuses characters outside the selector alphabet', () => {
    expect(() => parseSelector('web[12]')).toThrow(
      "Input 'on' has an invalid element 'web[12]': it contains the character '['"
    )
    expect(() => parseSelector('web;id')).toThrow(ActionError)
    expect(() => parseSelector('$(id)')).toThrow(ActionError)
    expect(() => parseSelector('wéb')).toThrow('non-ASCII')
    expect(() => parseSelector('@')).toThrow("'@' with no tag")
    expect(() => parseSelector('a@b')).toThrow("'@' may only start a tag")
    expect(() => parseSelector('@a@b')).toThrow("'@' may only start a tag")
  })
  it('names another input when asked', () => {
    expect(() => parseSelector('a,,b', 'hosts')).toThrow("Input 'hosts' has an empty element")
  })
})

describe('selectHosts (colmena semantics)', () => {
  it('matches names exactly and with globs', () => {
    expect(pick('alpha')).toEqual(['alpha'])
    expect(pick('gamma-*')).toEqual(['gamma-a', 'gamma-b'])
    expect(pick('gamma-?')).toEqual(['gamma-a', 'gamma-b'])
    expect(pick('?eta')).toEqual(['beta'])
    expect(pick('*')).toEqual(hosts.map(h => h.name))
    expect(pick('web*')).toEqual(['web.example']) // '*' crosses '.'
    expect(pick('web.*')).toEqual(['web.example']) // '.' is literal
  })
  it('is case-sensitive and whole-string', () => {
    expect(() => pick('Alpha')).toThrow(ActionError)
    expect(() => pick('alph')).toThrow(ActionError)
  })
  it('matches tags, with globs (the cases of colmena test_filter_node_configs)', () => {
    expect(pick('@web')).toEqual(['alpha'])
    expect(pick('@infra-*')).toEqual(['alpha', 'beta'])
    expect(pick('@router,@controller')).toEqual(['beta', 'gamma-a'])
    expect(pick('@router,gamma-*')).toEqual(['beta', 'gamma-a', 'gamma-b'])
  })
  it("returns hosts in the fleet's order, once", () => {
    expect(pick('gamma-b alpha gamma-* @web')).toEqual(['alpha', 'gamma-a', 'gamma-b'])
  })
  it('refuses an element that matches nothing, naming it', () => {
    expect(() => selectHosts(parseSelector('alpha,web9'), hosts)).toThrow(
      "Input 'on': 'web9' matches no host (hosts: alpha, beta, gamma-a, gamma-b, web.example)"
    )
    expect(() => selectHosts(parseSelector('@prod'), hosts)).toThrow(
      "Input 'on': '@prod' matches no host's tag (tags: controller, ewaste, infra-lax, infra-sfo, router, web)"
    )
  })
  it('truncates a long host list and escapes odd names', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ name: `h${i}`, tags: [] }))
    expect(() => selectHosts(parseSelector('x'), many)).toThrow(
      '(hosts: h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 15 more)'
    )
    expect(() => selectHosts(parseSelector('x'), [{ name: 'evil\nline', tags: [] }])).toThrow(
      "(hosts: 'evil\\nline')"
    )
  })
})

describe('properties', () => {
  const selectorText = fc.string({
    unit: fc.constantFrom(...'ab-*?@, .\n[;'.split('')),
    maxLength: 20
  })
  it('parseSelector and selectHosts throw only ActionError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), selectorText), text => {
        try {
          selectHosts(parseSelector(text), hosts)
        } catch (err) {
          if (!(err instanceof ActionError)) throw err
          expect(err.message).not.toMatch(/[\n\r]/)
        }
      }),
      { numRuns: 3000 }
    )
  })
  it('a host name always selects itself; a glob of * for any one character too', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/)
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 6 }), fc.nat(), (names, k) => {
        const fleet = names.map(n => ({ name: n, tags: [] }))
        const target = names[k % names.length]
        expect(selectHosts(parseSelector(target), fleet)).toContain(target)
        const i = k % target.length
        const glob = `${target.slice(0, i)}?${target.slice(i + 1)}`
        expect(selectHosts(parseSelector(glob), fleet)).toContain(target)
      })
    )
  })
  it('glob regexps treat regex metacharacters literally', () => {
    expect(globToRegExp('a.b').test('axb')).toBe(false)
    expect(globToRegExp('a-*').test('a-')).toBe(true)
  })
})
