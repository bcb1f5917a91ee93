import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { ActionError } from '../../src/core/errors.js'
import {
  bodyAccepted,
  describeCheck,
  expandCheck,
  parseHealthChecks,
  statusAccepted,
  type HealthCheck
} from '../../src/core/health-config.js'

// The contract's own example, as a user would write it.
const CONTRACT_EXAMPLE = `
- http: http://{target}:8080/health   # from the runner; {host}: the host's name, {target}: its address
  status: 200                         # default: any 2xx
  body: ok                            # substring, or /regex/
- command: systemctl is-active nginx  # on the host, over SSH; exit 0 passes
- tcp: 443                            # port on the host, or host:port
- systemd: no-failed-units            # or: running
`

function errorOf(text: string): string {
  try {
    parseHealthChecks(text)
  } catch (err) {
    expect(err).toBeInstanceOf(ActionError)
    expect((err as ActionError).input).toBe('health-checks')
    return (err as ActionError).message
  }
  throw new Error(`accepted: ${text}`)
}

describe('parseHealthChecks', () => {
  it("reads the contract's example", () => {
    expect(parseHealthChecks(CONTRACT_EXAMPLE)).toEqual([
      {
        kind: 'http',
        url: 'http://{target}:8080/health',
        method: 'GET',
        status: [200],
        body: { kind: 'substring', text: 'ok' }
      },
      { kind: 'command', command: 'systemctl is-active nginx' },
      { kind: 'tcp', port: 443 },
      { kind: 'systemd', state: 'no-failed-units' }
    ])
  })

  it('reads the optional keys', () => {
    const checks = parseHealthChecks(`
- http: https://{host}.example.com/
  status: [200, 204, 200]
  body: /^ok\\b/i
  method: head
  timeout: 5
  name: front page
- tcp: "{target}:5432"
- tcp: "[::1]:22"
- tcp: "443"
- systemd: running
  timeout: 30
- command: test -n "\${HOME}" && awk '{print $1}' /proc/loadavg
`)
    expect(checks).toEqual([
      {
        kind: 'http',
        url: 'https://{host}.example.com/',
        method: 'HEAD',
        status: [200, 204],
        body: { kind: 'regex', source: '^ok\\b', flags: 'i' },
        timeout: 5,
        name: 'front page'
      },
      { kind: 'tcp', host: '{target}', port: 5432 },
      { kind: 'tcp', host: '::1', port: 22 },
      { kind: 'tcp', port: 443 },
      { kind: 'systemd', state: 'running', timeout: 30 },
      { kind: 'command', command: 'test -n "${HOME}" && awk \'{print $1}\' /proc/loadavg' }
    ])
  })

  it('blank, comment-only and null YAML mean no checks', () => {
    expect(parseHealthChecks('')).toEqual([])
    expect(parseHealthChecks(undefined)).toEqual([])
    expect(parseHealthChecks('  \n# nothing yet\n')).toEqual([])
    expect(parseHealthChecks('~')).toEqual([])
    expect(parseHealthChecks('[]')).toEqual([])
  })

  it('refuses unknown keys, naming the item', () => {
    expect(errorOf('- http: http://x/\n- htp: http://y/')).toBe(
      "Input 'health-checks': item 2 has an unknown key 'htp' (expected one of http, command, tcp, systemd)"
    )
    expect(errorOf('- command: true\n  status: 200')).toBe(
      "Input 'health-checks': item 1 has an unknown key 'status' for a command check (expected name, timeout)"
    )
    expect(errorOf('- name: lonely')).toBe(
      "Input 'health-checks': item 1 has none of http, command, tcp, systemd"
    )
  })

  it('refuses items that are two checks at once', () => {
    expect(errorOf('- http: http://x/\n  command: true')).toContain(
      "item 1 has both 'http' and 'command'"
    )
  })

  it('refuses wrong shapes and types', () => {
    expect(errorOf('http: http://x/')).toBe(
      "Input 'health-checks': must be a YAML list of checks (start each check with '- ')"
    )
    expect(errorOf('just text')).toContain('must be a YAML list')
    expect(errorOf('- 443')).toBe(
      "Input 'health-checks': item 1 must be a mapping with one of http, command, tcp, systemd, not a number"
    )
    expect(errorOf('- http: [a]')).toContain("item 1 has an 'http' that is not a URL string")
    expect(errorOf('- http: ftp://x/')).toContain('not http:// or https://')
    expect(errorOf('- http: http://[bad/')).toContain('not a valid URL')
    expect(errorOf('- http: not a url')).toContain('whitespace')
    expect(errorOf('- http: http://user:pw@x/')).toContain('credentials')
    expect(errorOf('- http: "http://x/\\nInjected"')).toContain('whitespace or control characters')
    expect(errorOf('- http: http://x/\n  status: 700')).toContain(
      "'status' that is not an HTTP status code"
    )
    expect(errorOf('- http: http://x/\n  status: "200"')).toContain("'status'")
    expect(errorOf('- http: http://x/\n  status: []')).toContain("empty 'status'")
    expect(errorOf('- http: http://x/\n  method: POST')).toContain(
      "'method' that is not GET or HEAD"
    )
    expect(errorOf('- http: http://x/\n  body: /a(/')).toContain('not a valid regular expression')
    expect(errorOf('- http: http://x/\n  body: /a/g')).toContain("flags 'g'")
    expect(errorOf('- command: ""')).toContain("'command' that is not a non-empty string")
    expect(errorOf('- command: [ls]')).toContain("'command'")
    expect(errorOf('- tcp: 0')).toContain('not a number from 1 to 65535')
    expect(errorOf('- tcp: 70000')).toContain('not a number from 1 to 65535')
    expect(errorOf('- tcp: "a b:1"')).toContain('not a port or host:port')
    expect(errorOf('- tcp: "-x:1"')).toContain("starts with '-'")
    expect(errorOf('- systemd: stopped')).toContain('expected no-failed-units or running')
    expect(errorOf('- systemd: running\n  timeout: 0')).toContain(
      "'timeout' that is not a whole number of seconds from 1 to 3600"
    )
    expect(errorOf('- systemd: running\n  timeout: 2.5')).toContain("'timeout'")
    expect(errorOf('- systemd: running\n  name: 3')).toContain("'name'")
  })

  it('refuses unknown placeholders before anything runs', () => {
    expect(errorOf('- http: http://{hostname}/')).toBe(
      "Input 'health-checks': item 1 has an unknown placeholder '{hostname}' in 'http' (only {host} and {target})"
    )
    expect(errorOf('- command: ping {port}')).toContain("unknown placeholder '{port}'")
    expect(errorOf('- tcp: "{addr}:22"')).toContain("unknown placeholder '{addr}'")
  })

  it('reports invalid YAML in one line with its line number', () => {
    const message = errorOf('- http: http://x/\n- command: "unterminated\n')
    expect(message).toMatch(/^Input 'health-checks': is not valid YAML: .*line \d+/)
    expect(message).not.toMatch(/\n/)
    expect(errorOf('- a: 1\n  a: 2')).toContain('is not valid YAML')
    expect(errorOf('- http: http://x/\n\t- bad')).toContain('is not valid YAML')
  })
})

