import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { ActionError } from '../../src/core/errors.js'
import {
  formatInstallable,
  parseBool,
  parseEnum,
  parseFlakeRef,
  parseGitRevision,
  parseInstallable,
  parseList,
  parsePositiveInt,
  parseSeconds,
  parseStorePath,
  parseStrategy,
  showValue
} from '../../src/core/inputs.js'

/** Runs fn; passes when it returns or throws an ActionError, fails on any other exception. */
function onlyActionErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    // One sentence: no newline can reach a message.
    expect(err.message).not.toMatch(/[\n\r]/)
  }
}

const HASH = '0c6kzph7l0dcbfmjap64f0czdafn3b7x'

describe('showValue', () => {
  it('quotes, escapes control and non-ASCII characters, and truncates', () => {
    expect(showValue('yes')).toBe("'yes'")
    expect(showValue("a'b\nc\t\x00")).toBe("'a\\'b\\nc\\t\\x00'")
    expect(showValue('\u202eevil')).toBe("'\\u{202e}evil'")
    expect(showValue('x'.repeat(100))).toBe(`'${'x'.repeat(80)}…'`)
  })
  it('never lets a line break through (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), s => !/[\n\r\u2028\u2029]/.test(showValue(s)))
    )
  })
})

describe('parseBool', () => {
  it('reads true and false in any case; empty is the default', () => {
    expect(parseBool('comment', 'true', false)).toBe(true)
    expect(parseBool('comment', 'FALSE', true)).toBe(false)
    expect(parseBool('comment', 'True', false)).toBe(true)
    expect(parseBool('comment', '', true)).toBe(true)
    expect(parseBool('comment', undefined, false)).toBe(false)
  })
  it('refuses anything else, naming the input', () => {
    expect(() => parseBool('rollback', 'yes', true)).toThrow(
      new ActionError("Input 'rollback' must be true or false, not 'yes'")
    )
    expect(() => parseBool('rollback', '1', true)).toThrow(ActionError)
    try {
      parseBool('rollback', 'on', true)
    } catch (err) {
      expect((err as ActionError).input).toBe('rollback')
    }
  })
})

describe('parseSeconds and parsePositiveInt', () => {
  it('reads whole numbers within range', () => {
    expect(parseSeconds('health-timeout', '120', 60)).toBe(120)
    expect(parseSeconds('health-timeout', '', 60)).toBe(60)
    expect(parseSeconds('health-timeout', '0', 60)).toBe(0)
    expect(parsePositiveInt('max-parallel', '10', 1)).toBe(10)
    expect(parsePositiveInt('max-jobs', '256', 1, { max: 256 })).toBe(256)
  })
  it('refuses fractions, signs, units, and out-of-range values', () => {
    expect(() => parseSeconds('health-timeout', '1.5', 60)).toThrow(
      "Input 'health-timeout' must be a whole number of seconds, not '1.5'"
    )
    expect(() => parseSeconds('health-timeout', '-3', 60)).toThrow(ActionError)
    expect(() => parseSeconds('health-timeout', '30s', 60)).toThrow(ActionError)
    expect(() => parseSeconds('health-timeout', '5', 60, { min: 10 })).toThrow(
      "Input 'health-timeout' must be at least 10, not '5'"
    )
    expect(() => parsePositiveInt('max-parallel', '0', 1)).toThrow(
      "Input 'max-parallel' must be at least 1, not '0'"
    )
    expect(() => parsePositiveInt('max-jobs', '257', 1, { max: 256 })).toThrow(
      'must be at most 256'
    )
    expect(() => parsePositiveInt('max-jobs', '9'.repeat(40), 1)).toThrow(ActionError)
  })
})

describe('parseList', () => {
  it('splits on newlines and commas, trims, drops empties', () => {
    expect(parseList('web1, web2\nweb3\n\n ,db1,')).toEqual(['web1', 'web2', 'web3', 'db1'])
    expect(parseList('')).toEqual([])
    expect(parseList(undefined)).toEqual([])
  })
  it('never yields empty or padded items (property)', () => {
    fc.assert(
      fc.property(fc.string(), s =>
        parseList(s).every(i => i !== '' && i === i.trim() && !/[\n,]/.test(i))
      )
    )
  })
})

