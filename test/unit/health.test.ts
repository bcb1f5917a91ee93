/**
 * The health-check runner: real HTTP servers on loopback for `http`, real local shells for the
 * `tcp` probe script and `command`, and recording fakes of `runOnHost` where the point is the
 * argv we send or an answer a machine without systemd cannot give.
 */
import { describe, it, expect, afterEach } from '@jest/globals'
import fc from 'fast-check'
import http from 'node:http'
import net from 'node:net'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError } from '../../src/core/errors.js'
import {
  runHealthChecks,
  TCP_PROBE_SCRIPT,
  TCP_DEFAULT_HOST,
  type HealthClock,
  type HealthContext,
  type HostCommandResult
} from '../../src/core/health.js'
import { parseHealthChecks, type HealthCheck } from '../../src/core/health-config.js'
import { MemoryLogger } from '../../src/core/log.js'
import { run } from '../../src/core/process.js'
import { secrets } from '../../src/core/secrets.js'

// Unref'd: a fake still sleeping after its test (an aborted attempt) does not hold jest open.
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms).unref())

/**
 * A clock for runHealthChecks in which time moves only when every waiter waits: each `sleep` (the
 * loop's pauses, and a fake host's hung attempts through `sleep` too) wakes in order of its wake-up
 * time, and the clock jumps there. The pauses the loop took are recorded.
 */
function countingClock(): HealthClock & { pauses: number[]; wait(ms: number): Promise<void> } {
  let t = 0
  const pauses: number[] = []
  const waiting: { at: number; wake: () => void }[] = []
  const wait = (ms: number) =>
    new Promise<void>(wake => {
      waiting.push({ at: t + ms, wake })
      setImmediate(() => {
        if (waiting.length === 0) return
        waiting.sort((x, y) => x.at - y.at)
        const next = waiting.shift() as { at: number; wake: () => void }
        t = Math.max(t, next.at)
        next.wake()
      })
    })
  return {
    pauses,
    wait,
    now: () => t,
    sleep: async ms => {
      pauses.push(ms)
      await wait(ms)
    }
  }
}

/** Waits (polling, up to 10 s) until `done()` holds. */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(50)
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface Served {
  url: string
  port: number
  requests: { method: string; path: string; host: string }[]
  close(): Promise<void>
}

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => s.close()))
})

/** An HTTP server on loopback; `handler` gets the request number (1, 2, …). */
async function serve(
  handler: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void,
  address = '127.0.0.1'
): Promise<Served> {
  const requests: Served['requests'] = []
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', host: req.headers.host ?? '' })
    handler(requests.length, req, res)
  })
  await new Promise<void>(resolve => server.listen(0, address, resolve))
  const port = (server.address() as net.AddressInfo).port
  const served: Served = {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
  servers.push(served)
  return served
}

/** A loopback port nothing listens on (listened on, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

function checks(yaml: string): HealthCheck[] {
  return parseHealthChecks(yaml)
}

interface Recorded {
  calls: { argv: string[]; timeoutMs: number }[]
}

/** A context whose runOnHost is `answer` (recording every call). */
function fakeHost(
  answer: (
    argv: string[],
    n: number,
    timeoutMs: number
  ) => Partial<HostCommandResult> | Promise<Partial<HostCommandResult>>,
  extra: Partial<HealthContext> = {}
): HealthContext & Recorded {
  const calls: Recorded['calls'] = []
  return {
    host: 'web1',
    address: '10.0.0.7',
    calls,
    async runOnHost(argv, timeoutMs) {
      calls.push({ argv, timeoutMs })
      const r = await answer(argv, calls.length, timeoutMs)
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false, ...r }
    },
    ...extra
  }
}

/** A context whose "host" is this machine: the argv really runs here (no SSH, same semantics). */
function localHost(env: Record<string, string | undefined> = {}): HealthContext & Recorded {
  const calls: Recorded['calls'] = []
  return {
    host: 'local',
    address: '127.0.0.1',
    calls,
    async runOnHost(argv, timeoutMs) {
      calls.push({ argv, timeoutMs })
      const r = await run(argv[0] === 'sh' ? ['/bin/sh', ...argv.slice(1)] : argv, {
        timeoutMs,
        check: false,
        env
      })
      return r
    }
  }
}

