import { describe, it, expect } from '@jest/globals'
import { ActionError } from '../../src/core/errors.js'
import { parseHealthChecks } from '../../src/core/health-config.js'
import { hostHealthChecks, parseFlakeChecks, type FlakeCheck } from '../../src/core/host-checks.js'
import { parseSpecialisation } from '../../src/commands/deploy.js'

const WHERE = 'deploy.nodes.web1.healthChecks'

function flake(value: unknown): FlakeCheck[] {
  return parseFlakeChecks(value, 'web1', WHERE).map(check => ({ check, source: WHERE }))
}

function refusal(f: () => unknown): ActionError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(ActionError)
    return err as ActionError
  }
  throw new Error('expected a refusal')
}

const workflow = parseHealthChecks('- systemd: running')
const base = { host: 'web1', address: '10.0.0.5', workflow, allowCommands: false }

describe('checks the flake keeps with a host', () => {
  it('reads the items of the health-checks input, written in Nix (as JSON)', () => {
    const checks = parseFlakeChecks(
      [
        { http: 'http://{target}:8080/health', body: 'ok', status: [200, 204] },
        { tcp: 5432, name: 'postgres', timeout: 3 },
        { systemd: 'no-failed-units' }
      ],
      'web1',
      WHERE
    )
    expect(checks).toEqual([
      {
        kind: 'http',
        url: 'http://{target}:8080/health',
        method: 'GET',
        status: [200, 204],
        body: { kind: 'substring', text: 'ok' }
      },
      { kind: 'tcp', port: 5432, name: 'postgres', timeout: 3 },
      { kind: 'systemd', state: 'no-failed-units' }
    ])
    expect(parseFlakeChecks(null, 'web1', WHERE)).toEqual([])
  })

  it("reads morph's { http, cmd } shape", () => {
    const checks = parseFlakeChecks(
      {
        http: [{ scheme: 'https', port: 8443, path: 'status', description: 'web', period: 2 }],
        cmd: [{ cmd: ['systemctl', 'is-active', 'nginx service'], description: 'nginx' }]
      },
      'web1',
      'nixosConfigurations.web1.config.deployment.healthChecks'
    )
    expect(checks).toEqual([
      { kind: 'http', url: 'https://{target}:8443/status', method: 'GET', name: 'web' },
      { kind: 'command', command: "systemctl is-active 'nginx service'", name: 'nginx' }
    ])
  })

  it('refuses a value that is not checks, naming the host and where it came from', () => {
    expect(refusal(() => parseFlakeChecks('curl x', 'web1', WHERE)).message).toBe(
      "Host web1: deploy.nodes.web1.healthChecks is not a list of checks (the items of the workflow's health-checks input) nor morph's { http = [ … ]; cmd = [ … ]; }."
    )
    expect(refusal(() => parseFlakeChecks([{ exec: 'x' }], 'web1', WHERE)).message).toMatch(
      /^Host web1: deploy\.nodes\.web1\.healthChecks item 1 has an unknown key 'exec'/
    )
    expect(
      refusal(() => parseFlakeChecks({ http: [{ port: 80, insecureSSL: true }] }, 'web1', WHERE))
        .message
    ).toMatch(/insecureSSL = true/)
    expect(refusal(() => parseFlakeChecks({ cmd: [{ cmd: [] }] }, 'web1', WHERE)).message).toMatch(
      /cmd is not a non-empty list of strings/
    )
  })
})

describe("a host's checks: the workflow's, then the flake's, under the flake's rules", () => {
  it('merges the workflow checks first, the flake checks after', () => {
    const own = flake([{ http: 'http://{target}:8080/' }, { systemd: 'no-failed-units' }])
    expect(hostHealthChecks({ ...base, flake: own })).toEqual([
      ...workflow,
      ...own.map(f => f.check)
    ])
    expect(hostHealthChecks({ ...base, flake: [] })).toEqual(workflow)
  })

  it('refuses a command check from the flake unless allow-flake-commands is true', () => {
    const own = flake([{ command: 'systemctl is-active nginx' }])
    const err = refusal(() => hostHealthChecks({ ...base, flake: own }))
    expect(err.message).toBe(
      "Host web1: the health check command 'systemctl is-active nginx' from deploy.nodes.web1.healthChecks is refused: checks from the flake may run commands on the host only when the workflow sets 'allow-flake-commands: true'."
    )
    expect(err.host).toBe('web1')
    expect(hostHealthChecks({ ...base, flake: own, allowCommands: true })).toHaveLength(2)
    // morph's cmd is a command too.
    expect(() => hostHealthChecks({ ...base, flake: flake({ cmd: [{ cmd: ['true'] }] }) })).toThrow(
      /allow-flake-commands: true/
    )
    // The workflow's own commands need no opt-in.
    expect(
      hostHealthChecks({ ...base, workflow: parseHealthChecks('- command: "true"'), flake: [] })
    ).toHaveLength(1)
  })

  it('lets flake http and tcp checks reach the host itself only (no SSRF from the runner)', () => {
    const ok = [
      { http: 'http://{target}:8080/health' },
      { http: 'https://10.0.0.5/' },
      { tcp: '{target}:443' },
      { tcp: 22 }
    ]
    expect(hostHealthChecks({ ...base, flake: flake(ok) })).toHaveLength(5)
    for (const bad of [
      { http: 'http://169.254.169.254/latest/meta-data/' },
      { http: 'http://{host}:8080/' }, // the name resolves elsewhere: only the target counts
      { http: 'http://10.0.0.5.evil.example/' },
      { tcp: 'db.internal:5432' }
    ]) {
      const err = refusal(() => hostHealthChecks({ ...base, flake: flake([bad]) }))
      expect(err.message).toMatch(
        /^Host web1: the health check .* from deploy\.nodes\.web1\.healthChecks is refused: a check from the flake may only reach the host itself \(10\.0\.0\.5; write \{target\}\), not .*; put checks of other addresses in the workflow's 'health-checks' input\.$/
      )
    }
    // The same URL is fine from the workflow, which the repository's owners write.
    const fromWorkflow = parseHealthChecks('- http: http://169.254.169.254/')
    expect(hostHealthChecks({ ...base, workflow: fromWorkflow, flake: [] })).toEqual(fromWorkflow)
  })

  it('compares IPv6 targets without brackets, host names without case', () => {
    expect(
      hostHealthChecks({
        ...base,
        address: 'fd00::5',
        flake: flake([{ http: 'http://{target}:8080/' }, { http: 'http://[fd00::5]/' }])
      })
    ).toHaveLength(3)
    expect(
      hostHealthChecks({
        ...base,
        address: 'web1.example.org',
        flake: flake([{ http: 'http://WEB1.example.org/' }])
      })
    ).toHaveLength(2)
  })
})

describe('specialisation input', () => {
  it('takes a specialisation name and refuses paths and shell words', () => {
    expect(parseSpecialisation('')).toBeUndefined()
    expect(parseSpecialisation(' maintenance ')).toBe('maintenance')
    expect(parseSpecialisation('gpu_v2.1')).toBe('gpu_v2.1')
    for (const bad of ['../x', 'a/b', '-x', '.hidden', 'a b', '$(id)', "it's"]) {
      const err = refusal(() => parseSpecialisation(bad))
      expect(err.input).toBe('specialisation')
      expect(err.message).toMatch(/^Input 'specialisation' must be the name of a specialisation/)
    }
  })
})