describe('expandCheck', () => {
  const [http, command, tcp, systemd, tcpHost] = parseHealthChecks(`
- http: http://{target}:8080/health?host={host}
- command: curl -fsS http://{target}/ && echo {host}
- tcp: 443
- systemd: running
- tcp: "{target}:22"
`)
  it('substitutes host and target', () => {
    expect(expandCheck(http, { host: 'web1', target: '10.0.0.7' })).toMatchObject({
      url: 'http://10.0.0.7:8080/health?host=web1'
    })
    expect(expandCheck(command, { host: 'web1', target: 'web1.example.com' })).toMatchObject({
      command: 'curl -fsS http://web1.example.com/ && echo web1'
    })
    expect(expandCheck(tcp, { host: 'web1', target: 'x' })).toEqual(tcp)
    expect(expandCheck(systemd, { host: 'web1', target: 'x' })).toEqual(systemd)
    expect(expandCheck(tcpHost, { host: 'web1', target: 'db.internal' })).toMatchObject({
      host: 'db.internal',
      port: 22
    })
  })
  it('brackets an IPv6 target in URLs only', () => {
    expect(expandCheck(http, { host: 'web1', target: '2001:db8::1' })).toMatchObject({
      url: 'http://[2001:db8::1]:8080/health?host=web1'
    })
    expect(expandCheck(command, { host: 'web1', target: '2001:db8::1' })).toMatchObject({
      command: 'curl -fsS http://2001:db8::1/ && echo web1'
    })
  })
  it('refuses values a shell would interpret', () => {
    expect(() => expandCheck(command, { host: 'web1;id', target: 'x' })).toThrow(ActionError)
    expect(() => expandCheck(command, { host: 'web1', target: '$(id)' })).toThrow(ActionError)
    expect(() => expandCheck(command, { host: 'web1', target: '-oX' })).toThrow(ActionError)
    expect(() => expandCheck(http, { host: 'web1', target: 'a b' })).toThrow(ActionError)
    // A target that passes the character check but makes no URL host (a bare ':').
    expect(() => expandCheck(http, { host: 'web1', target: ':' })).toThrow(
      "web1: the health check http http://{target}:8080/health?host={host} gives no usable http(s) URL: 'http://[:]:8080/health?host=web1'"
    )
  })
  it('keeps substituted commands free of shell metacharacters beyond the template (property)', () => {
    const safe = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/)
    fc.assert(
      fc.property(safe, safe, (host, target) => {
        const out = expandCheck(command, { host, target }) as Extract<
          HealthCheck,
          { kind: 'command' }
        >
        expect(out.command).toBe(`curl -fsS http://${target}/ && echo ${host}`)
      })
    )
  })
})