const fast = { intervalMs: 100, attemptTimeoutMs: 2000 }

// ---------------------------------------------------------------------------------------------

describe('http checks (from the runner)', () => {
  it('retries until the endpoint answers 2xx (500, 500, then 200)', async () => {
    const s = await serve((n, _req, res) => {
      res.writeHead(n < 3 ? 500 : 200).end('ok')
    })
    const logger = new MemoryLogger()
    const ctx = fakeHost(() => ({}), { logger })
    const r = await runHealthChecks(checks(`- http: ${s.url}/health`), ctx, {
      timeoutMs: 10_000,
      ...fast
    })
    expect(r.ok).toBe(true)
    expect(r.failure).toBeUndefined()
    expect(r.outcomes).toEqual([
      expect.objectContaining({
        check: `http ${s.url}/health`,
        ok: true,
        attempts: 3,
        detail: 'answered 200'
      })
    ])
    expect(s.requests).toHaveLength(3)
    expect(ctx.calls).toHaveLength(0) // http runs from the runner, never over SSH
    const info = logger.lines.filter(l => l.level === 'info').map(l => l.message)
    expect(info[0]).toBe(
      `web1: http ${s.url}/health: answered 500, retrying (attempt 1, 10 s left)`
    )
    expect(info.at(-1)).toMatch(/^web1: http .* passed \(attempt 3, after \d+ s\)$/)
  })

  it('fails with the last status when it never passes, and stops at the deadline', async () => {
    const s = await serve((_n, _req, res) => res.writeHead(500).end('broken'))
    // A clock of its own: time moves only by the pauses between attempts, so the attempts that fit
    // before the deadline are counted exactly, whatever the machine's load.
    const clock = countingClock()
    const r = await runHealthChecks(
      checks(`- http: ${s.url}/health`),
      fakeHost(() => ({})),
      { timeoutMs: 1500, intervalMs: 200, attemptTimeoutMs: 1000, clock }
    )
    expect(r.ok).toBe(false)
    expect(r.outcomes[0].detail).toBe('answered 500')
    // Attempts at 0, 200, …, 1400 ms; then a pause of the 100 ms left, and no attempt at the deadline.
    expect(r.outcomes[0].attempts).toBe(8)
    expect(r.outcomes[0].attempts).toBe(s.requests.length)
    expect(clock.pauses).toEqual([200, 200, 200, 200, 200, 200, 200, 100])
    // It kept trying until the deadline, and not a moment past it.
    expect(clock.now()).toBe(1500)
    expect(r.failure).toMatch(
      new RegExp(
        `^http ${s.url.replace(/\./g, '\\.')}/health: answered 500 \\(8 attempts in \\d+ s\\)$`
      )
    )
  })

  it('times out an endpoint that answers too slowly', async () => {
    let abandoned = 0
    const s = await serve((_n, req, res) => {
      // The answer would come after 3 s; count the requests the client gave up on before that.
      const timer = setTimeout(() => res.writeHead(200).end('ok'), 3000)
      timer.unref()
      req.socket.once('close', () => {
        if (!res.headersSent) abandoned++
        clearTimeout(timer)
      })
    })
    const r = await runHealthChecks(
      checks(`- http: ${s.url}/health\n  timeout: 1`),
      fakeHost(() => ({})),
      { timeoutMs: 1500, intervalMs: 100, attemptTimeoutMs: 30_000 }
    )
    expect(r.ok).toBe(false)
    expect(r.outcomes[0].detail).toBe('timed out after 1 s')
    // Each attempt was cut at the check's own 1 s (not the 30 s attempt timeout, not the 3 s
    // answer): every request was abandoned unanswered, and a 1.5 s deadline leaves room for at
    // most two attempts of at least 1 s each.
    await waitUntil(() => abandoned === s.requests.length)
    expect(abandoned).toBe(r.outcomes[0].attempts)
    expect(r.outcomes[0].attempts).toBeGreaterThanOrEqual(1)
    expect(r.outcomes[0].attempts).toBeLessThanOrEqual(2)
  })

  it('reports a refused connection', async () => {
    const port = await closedPort()
    const r = await runHealthChecks(
      checks(`- http: http://127.0.0.1:${port}/health`),
      fakeHost(() => ({})),
      { timeoutMs: 300, ...fast }
    )
    expect(r.ok).toBe(false)
    expect(r.outcomes[0].detail).toBe('connection refused')
  })

  it('matches the body by substring and by regex', async () => {
    const s = await serve((_n, req, res) => {
      res.writeHead(200).end(req.url === '/json' ? '{"status":"UP","db":"ok"}' : 'all good')
    })
    const r = await runHealthChecks(
      checks(
        [
          `- http: ${s.url}/plain`,
          `  body: good`,
          `- http: ${s.url}/json`,
          `  body: '/"status":\\s*"up"/i'`,
          `- http: ${s.url}/plain`,
          `  body: healthy`,
          `  name: wants healthy`,
          `- http: ${s.url}/json`,
          `  body: '/^UP$/'`,
          `  name: wants exactly UP`
        ].join('\n')
      ),
      fakeHost(() => ({})),
      { timeoutMs: 400, ...fast }
    )
    expect(r.outcomes.map(o => [o.check, o.ok])).toEqual([
      [`http ${s.url}/plain`, true],
      [`http ${s.url}/json`, true],
      ['wants healthy', false],
      ['wants exactly UP', false]
    ])
    expect(r.outcomes[2].detail).toBe("answered 200, but the body did not contain 'healthy'")
    expect(r.outcomes[3].detail).toBe('answered 200, but the body did not match /^UP$/')
    // The first failing check, in the order given.
    expect(r.failure).toMatch(
      /^wants healthy: answered 200, but the body did not contain 'healthy'/
    )
  })

  it('reads at most 1 MiB of the body', async () => {
    const big = 'x'.repeat(1024 * 1024)
    const s = await serve((_n, req, res) => {
      res.writeHead(200).end(req.url === '/early' ? `MARK${big}` : `${big}MARK`)
    })
    const r = await runHealthChecks(
      checks(`- http: ${s.url}/early\n  body: MARK\n- http: ${s.url}/late\n  body: MARK`),
      fakeHost(() => ({})),
      { timeoutMs: 300, ...fast }
    )
    expect(r.outcomes.map(o => o.ok)).toEqual([true, false])
  })

  it('accepts only the listed statuses, and does not follow redirects', async () => {
    const s = await serve((_n, req, res) => {
      if (req.url === '/moved') res.writeHead(301, { location: '/health' }).end()
      else if (req.url === '/empty') res.writeHead(204).end()
      else if (req.url === '/maint') res.writeHead(503).end()
      else res.writeHead(200).end('ok')
    })
    const r = await runHealthChecks(
      checks(
        [
          `- http: ${s.url}/empty`,
          `  status: [200, 204]`,
          `- http: ${s.url}/maint`,
          `  status: 503`,
          `- http: ${s.url}/health`,
          `  status: 204`,
          `- http: ${s.url}/moved`,
          `- http: ${s.url}/moved`,
          `  status: 301`
        ].join('\n')
      ),
      fakeHost(() => ({})),
      { timeoutMs: 400, ...fast }
    )
    expect(r.outcomes.map(o => o.ok)).toEqual([true, true, false, false, true])
    expect(r.outcomes[2].detail).toBe('answered 200')
    expect(r.outcomes[3].detail).toBe(
      "answered 301 (a redirect to '/health'; redirects are not followed)"
    )
    // The redirect target was never requested.
    expect(s.requests.filter(q => q.path === '/health').length).toBe(r.outcomes[2].attempts)
  })

  it('expands {host} and {target} (IPv6 in brackets) and uses the method', async () => {
    const s = await serve((_n, _req, res) => res.writeHead(200).end('ok'), '::1')
    const ctx: HealthContext = { ...fakeHost(() => ({})), host: 'web-7', address: '::1' }
    const r = await runHealthChecks(
      checks(`- http: http://{target}:${s.port}/status/{host}\n  method: HEAD`),
      ctx,
      { timeoutMs: 2000, ...fast }
    )
    expect(r.ok).toBe(true)
    expect(r.outcomes[0].check).toBe(`http HEAD http://[::1]:${s.port}/status/web-7`)
    expect(s.requests).toEqual([{ method: 'HEAD', path: '/status/web-7', host: `[::1]:${s.port}` }])
  })
})

