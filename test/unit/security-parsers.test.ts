/**
 * Security (issue 6, part 4): property tests for the parsers and quoting functions that no other
 * unit test covers with random input. (Already property-tested elsewhere: parseTarget,
 * validateHostName, parseSelector, parseHealthChecks, parseActivationOutput, parsePathInfo,
 * parseFlakeLock, parseNixErrors, parseComment, the input parsers in inputs.ts, the Markdown
 * escapes.) None may throw anything but ActionError, and what they accept must be safe.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { forkRefusal } from '../../src/actions/event.js'
import { pullRequestFromEvent } from '../../src/actions/pr-comment.js'
import { isUnitName } from '../../src/core/activation-output.js'
import { packageName, parseDrvName, storePathName } from '../../src/core/closure.js'
import { parseRollbackTo } from '../../src/core/deploy/rollback-host.js'
import { parseComparison, rebootReasons } from '../../src/core/dry-activate.js'
import { ActionError } from '../../src/core/errors.js'
import { checkFlakeSshOptions } from '../../src/core/flake.js'
import { shellQuote, type RunResult } from '../../src/core/process.js'
import { Secrets } from '../../src/core/secrets.js'
import {
  describeSshError,
  parseSshOptions,
  remoteFailure,
  type Remote
} from '../../src/core/ssh.js'

function onlyActionErrors<T>(fn: () => T): T | undefined {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    return undefined
  }
}

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({
    unit: fc.constantFrom(...'-=oOpPJ46C \n\t;$`()\'"|&<>@:.[]/*~0123456789abcxyz'.split('')),
    maxLength: 40
  })
)

describe('checkFlakeSshOptions (deploy-rs sshOpts from the flake)', () => {
  const word = fc.oneof(
    fc.constantFrom(
      '-o',
      '-p',
      '-J',
      '-4',
      '-6',
      '-C',
      '-F',
      '-i',
      '-v',
      '-oProxyCommand=touch /tmp/x',
      '-oLocalCommand=x',
      '-oPermitLocalCommand=yes',
      '-oStrictHostKeyChecking=no',
      '-oUserKnownHostsFile=/dev/null',
      '-oIdentityFile=/etc/shadow',
      '-oPort=2222',
      '-oConnectTimeout=5',
      'ProxyCommand=sh -c x',
      'ProxyCommand=x',
      'ConnectTimeout=5',
      'ProxyJump=bastion',
      'ProxyJump=-oProxyCommand=x',
      'Compression=yes',
      'Port = 22',
      'KnownHostsCommand=x',
      'Include=/tmp/x',
      'Match=exec x',
      '2222',
      '99999',
      'root@bastion',
      '-bastion',
      '$(x)',
      ''
    ),
    anyText
  )
  const SAFE =
    /^(port|connecttimeout|connectionattempts|serveraliveinterval|serveralivecountmax|compression|ipqos|addressfamily|tcpkeepalive)$/i

  it('throws only ActionError (naming the host), and what it accepts cannot run a command or weaken host keys', () => {
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), opts => {
        let out: string[]
        try {
          out = checkFlakeSshOptions(opts, 'deploy.nodes.web.sshOpts', 'web')
        } catch (err) {
          if (!(err instanceof ActionError)) throw err
          expect(err.message).toMatch(
            /^Host web: |^Deploy\.nodes\.web\.sshOpts|deploy\.nodes\.web\.sshOpts/
          )
          expect(err.message).not.toContain('\n')
          return
        }
        for (let i = 0; i < out.length; i++) {
          const w = out[i]
          expect(w).not.toMatch(/\s/)
          if (w === '-o') {
            const [key, value] = out[++i].split('=')
            expect(key).toMatch(SAFE)
            expect(value).toMatch(/^[A-Za-z0-9@._:[\]-]+$/)
            // A value is never an option in disguise; no jump host (it would not be pinned).
            expect(value.startsWith('-')).toBe(false)
            expect(key).not.toMatch(/^proxyjump$/i)
            if (/^port$/i.test(key)) expect(Number(value)).toBeLessThanOrEqual(65535)
          } else if (w === '-p') {
            expect(out[++i]).toMatch(/^\d{1,5}$/)
            expect(Number(out[i])).toBeGreaterThanOrEqual(1)
            expect(Number(out[i])).toBeLessThanOrEqual(65535)
          } else expect(['-4', '-6', '-C']).toContain(w)
        }
      }),
      { numRuns: 3000 }
    )
  })
})

describe('ssh helpers', () => {
  it('parseSshOptions yields non-empty words without whitespace', () => {
    fc.assert(
      fc.property(anyText, s => {
        for (const w of parseSshOptions(s)) {
          expect(w).not.toBe('')
          expect(w).not.toMatch(/\s/)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it('describeSshError and remoteFailure make one line of any ssh output', () => {
    const remote: Remote = {
      host: 'web',
      target: { user: 'root', host: '10.0.0.1', port: 22 },
      hostOptions: []
    }
    fc.assert(
      fc.property(
        anyText,
        fc.constantFrom(0, 1, 4, 255, null),
        fc.boolean(),
        (stderr, exitCode, timedOut) => {
          expect(describeSshError(stderr)).not.toMatch(/[\n]/)
          const result: RunResult = {
            argv: ['ssh'],
            exitCode,
            signal: null,
            stdout: '',
            stderr,
            durationMs: 1,
            timedOut
          }
          const err = remoteFailure(remote, result, {
            phase: 'probe',
            what: 'probing',
            timeoutMs: 5000
          })
          expect(err).toBeInstanceOf(ActionError)
          expect(err.message).toMatch(/^Host web \(root@10\.0\.0\.1:22\), phase probe: /)
          expect(err.message).not.toContain('\n')
        }
      ),
      { numRuns: 2000 }
    )
  })

  it('shellQuote: the remote shell reads back exactly the word it was given (run by sh)', () => {
    const words = fc.array(
      fc.oneof(
        fc.string({
          unit: fc.constantFrom(...'$`\'"\\;|&<>(){}*?[]~#! \t\n-=x'.split('')),
          maxLength: 12
        }),
        fc.string({ unit: 'grapheme', maxLength: 8 })
      ),
      { minLength: 1, maxLength: 4 }
    )
    fc.assert(
      fc.property(words, argv => {
        const script = `printf '%s\\0' ${argv.map(shellQuote).join(' ')}`
        const out = execFileSync('sh', ['-c', script], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH }
        })
        expect(out.split('\0').slice(0, -1)).toEqual(argv)
      }),
      { numRuns: 150 }
    )
  })
})

describe('Secrets.scrub', () => {
  it('no registered secret (nor a line of one) survives in the scrubbed text', () => {
    const secretText = fc.string({
      unit: fc.constantFrom(...'abcXYZ019+/=\n-'.split('')),
      minLength: 4,
      maxLength: 40
    })
    fc.assert(
      fc.property(
        fc.array(secretText, { minLength: 1, maxLength: 3 }),
        fc.array(fc.oneof(secretText, fc.string({ maxLength: 10 })), { maxLength: 6 }),
        (list, parts) => {
          const s = new Secrets()
          for (const v of list) s.add(v)
          const text = parts.join('') + list.join(' ') + parts.reverse().join('\n')
          const scrubbed = s.scrub(text)
          for (const v of s.list()) expect(scrubbed).not.toContain(v)
        }
      ),
      { numRuns: 2000 }
    )
  })
})

describe('dry-activate and rollback parsers', () => {
  it('parseComparison and rebootReasons are total on any host output (unexpected shapes too)', () => {
    const line = fc.oneof(
      fc.constantFrom(
        'current=',
        'current=/nix/store/00000000000000000000000000000000-nixos-system-a-1',
        'link\tkernel\t\t',
        'link\tsystemd\t/x\t/y',
        'link\tbogus\ta\tb',
        'old-unit a.service',
        'new-unit ../../etc',
        'new-unit $(x).service',
        'link'
      ),
      fc
        .tuple(fc.constantFrom('link\t', 'old-unit ', 'new-unit ', 'current='), anyText)
        .map(([a, b]) => a + b),
      anyText
    )
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), lines => {
        const cmp = parseComparison(lines.join('\n'))
        expect([...cmp.oldUnits, ...cmp.newUnits].every(isUnitName)).toBe(true)
        for (const r of rebootReasons(cmp)) expect(r.detail).not.toContain('\n')
      }),
      { numRuns: 2000 }
    )
  })

  it("parseRollbackTo ('to') throws only ActionError; a store path it accepts is a safe argv word", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.string({
            unit: fc.constantFrom(...'/nix/store/0123456789abcdfgz-.'.split('')),
            maxLength: 60
          })
        ),
        s => {
          const to = onlyActionErrors(() => parseRollbackTo(s))
          if (to?.kind === 'store-path')
            expect(to.storePath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+$/)
          if (to?.kind === 'generation') expect(Number.isSafeInteger(to.generation)).toBe(true)
        }
      ),
      { numRuns: 2000 }
    )
  })

  it('packageName, parseDrvName and storePathName are total on any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          anyText.map(s => `/nix/store/00000000000000000000000000000000-${s}`)
        ),
        s => {
          const p = packageName(s)
          expect(typeof p.name).toBe('string')
          expect(typeof p.version).toBe('string')
          const d = parseDrvName(s)
          expect(typeof d.name).toBe('string')
          expect(typeof storePathName(s)).toBe('string')
        }
      ),
      { numRuns: 2000 }
    )
  })
})

describe('event payloads', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nda-events-'))
  const file = path.join(dir, 'event.json')
  const names = fc.constantFrom(
    'pull_request',
    'pull_request_target',
    'issue_comment',
    'workflow_run',
    'push',
    ''
  )
  const shaped = fc.record(
    {
      number: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      pull_request: fc.oneof(
        fc.constant(null),
        fc.jsonValue(),
        fc.record(
          { number: fc.jsonValue(), head: fc.jsonValue(), base: fc.jsonValue() },
          { requiredKeys: [] }
        ),
        fc.record({
          head: fc.record({
            repo: fc.oneof(
              fc.constant(null),
              fc.record({ fork: fc.jsonValue(), full_name: fc.jsonValue() }, { requiredKeys: [] })
            )
          })
        })
      ),
      issue: fc.jsonValue(),
      workflow_run: fc.oneof(
        fc.jsonValue(),
        fc.record({ pull_requests: fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue())) })
      ),
      repository: fc.oneof(
        fc.jsonValue(),
        fc.record(
          { name: fc.jsonValue(), owner: fc.jsonValue(), full_name: fc.jsonValue() },
          { requiredKeys: [] }
        )
      )
    },
    { requiredKeys: [] }
  )

  it('forkRefusal and pullRequestFromEvent never throw, whatever the payload (or a file that is not JSON)', () => {
    try {
      fc.assert(
        fc.property(
          names,
          fc.oneof(shaped, fc.jsonValue()),
          fc.boolean(),
          (name, payload, truncate) => {
            const refusal = forkRefusal('dry-activate', name, payload)
            expect(refusal === null || typeof refusal === 'string').toBe(true)
            const text = JSON.stringify(payload) ?? ''
            fs.writeFileSync(file, truncate ? text.slice(0, Math.floor(text.length / 2)) : text)
            const pr = pullRequestFromEvent(file, name)
            if (pr) {
              expect(Number.isSafeInteger(pr.number) && pr.number > 0).toBe(true)
              expect(typeof pr.owner).toBe('string')
              expect(typeof pr.repo).toBe('string')
            }
          }
        ),
        { numRuns: 1500 }
      )
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
