/**
 * The health-check runner against a simulated host: real nix builds, a real sshd in the host's
 * own namespace, each `command` / `tcp` / `systemd` attempt over a fresh SSH connection built with
 * remoteRun (as deploy builds it), `http` from the runner to the host's health endpoint.
 * Needs root (the simulated fleet). Each test starts with the host running the healthy system
 * (switched to it in beforeEach), whatever an earlier test did.
 */
import { describe, it, expect, beforeAll, beforeEach, afterAll } from '@jest/globals'
import net from 'node:net'
import { runHealthChecks, type HealthContext } from '../../src/core/health.js'
import { parseHealthChecks } from '../../src/core/health-config.js'
import { MemoryLogger } from '../../src/core/log.js'
import { remoteRun, SshSession, type Remote } from '../../src/core/ssh.js'
import {
  startFleet,
  makeFlakeRepo,
  buildToplevel,
  type Fleet,
  type FlakeRepo
} from '../harness/fleet.js'

const T = 180_000

const FLAKE = `{
  outputs = { self }:
    let lib = import ./lib; in {
      nixosConfigurations = {
        web1 = lib.mkHost { name = "web1"; health = { body = "status: ok"; }; };
        web1-unhealthy = lib.mkHost { name = "web1"; health = { mode = "failing"; }; };
      };
    };
}
`

let repo: FlakeRepo
let fleet: Fleet
let session: SshSession
const tops: Record<string, string> = {}

/** The context deploy builds: each runOnHost is a fresh ssh connection through remoteRun. */
function contextFor(remote: Remote, logger?: MemoryLogger): HealthContext {
  return {
    host: remote.host,
    address: remote.target.host,
    logger,
    runOnHost: (argv, timeoutMs) =>
      remoteRun(session, remote, argv, {
        timeoutMs,
        check: false,
        phase: 'health',
        what: 'health check'
      })
  }
}

function web1(port = 22): Remote {
  return {
    host: 'web1',
    target: { user: 'root', host: fleet.host('web1').address, port },
    hostOptions: []
  }
}

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  const flake = `git+file://${repo.path}`
  for (const name of ['web1', 'web1-unhealthy']) tops[name] = await buildToplevel(flake, name)
  fleet = await startFleet({ hosts: ['web1'] })
  await fleet.install('web1', tops['web1'])
  await fleet.copyTo('web1', [tops['web1-unhealthy']])
  session = SshSession.create({
    privateKey: fleet.privateKey,
    knownHosts: fleet.knownHosts,
    acceptNewHostKeys: false,
    extraOptions: ['-F', '/dev/null'],
    sudo: 'auto',
    connectTimeout: 5
  })
}, T)

beforeEach(async () => {
  const h = fleet.host('web1')
  const r = await h.exec([`${tops['web1']}/bin/switch-to-configuration`, 'test'])
  if (r.code !== 0) throw new Error(`switching web1 to its healthy system failed: ${r.stderr}`)
  expect(await h.currentSystem()).toBe(tops['web1'])
}, T)

afterAll(async () => {
  session?.dispose()
  await fleet?.stop()
  await repo?.remove()
}, T)