describe('parseEnum', () => {
  it('returns the canonical spelling', () => {
    expect(parseEnum('mode', 'Boot', ['switch', 'boot', 'test'] as const, 'switch')).toBe('boot')
    expect(parseEnum('mode', '', ['switch', 'boot', 'test'] as const, 'switch')).toBe('switch')
    expect(() =>
      parseEnum('mode', 'reboot', ['switch', 'boot', 'test'] as const, 'switch')
    ).toThrow("Input 'mode' must be one of switch, boot, test, not 'reboot'")
  })
})

describe('parseStrategy', () => {
  it('reads all, canary and waves:N', () => {
    expect(parseStrategy('')).toEqual({ kind: 'all' })
    expect(parseStrategy('all')).toEqual({ kind: 'all' })
    expect(parseStrategy('canary')).toEqual({ kind: 'canary' })
    expect(parseStrategy('waves:3')).toEqual({ kind: 'waves', waves: 3 })
    expect(parseStrategy('waves:100')).toEqual({ kind: 'waves', waves: 100 })
  })
  it('refuses N outside 1..100 and other words', () => {
    expect(() => parseStrategy('waves:0')).toThrow(ActionError)
    expect(() => parseStrategy('waves:101')).toThrow(ActionError)
    expect(() => parseStrategy('waves:')).toThrow(ActionError)
    expect(() => parseStrategy('waves:-1')).toThrow(ActionError)
    expect(() => parseStrategy('rolling')).toThrow(
      "Input 'strategy' must be all, canary or waves:N (N from 1 to 100), not 'rolling'"
    )
  })
})

describe('parseGitRevision', () => {
  it('accepts hashes, refs and relative revisions', () => {
    for (const rev of [
      'HEAD',
      'HEAD~1',
      'main^2',
      'origin/main',
      '@{u}',
      'refs/tags/v1.2.3',
      'a1b2c3d',
      `${'f'.repeat(40)}`
    ]) {
      expect(parseGitRevision('changed-since', rev)).toBe(rev)
    }
  })
  it('refuses options, ranges, whitespace, and shell characters', () => {
    expect(() => parseGitRevision('changed-since', '--output=/tmp/x')).toThrow("starts with '-'")
    expect(() => parseGitRevision('changed-since', 'main..feature')).toThrow('is a range')
    expect(() => parseGitRevision('changed-since', 'main feature')).toThrow('contains a space')
    expect(() => parseGitRevision('changed-since', 'main;rm -rf /')).toThrow(ActionError)
    expect(() => parseGitRevision('changed-since', '$(id)')).toThrow(ActionError)
    expect(() => parseGitRevision('changed-since', '')).toThrow(ActionError)
    expect(() => parseGitRevision('changed-since', 'a'.repeat(256))).toThrow(ActionError)
  })
})

describe('parseFlakeRef', () => {
  it('accepts the usual forms', () => {
    for (const ref of [
      '.',
      './infra',
      '../x',
      'github:org/repo',
      'github:org/repo/main',
      'git+https://example.com/r.git?ref=main&dir=infra',
      'path:/tmp/x',
      '/abs/path'
    ]) {
      expect(parseFlakeRef('flake', ref)).toBe(ref)
    }
    expect(parseFlakeRef('flake', '')).toBe('.')
  })
  it('refuses options, whitespace, control characters, quotes, and #', () => {
    expect(() => parseFlakeRef('flake', '--impure')).toThrow("starts with '-'")
    expect(() => parseFlakeRef('flake', '. --impure')).toThrow('contains a space')
    expect(() => parseFlakeRef('flake', 'a\nb')).toThrow('whitespace')
    expect(() => parseFlakeRef('flake', "github:o/r'")).toThrow(ActionError)
    expect(() => parseFlakeRef('flake', '.#x')).toThrow(ActionError)
    expect(() => parseFlakeRef('flake', 'x'.repeat(1025))).toThrow(ActionError)
  })
})