describe('describeCheck and matching', () => {
  it('labels checks', () => {
    const [a, b, c, d, e, f] = parseHealthChecks(`
- http: http://{target}/health
- command: systemctl is-active nginx
- tcp: 443
- systemd: no-failed-units
- tcp: "[::1]:22"
- command: "true"
  name: always
`)
    expect(describeCheck(a)).toBe('http http://{target}/health')
    expect(describeCheck(b)).toBe("command 'systemctl is-active nginx'")
    expect(describeCheck(c)).toBe('tcp 443')
    expect(describeCheck(d)).toBe('systemd no-failed-units')
    expect(describeCheck(e)).toBe('tcp [::1]:22')
    expect(describeCheck(f)).toBe('always')
  })
  it('accepts statuses and bodies as configured', () => {
    const [plain, strict] = parseHealthChecks(
      '- http: http://x/\n- http: http://x/\n  status: [200, 301]\n  body: /^OK$/m'
    ) as Array<Extract<HealthCheck, { kind: 'http' }>>
    expect(statusAccepted(plain, 204)).toBe(true)
    expect(statusAccepted(plain, 301)).toBe(false)
    expect(statusAccepted(strict, 301)).toBe(true)
    expect(statusAccepted(strict, 204)).toBe(false)
    expect(bodyAccepted(plain, '')).toBe(true)
    expect(bodyAccepted(strict, 'status\nOK\n')).toBe(true)
    expect(bodyAccepted(strict, 'NOT OK')).toBe(false)
  })
})

describe('property: no input throws anything but ActionError', () => {
  it('holds for arbitrary text and for YAML-ish text', () => {
    const yamlish = fc.string({
      unit: fc.constantFrom(...'- :\n\t"\'[]{}#&*!|>%@`htpcomandsyeu0123/'.split('')),
      maxLength: 60
    })
    const items = fc
      .array(
        fc.record({
          key: fc.constantFrom(
            'http',
            'command',
            'tcp',
            'systemd',
            'status',
            'body',
            'name',
            'timeout',
            'method',
            'x'
          ),
          value: fc.oneof(
            fc.string({ maxLength: 20 }),
            fc.integer(),
            fc.constant('http://{target}/'),
            fc.constant('/a+/i'),
            fc.constant('[1, 2]')
          )
        }),
        { maxLength: 4 }
      )
      .map(kvs =>
        kvs
          .map((kv, i) => `${i === 0 ? '- ' : '  '}${kv.key}: ${JSON.stringify(kv.value)}`)
          .join('\n')
      )
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), yamlish, items), text => {
        try {
          const checks = parseHealthChecks(text)
          for (const c of checks) {
            describeCheck(c)
            expandCheck(c, { host: 'web1', target: '10.0.0.1' })
          }
        } catch (err) {
          if (!(err instanceof ActionError)) throw err
          expect(err.message).not.toMatch(/[\n\r]/)
        }
      }),
      { numRuns: 3000 }
    )
  })
})