describe('health checks against a simulated host', () => {
  it(
    'a healthy host passes http, tcp, command and placeholder checks over real SSH',
    async () => {
      // Something listening on the runner's 127.0.0.1 is on the host's localhost too (the fleet
      // shares the loopback network): the default host of `tcp: <port>`.
      const listener = net.createServer(sock => sock.destroy())
      await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
      const port = (listener.address() as net.AddressInfo).port
      try {
        const checks = parseHealthChecks(
          [
            '- http: http://{target}:8080/health',
            '  body: ok',
            '- http: http://{target}:8080/system',
            `  body: '/^\\/nix\\/store\\/[a-z0-9]{32}-nixos-system-web1-/'`,
            '- tcp: "{target}:8080"',
            '- tcp: "{target}:22"',
            `- tcp: ${port}`,
            // Runs on the host: its own /run (namespace) and its own current system.
            '- command: test "$(cat /run/sim/hostname)" = {host} && test -x /run/current-system/bin/switch-to-configuration',
            `- command: test "$(readlink -f /run/current-system)" = ${tops['web1']}`
          ].join('\n')
        )
        const logger = new MemoryLogger()
        const r = await runHealthChecks(checks, contextFor(web1(), logger), {
          timeoutMs: 30_000,
          intervalMs: 500
        })
        expect(r.outcomes.filter(o => !o.ok)).toEqual([])
        expect(r.ok).toBe(true)
        expect(r.outcomes.every(o => o.attempts === 1)).toBe(true)
        expect(r.outcomes.map(o => o.detail)).toEqual([
          'answered 200',
          'answered 200',
          'port open',
          'port open',
          'port open',
          'exit code 0',
          'exit code 0'
        ])
      } finally {
        await new Promise<void>(resolve => listener.close(() => resolve()))
      }
    },
    T
  )

  it(
    'reports what failed on the host, and stops at the deadline',
    async () => {
      const checks = parseHealthChecks(
        [
          '- tcp: "{target}:8081"',
          '- command: cat /run/sim/no-such-file',
          '- http: http://{target}:8080/health',
          '  body: healthy',
          '- systemd: running'
        ].join('\n')
      )
      const r = await runHealthChecks(checks, contextFor(web1()), {
        timeoutMs: 3000,
        intervalMs: 500,
        attemptTimeoutMs: 5000
      })
      expect(r.ok).toBe(false)
      expect(r.outcomes.map(o => [o.ok, o.detail])).toEqual([
        [false, 'connection refused'],
        [false, 'exit code 1: cat: /run/sim/no-such-file: No such file or directory'],
        [false, "answered 200, but the body did not contain 'healthy'"],
        // The simulated host runs no systemd: its systemctl says so.
        [false, 'the system is offline, not running']
      ])
      // Each check kept trying, and stopped at the deadline: attempts start at least 500 ms apart
      // and only before the 3 s deadline, so at most 6, and never one after it.
      for (const o of r.outcomes) {
        expect(o.attempts).toBeGreaterThanOrEqual(2)
        expect(o.attempts).toBeLessThanOrEqual(6)
      }
      expect(r.failure).toMatch(
        /^tcp 127\.\d+\.\d+\.\d+:8081: connection refused \(\d+ attempts in \d+ s\)$/
      )
    },
    T
  )

  it(
    'waits for a host that becomes healthy: 500 from the failing generation, then 200',
    async () => {
      const h = fleet.host('web1')
      const to = async (name: string) => {
        const r = await h.exec([`${tops[name]}/bin/switch-to-configuration`, 'test'])
        if (r.code !== 0) throw new Error(`switch to ${name} failed: ${r.stderr}`)
      }
      await to('web1-unhealthy')
      try {
        const logger = new MemoryLogger()
        const checks = parseHealthChecks(
          `- http: http://{target}:8080/health\n- command: test "$(readlink -f /run/current-system)" = ${tops['web1']}`
        )
        const pending = runHealthChecks(checks, contextFor(web1(), logger), {
          timeoutMs: 60_000,
          intervalMs: 300
        })
        setTimeout(() => void to('web1'), 2000)
        const r = await pending
        expect(r.ok).toBe(true)
        expect(r.outcomes[0].attempts).toBeGreaterThan(2)
        expect(r.outcomes[1].attempts).toBeGreaterThan(2)
        const info = logger.lines.filter(l => l.level === 'info').map(l => l.message)
        expect(info).toContain(
          `web1: http http://${h.address}:8080/health: answered 500, retrying (attempt 1, 60 s left)`
        )
        expect(
          info.some(l => /^web1: command .*: exit code 1, retrying \(attempt 1, /.test(l))
        ).toBe(true)
      } finally {
        await to('web1')
      }
    },
    T
  )

  it(
    'a host that refuses SSH fails the host-side checks with the reason',
    async () => {
      const r = await runHealthChecks(
        parseHealthChecks('- command: "true"\n- tcp: 22\n- systemd: no-failed-units'),
        contextFor(web1(2222)),
        { timeoutMs: 1500, intervalMs: 500 }
      )
      expect(r.ok).toBe(false)
      expect(r.outcomes.map(o => o.detail)).toEqual([
        'exit code 255 (ssh could not connect?): connection refused',
        'ssh could not connect: connection refused',
        'ssh could not connect: connection refused'
      ])
    },
    T
  )
})