describe('parseStorePath', () => {
  it('accepts store paths, also in another store directory', () => {
    const p = `/nix/store/${HASH}-nixos-system-web1-24.05.20240101.abcdef`
    expect(parseStorePath('store-path', p)).toBe(p)
    expect(parseStorePath('store-path', `${p}/`)).toBe(p)
    expect(
      parseStorePath('store-path', `/custom/store/${HASH}-x`, { storeDir: '/custom/store' })
    ).toBe(`/custom/store/${HASH}-x`)
  })
  it('refuses paths without a valid hash or name, or below a store path', () => {
    expect(() => parseStorePath('store-path', `/nix/store/${HASH.replace('0', 'e')}-x`)).toThrow(
      'lacks the 32-character hash'
    )
    expect(() => parseStorePath('store-path', `/nix/store/${HASH}`)).toThrow(ActionError)
    expect(() => parseStorePath('store-path', `/nix/store/${HASH}-x/bin/sh`)).toThrow(
      'invalid name'
    )
    expect(() => parseStorePath('store-path', `/nix/store/${HASH}-.hidden`)).toThrow(ActionError)
    expect(() => parseStorePath('store-path', `/tmp/${HASH}-x`)).toThrow('under /nix/store')
    expect(() => parseStorePath('store-path', `/nix/store/${HASH}-a b`)).toThrow(ActionError)
  })
})

describe('parseInstallable', () => {
  it('reads flake outputs, store paths and output selections, and formats them back', () => {
    const cases: Array<[string, unknown]> = [
      [
        '.#nixosConfigurations.web1.config.system.build.toplevel',
        {
          kind: 'flake',
          flakeRef: '.',
          attrPath: 'nixosConfigurations.web1.config.system.build.toplevel'
        }
      ],
      [
        'github:o/r#hello^out,dev',
        { kind: 'flake', flakeRef: 'github:o/r', attrPath: 'hello', outputs: ['out', 'dev'] }
      ],
      [
        `/nix/store/${HASH}-hello.drv^*`,
        { kind: 'store-path', path: `/nix/store/${HASH}-hello.drv`, outputs: ['*'] }
      ],
      ['./infra', { kind: 'flake', flakeRef: './infra', attrPath: '' }]
    ]
    for (const [text, expected] of cases) {
      const parsed = parseInstallable('installable', text)
      expect(parsed).toEqual(expected)
      expect(formatInstallable(parsed)).toBe(text)
    }
  })
  it('refuses bad parts', () => {
    expect(() => parseInstallable('installable', '#x')).toThrow('no flake reference')
    expect(() => parseInstallable('installable', '.#')).toThrow('invalid attribute path')
    expect(() => parseInstallable('installable', '.#a;b')).toThrow(ActionError)
    expect(() => parseInstallable('installable', '-x#y')).toThrow(ActionError)
    expect(() => parseInstallable('installable', '.#x^')).toThrow('output list')
  })
})

describe('every parser throws only ActionError, with a one-line message (property)', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({
      unit: fc.constantFrom(...'-.#^/@:~{}$ \n\t0123456789abcwavesfl'.split('')),
      maxLength: 40
    })
  )
  it('holds for arbitrary text', () => {
    fc.assert(
      fc.property(anyText, s => {
        onlyActionErrors(() => parseBool('x', s, true))
        onlyActionErrors(() => parseSeconds('x', s, 1, { min: 1, max: 100 }))
        onlyActionErrors(() => parsePositiveInt('x', s, 1))
        onlyActionErrors(() => parseEnum('x', s, ['a', 'b'] as const, 'a'))
        onlyActionErrors(() => parseStrategy(s))
        onlyActionErrors(() => parseGitRevision('x', s))
        onlyActionErrors(() => parseFlakeRef('x', s))
        onlyActionErrors(() => parseStorePath('x', s))
        onlyActionErrors(() => parseInstallable('x', s))
        parseList(s)
      }),
      { numRuns: 2000 }
    )
  })
  it('accepted revisions and flake references are safe argv words', () => {
    fc.assert(
      fc.property(anyText, s => {
        for (const parse of [parseGitRevision, parseFlakeRef]) {
          let v: string
          try {
            v = parse('x', s)
          } catch {
            continue
          }
          if (s === '' || s.trim() === '') continue
          expect(v.startsWith('-')).toBe(false)
          expect(v).not.toMatch(/[\s'"`$;|<>\\()*!]/)
        }
      }),
      { numRuns: 2000 }
    )
  })
})