describe('command checks (on the host)', () => {
  it('passes the command as one argv word to sh -c, placeholders expanded', async () => {
    const command = `curl -fsS "http://{target}:8080/x?a=1&b=2" | grep -q '$HOME {host}' ; echo "\${PATH}" \`id\``
    const ctx = fakeHost(() => ({ exitCode: 0 }))
    const r = await runHealthChecks(checks(`- command: ${JSON.stringify(command)}`), ctx, {
      timeoutMs: 10_000,
      ...fast
    })
    expect(r.ok).toBe(true)
    expect(ctx.calls).toEqual([
      {
        argv: [
          'sh',
          '-c',
          `curl -fsS "http://10.0.0.7:8080/x?a=1&b=2" | grep -q '$HOME web1' ; echo "\${PATH}" \`id\``
        ],
        timeoutMs: 2000
      }
    ])
  })

  it('any command (without placeholders) reaches the host unchanged', () =>
    fc.assert(
      fc.asyncProperty(
        fc
          .string({ minLength: 1, maxLength: 80 })
          .filter(s => !s.includes('{') && !s.includes('\0') && s.trim() !== ''),
        async command => {
          const ctx = fakeHost(() => ({}))
          await runHealthChecks([{ kind: 'command', command }], ctx, { timeoutMs: 1000 })
          expect(ctx.calls.map(c => c.argv)).toEqual([['sh', '-c', command]])
        }
      ),
      { numRuns: 100 }
    ))

  it('reports the exit code and the last line of stderr (else stdout), retried until it passes', async () => {
    const ctx = fakeHost((_argv, n) =>
      n < 3
        ? { exitCode: 3, stderr: 'starting\nnginx: inactive\n\n' }
        : { exitCode: 0, stdout: 'active\n' }
    )
    const r = await runHealthChecks(checks('- command: systemctl is-active nginx'), ctx, {
      timeoutMs: 5000,
      ...fast
    })
    expect(r.ok).toBe(true)
    expect(r.outcomes[0].attempts).toBe(3)

    const failing = fakeHost(() => ({ exitCode: 1, stdout: 'x'.repeat(500) + '\n' }))
    const f = await runHealthChecks(checks('- command: "false"'), failing, {
      timeoutMs: 250,
      ...fast
    })
    expect(f.ok).toBe(false)
    expect(f.outcomes[0].detail).toMatch(/^exit code 1: x+…$/)
    expect(f.outcomes[0].detail.length).toBeLessThanOrEqual(200)

    const stderr = fakeHost(() => ({ exitCode: 2, stderr: 'one\ntwo: it\tbroke\n', stdout: 'out' }))
    const g = await runHealthChecks(checks('- command: x'), stderr, { timeoutMs: 100, ...fast })
    expect(g.outcomes[0].detail).toBe('exit code 2: two: it broke')
  })

  it('runs a real command until the condition it tests comes true', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'health-test-'))
    try {
      const flag = path.join(dir, 'ready')
      setTimeout(() => void fs.writeFile(flag, 'yes'), 600)
      const r = await runHealthChecks(
        checks(`- command: test -e ${flag} && grep -q yes ${flag}`),
        localHost(),
        { timeoutMs: 10_000, intervalMs: 150 }
      )
      expect(r.ok).toBe(true)
      expect(r.outcomes[0].attempts).toBeGreaterThan(1)

      const missing = await runHealthChecks(checks(`- command: cat ${dir}/nope`), localHost(), {
        timeoutMs: 200,
        intervalMs: 100
      })
      expect(missing.outcomes[0].detail).toBe(
        `exit code 1: cat: ${dir}/nope: No such file or directory`
      )
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it('reports a command that runs too long, an ssh failure, and a runner error', async () => {
    const slow = await runHealthChecks(checks('- command: sleep 30\n  timeout: 1'), localHost(), {
      timeoutMs: 500,
      intervalMs: 100
    })
    expect(slow.outcomes[0].detail).toBe('timed out after 1 s')

    const ssh = fakeHost(() => ({
      exitCode: 255,
      stderr: 'ssh: connect to host 10.0.0.7 port 22: Connection refused\n'
    }))
    const s = await runHealthChecks(checks('- command: "true"'), ssh, { timeoutMs: 100, ...fast })
    expect(s.outcomes[0].detail).toBe('exit code 255 (ssh could not connect?): connection refused')

    const throwing = fakeHost(() => {
      throw new ActionError("'ssh' was not found on PATH.")
    })
    const t = await runHealthChecks(checks('- command: "true"'), throwing, {
      timeoutMs: 250,
      ...fast
    })
    expect(t.ok).toBe(false)
    expect(t.outcomes[0].detail).toBe("'ssh' was not found on PATH.")
    expect(throwing.calls.length).toBeGreaterThan(1) // retried like any failure
  })

  it('masks secrets in details', async () => {
    secrets.add('hunter2-very-secret')
    const ctx = fakeHost(() => ({ exitCode: 1, stderr: 'token hunter2-very-secret rejected' }))
    const r = await runHealthChecks(checks('- command: check-token'), ctx, {
      timeoutMs: 100,
      ...fast
    })
    expect(r.outcomes[0].detail).toBe('exit code 1: token *** rejected')
  })
})

describe('tcp checks (on the host)', () => {
  it('runs the constant probe script with host, port and seconds as arguments', async () => {
    const ctx = fakeHost(() => ({ exitCode: 0 }))
    const r = await runHealthChecks(
      checks('- tcp: 443\n- tcp: "{target}:8080"\n- tcp: "[::1]:5432"\n  timeout: 5'),
      ctx,
      { timeoutMs: 60_000, ...fast }
    )
    expect(r.ok).toBe(true)
    const argvs = ctx.calls.map(c => c.argv).sort((a, b) => a[5].localeCompare(b[5]))
    expect(argvs).toEqual([
      ['sh', '-c', TCP_PROBE_SCRIPT, 'nix-deploy', TCP_DEFAULT_HOST, '443', '1'],
      ['sh', '-c', TCP_PROBE_SCRIPT, 'nix-deploy', '::1', '5432', '4'],
      ['sh', '-c', TCP_PROBE_SCRIPT, 'nix-deploy', '10.0.0.7', '8080', '1']
    ])
    expect(TCP_DEFAULT_HOST).toBe('localhost')
    expect(r.outcomes.map(o => o.check)).toEqual(['tcp 443', 'tcp 10.0.0.7:8080', 'tcp [::1]:5432'])
  })

  it('the probe finds an open port (default host: localhost) and a refused one', async () => {
    const server = net.createServer(sock => sock.destroy())
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const open = (server.address() as net.AddressInfo).port
    const closed = await closedPort()
    try {
      const r = await runHealthChecks(
        checks(
          `- tcp: ${open}\n- tcp: "{target}:${open}"\n- tcp: ${closed}\n- tcp: "127.0.0.1:${closed}"`
        ),
        localHost(),
        { timeoutMs: 500, intervalMs: 100 }
      )
      expect(r.outcomes.map(o => [o.ok, o.detail])).toEqual([
        [true, 'port open'],
        [true, 'port open'],
        [false, 'connection refused'],
        [false, 'connection refused']
      ])
    } finally {
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  })

  it('the probe falls back to nc without bash, and says so when neither exists', async () => {
    // A host without bash: only `timeout` and a stand-in `nc` (this machine has no nc) that
    // records its arguments and refuses port 1.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'health-nc-'))
    try {
      const bin = path.join(dir, 'bin')
      await fs.mkdir(bin)
      await fs.symlink('/usr/bin/timeout', path.join(bin, 'timeout'))
      const log = path.join(dir, 'nc.log')
      await fs.writeFile(
        path.join(bin, 'nc'),
        `#!/bin/sh\necho "$@" >> ${log}\n[ "$5" = 1 ] && exit 1\nexit 0\n`,
        { mode: 0o755 }
      )
      const ctx = localHost({ PATH: bin })
      const r = await runHealthChecks(checks('- tcp: 1\n- tcp: 22'), ctx, {
        timeoutMs: 100,
        intervalMs: 100,
        attemptTimeoutMs: 3000
      })
      expect(r.outcomes.map(o => [o.ok, o.detail])).toEqual([
        [false, 'nc: the port is closed'],
        [true, 'port open']
      ])
      // Each attempt is 1 s here (the deadline is near): nc gets -w 1.
      const lines = (await fs.readFile(log, 'utf8')).split('\n').filter(Boolean)
      expect([...new Set(lines)].sort()).toEqual(['-z -w 1 localhost 1', '-z -w 1 localhost 22'])

      await fs.rm(path.join(bin, 'nc'))
      const none = await runHealthChecks(checks('- tcp: 22'), ctx, {
        timeoutMs: 100,
        intervalMs: 100
      })
      expect(none.outcomes[0].detail).toBe(
        'neither bash (with /dev/tcp) nor nc is on the host to test a TCP port'
      )
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it("reports timeouts (the probe's own, and the ssh call's)", async () => {
    // A 10 s attempt: the probe gets 9 s (so it reports before the ssh call is cut).
    const logger = new MemoryLogger()
    const probe = fakeHost(
      (_argv, n) => (n === 1 ? { exitCode: 124, stderr: 'timed out\n' } : {}),
      {
        logger
      }
    )
    const a = await runHealthChecks(checks('- tcp: 443'), probe, {
      timeoutMs: 60_000,
      intervalMs: 50,
      attemptTimeoutMs: 10_000
    })
    expect(a.ok).toBe(true)
    expect(probe.calls.map(c => [c.argv[6], c.timeoutMs])).toEqual([
      ['9', 10_000],
      ['9', 10_000]
    ])
    expect(logger.lines[0].message).toBe(
      'web1: tcp 443: timed out after 9 s, retrying (attempt 1, 60 s left)'
    )
    const sshCall = fakeHost(() => ({ exitCode: null, timedOut: true }))
    const b = await runHealthChecks(checks('- tcp: 443'), sshCall, {
      timeoutMs: 100,
      intervalMs: 100
    })
    expect(b.outcomes[0].detail).toBe('timed out after 1 s') // the attempt was cut to the 1 s left
  })
})

describe('systemd checks (on the host)', () => {
  it('no-failed-units passes on empty output and lists at most 5 failed units', async () => {
    const units = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(
      u => `${u}.service loaded failed failed ${u} service`
    )
    const ctx = fakeHost((_argv, n) => ({ stdout: n === 1 ? units.join('\n') + '\n' : '' }))
    const r = await runHealthChecks(checks('- systemd: no-failed-units'), ctx, {
      timeoutMs: 5000,
      ...fast
    })
    expect(r.ok).toBe(true)
    expect(r.outcomes[0]).toMatchObject({ attempts: 2, detail: 'no failed units' })
    expect(ctx.calls[0].argv).toEqual(['systemctl', '--failed', '--no-legend', '--plain'])

    const failing = fakeHost(() => ({ stdout: units.join('\n') }))
    const f = await runHealthChecks(checks('- systemd: no-failed-units'), failing, {
      timeoutMs: 100,
      ...fast
    })
    expect(f.outcomes[0].detail).toBe(
      'failed units: a.service, b.service, c.service, d.service, e.service, … (7 in all)'
    )
  })

  it('running passes only on "running" (starting is retried, degraded fails)', async () => {
    const states = ['starting', 'starting', 'running']
    const ctx = fakeHost((_argv, n) => {
      const s = states[n - 1]
      return { stdout: `${s}\n`, exitCode: s === 'running' ? 0 : 1 }
    })
    const r = await runHealthChecks(checks('- systemd: running'), ctx, { timeoutMs: 5000, ...fast })
    expect(r.ok).toBe(true)
    expect(r.outcomes[0]).toMatchObject({ attempts: 3, detail: 'running' })
    expect(ctx.calls[0].argv).toEqual(['systemctl', 'is-system-running'])

    const degraded = fakeHost(() => ({ stdout: 'degraded\n', exitCode: 1 }))
    const d = await runHealthChecks(checks('- systemd: running'), degraded, {
      timeoutMs: 100,
      ...fast
    })
    expect(d.outcomes[0].detail).toBe('the system is degraded, not running')
  })

  it('reports what systemctl says on a machine without systemd (real systemctl here)', async () => {
    const r = await runHealthChecks(
      checks('- systemd: running\n- systemd: no-failed-units'),
      localHost(),
      { timeoutMs: 100, intervalMs: 100 }
    )
    expect(r.ok).toBe(false)
    // This machine has systemctl but was not booted with systemd.
    expect(r.outcomes[0].detail).toBe('the system is offline, not running')
    expect(r.outcomes[1].detail).toMatch(/^systemctl exited with code 1: /)
  })
})

describe('the runner as a whole', () => {
  it('runs checks in parallel and does not re-run one that passed', async () => {
    let slowCalls = 0
    let flakyCalls = 0
    let running = 0
    let mostAtOnce = 0
    const attempt = async (ok: boolean) => {
      running++
      mostAtOnce = Math.max(mostAtOnce, running)
      await sleep(700)
      running--
      return { exitCode: ok ? 0 : 1 }
    }
    const ctx = fakeHost(async argv => {
      if (argv[2] === 'slow') {
        slowCalls++
        return attempt(true)
      }
      flakyCalls++
      return attempt(flakyCalls >= 3)
    })
    const r = await runHealthChecks(checks('- command: slow\n- command: flaky'), ctx, {
      timeoutMs: 10_000,
      intervalMs: 50
    })
    expect(r.ok).toBe(true)
    expect(slowCalls).toBe(1)
    expect(flakyCalls).toBe(3)
    // In parallel: the slow check's attempt and the flaky check's first one ran at the same time.
    expect(mostAtOnce).toBe(2)
    expect(r.outcomes.map(o => o.attempts)).toEqual([1, 3])
  })

  it('is ok with no checks', async () => {
    const r = await runHealthChecks(
      [],
      fakeHost(() => ({})),
      { timeoutMs: 1000 }
    )
    expect(r).toMatchObject({ ok: true, outcomes: [] })
  })

  it("gives each attempt the check's own timeout, shortened near the deadline (not below 1 s)", async () => {
    const ctx = fakeHost(() => ({ exitCode: 1 }))
    await runHealthChecks(checks('- command: a\n  timeout: 7\n- command: b'), ctx, {
      timeoutMs: 1200,
      intervalMs: 500,
      attemptTimeoutMs: 4000
    })
    const a = ctx.calls.filter(c => c.argv[2] === 'a').map(c => c.timeoutMs)
    const b = ctx.calls.filter(c => c.argv[2] === 'b').map(c => c.timeoutMs)
    expect(a[0]).toBeLessThanOrEqual(1200)
    expect(a[0]).toBeGreaterThan(1100)
    expect(a.at(-1)).toBe(1000) // ~700 ms left at the last attempt: raised to the 1 s floor
    expect(b[0]).toBeGreaterThan(1100)
    expect(b.at(-1)).toBe(1000)
    // Never longer than the time left (or the 1 s floor), never longer than the check's own.
    for (const ms of [...a, ...b]) expect(ms >= 1000 && ms <= 1200).toBe(true)
    const generous = fakeHost(() => ({ exitCode: 0 }))
    await runHealthChecks(checks('- command: a\n  timeout: 7\n- command: b'), generous, {
      timeoutMs: 60_000,
      attemptTimeoutMs: 4000
    })
    expect(generous.calls.map(c => c.timeoutMs).sort()).toEqual([4000, 7000])
  })

  it('respects the deadline even when attempts hang until their own timeout', async () => {
    const clock = countingClock()
    const hung: number[] = []
    const ctx = fakeHost(async (_argv, _n, timeoutMs) => {
      hung.push(timeoutMs)
      await clock.wait(timeoutMs)
      return { exitCode: null, timedOut: true }
    })
    const r = await runHealthChecks(checks('- command: hang\n- tcp: 1'), ctx, {
      timeoutMs: 2500,
      intervalMs: 300,
      attemptTimeoutMs: 1000,
      clock
    })
    expect(r.ok).toBe(false)
    expect(r.outcomes[0].detail).toBe('timed out after 1 s')
    // Each check: an attempt hung for its 1 s (to 1000 ms), a 300 ms pause, another 1 s attempt
    // (to 2300 ms), then a pause of the 200 ms left, and no third attempt at the deadline.
    expect(r.outcomes.map(o => o.attempts)).toEqual([2, 2])
    expect(hung).toEqual([1000, 1000, 1000, 1000])
    expect(clock.pauses).toEqual([300, 300, 200, 200])
    expect(clock.now()).toBe(2500)
  })

  it('logs at most one progress line per check per 10 s', async () => {
    const logger = new MemoryLogger()
    const ctx = fakeHost(() => ({ exitCode: 1, stderr: 'nope' }), { logger })
    const r = await runHealthChecks(checks('- command: a\n- command: b'), ctx, {
      timeoutMs: 1500,
      intervalMs: 20
    })
    expect(r.outcomes[0].attempts).toBeGreaterThan(10)
    const info = logger.lines.filter(l => l.level === 'info').map(l => l.message)
    expect(info).toEqual([
      "web1: command 'a': exit code 1: nope, retrying (attempt 1, 2 s left)",
      "web1: command 'b': exit code 1: nope, retrying (attempt 1, 2 s left)"
    ])
  })

  it('stops early when the signal aborts', async () => {
    const controller = new AbortController()
    const s = await serve((_n, _req, res) => res.writeHead(503).end())
    let slowDone = 0
    const ctx = fakeHost(async () => {
      await sleep(5000)
      slowDone++
      return { exitCode: 0 }
    })
    setTimeout(() => controller.abort(), 400)
    const r = await runHealthChecks(checks(`- http: ${s.url}/\n- command: slow`), ctx, {
      timeoutMs: 60_000,
      intervalMs: 100,
      signal: controller.signal
    })
    // It returned without waiting for the 5 s command, and the command was started once.
    expect(slowDone).toBe(0)
    expect(ctx.calls).toHaveLength(1)
    expect(r.ok).toBe(false)
    expect(r.outcomes.map(o => o.detail)).toEqual([
      'cancelled (last seen: answered 503)',
      'cancelled'
    ])
    expect(r.failure).toMatch(/^http .*: cancelled \(last seen: answered 503\)/)
  })

  it('throws ActionError for configuration errors, before running anything', async () => {
    const ctx = fakeHost(() => ({}))
    await expect(
      runHealthChecks(checks('- command: "true"'), ctx, { timeoutMs: 0 })
    ).rejects.toThrow(ActionError)
    await expect(
      runHealthChecks(
        checks('- command: ping {target}'),
        { ...ctx, address: '1.2.3.4;reboot' },
        {
          timeoutMs: 1000
        }
      )
    ).rejects.toThrow(/cannot run health checks against the address/)
    expect(ctx.calls).toHaveLength(0)
  })
})
