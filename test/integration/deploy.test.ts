/**
 * The deploy and rollback bundles against a simulated fleet: real sshd hosts with their own /nix,
 * real nix copy, the fixture's switch-to-configuration and health endpoint. Each fault test
 * checks what the host runs afterwards (/run/current-system and the profile), its generations,
 * the status output, the exit code and the message.
 *
 * Every test starts from a fleet of its own (two new hosts, `web` and `other`, with empty stores)
 * and installs the generations it needs itself, so no test depends on what an earlier one left.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import { mermaidBlocks, parseMermaid } from '../harness/mermaid.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo,
  type SimHost
} from '../harness/fleet.js'

const T = 240_000
const HEALTH = '- http: http://{target}:8080/health\n  status: 200\n  body: ok\n'

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      web = args: lib.mkHost ({ name = "web"; packages = [ pkgs.nginx ]; services.nginx = { package = pkgs.nginx; }; } // args);
    in {
      nixosConfigurations = {
        a = web { };
        b = web { packages = [ pkgs.nginx pkgs.curl ]; services.extra = { }; };
        unhealthy = web { health = { mode = "failing"; }; };
        broken = web { failingUnits = [ "broken.service" ]; };
        nossh = web { stopSsh = true; };
      };
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
const sys: Record<string, string> = {}

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  for (const name of ['a', 'b', 'unhealthy', 'broken', 'nossh'])
    sys[name] = await buildToplevel(repo.path, name)
}, T)

afterAll(async () => {
  await repo?.remove()
})

beforeEach(async () => {
  fleet = await startFleet({ hosts: ['web', 'other'] })
}, T)

afterEach(async () => {
  await fleet?.stop()
})

/** Installs `systems` on the host in order (generations 1, 2, …) and checks it got exactly those. */
async function installed(host: SimHost, ...systems: string[]): Promise<void> {
  for (const system of systems) await fleet.install(host, system)
  expect(await host.generations()).toEqual(systems.map((_, i) => i + 1))
  const last = systems[systems.length - 1]
  expect(await state(host)).toEqual({ current: last, profile: last })
}

function deploy(
  host: SimHost,
  storePath: string,
  extra: Record<string, string> = {},
  opts: Partial<Parameters<typeof runAction>[0]> = {}
): Promise<ActionRun> {
  return runAction({
    action: '.',
    workspace: repo.path,
    inputs: {
      host: 'web',
      target: `root@${host.address}`,
      'store-path': storePath,
      'ssh-private-key': fleet.privateKey,
      'ssh-known-hosts': fleet.knownHosts,
      'health-checks': HEALTH,
      'health-timeout': '8',
      'confirm-timeout': '6',
      ...extra
    },
    ...opts
  })
}

async function state(host: SimHost) {
  return { current: await host.currentSystem(), profile: await host.profileSystem() }
}

function results(run: ActionRun): Record<string, unknown>[] {
  return JSON.parse(run.outputs.results ?? '[]')
}

describe('deploy', () => {
  it(
    'deploys a healthy system, proves it, confirms it, and leaves no key behind',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      const run = await deploy(h, sys.b)
      expect(run.failure).toBeUndefined()
      expect(run.exitCode).toBe(0)
      expect(run.outputs.status).toBe('deployed')
      expect(run.outputs['store-path']).toBe(sys.b)
      expect(run.outputs['previous-store-path']).toBe(sys.a)
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(await h.generations()).toEqual([1, 2])
      const [r] = results(run)
      expect(r).toMatchObject({
        host: 'web',
        status: 'deployed',
        'store-path': sys.b,
        'previous-store-path': sys.a,
        error: null
      })
      expect((r.health as { ok: boolean }[])[0].ok).toBe(true)
      // The summary shows every phase with its time.
      for (const phase of [
        'probe',
        'lock',
        'copy',
        'record',
        'arm',
        'activate',
        'verify',
        'confirm'
      ])
        expect(run.summary).toContain(`| ${phase} |`)
      // The key went to a private folder that the post step removed; it is in no output.
      expect(run.post?.exitCode).toBe(0)
      expect(fs.readdirSync(run.runnerTemp).filter(f => f.startsWith('nix-deploy-ssh-'))).toEqual(
        []
      )
      // (The runner consumes ::add-mask:: commands; everything else must be free of the key.)
      const shown = run.stdout.split('\n').filter(l => !l.startsWith('::add-mask::'))
      const keyLine = fleet.privateKey.split('\n')[1]
      expect(
        JSON.stringify(run.outputs) + run.summary + shown.join('\n') + run.stderr
      ).not.toContain(keyLine)
      expect(run.masks).toContain(keyLine)
    },
    T
  )

  it(
    'a second deploy of the same system is unchanged: nothing copied or activated',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a, sys.b)
      const run = await deploy(h, sys.b)
      expect(run.exitCode).toBe(0)
      expect(run.outputs.status).toBe('unchanged')
      expect(await h.generations()).toEqual([1, 2])
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(run.summary).not.toContain('| copy |')
    },
    T
  )

  it(
    'rolls back when the health endpoint answers 500',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a, sys.b)
      const run = await deploy(h, sys.unhealthy)
      // The exact previous generation again: same number, and the failed one is gone.
      expect(await h.generations()).toEqual([1, 2])
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(run.failure).toMatch(
        /Host web failed in phase verify: health check failed: http http:\/\/.*\/health/
      )
      expect(run.failure).toMatch(/answered 500/)
      expect(run.failure).toMatch(/rolled back to .*which is healthy/)
    },
    T
  )

  it(
    'rolls back when a unit fails during activation (exit code 4)',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a, sys.b)
      const run = await deploy(h, sys.broken)
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.failure).toMatch(/phase activate.*code 4.*broken\.service/)
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(await h.generations()).toEqual([1, 2])
    },
    T
  )

  it(
    "a generation that stops sshd is restored by the host's own watchdog",
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      const run = await deploy(h, sys.nossh, { 'health-checks': '' })
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.exitCode).toBe(1)
      expect(run.failure).toMatch(/watchdog restored the previous generation/)
      expect(await state(h)).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual([1])
      expect(await h.sshAlive()).toBe(true)
      expect(run.summary).toMatch(/\| rollback \| ✅ \|[^\n]*\| by the host's watchdog \|/)
      // The runner waited by asking the host (one SSH command every 2 s) and stopped asking once
      // the watchdog had restored it: at most 30 asks (the 60 s this test used to allow), where
      // its own limit (confirm-timeout + activation-timeout + 60 s) would allow over 300.
      const lines = run.stdout.split('\n')
      const lost = lines.findIndex(l => l.startsWith('::warning::web: lost the connection'))
      expect(lost).toBeGreaterThanOrEqual(0)
      const asks = lines.slice(lost).filter(l => l.startsWith('::debug::$ ssh ')).length
      expect(asks).toBeGreaterThanOrEqual(1)
      expect(asks).toBeLessThanOrEqual(30)
    },
    T
  )

  it(
    'the host restores itself when the action is killed right after the switch',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      // The health check takes 3 s (within confirm-timeout), so the kill lands while the new
      // system is active and unconfirmed, however late the runner sees the 'verify' line.
      const run = await deploy(
        h,
        sys.b,
        { 'health-checks': '- command: sleep 3' },
        {
          interrupt: { signal: 'SIGKILL', when: line => line.includes('web: verify') },
          post: false
        }
      )
      expect(run.signal).toBe('SIGKILL')
      // Right after the kill the new system is active; within confirm-timeout (+ margin) it is gone.
      const deadline = Date.now() + 30_000
      let s = await state(h)
      while (s.current !== sys.a && Date.now() < deadline) {
        await new Promise(r => setTimeout(r, 500))
        s = await state(h)
      }
      expect(s).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual([1])
      // The host's watchdog did it (its rollback log is there), not a confirmation that came first.
      expect((await h.exec(['sh', '-c', 'ls /run/nix-deploy/rollback-*.log'])).code).toBe(0)
    },
    T
  )

  it(
    'fails before any change when the host is unreachable or its key does not match',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      const other = fleet.host('other')
      // other's key pinned for web's address: host key verification fails.
      const wrongKnownHosts = fleet.knownHosts
        .split('\n')
        .filter(l => l.startsWith(`${other.address} `))
        .map(l => l.replace(other.address, h.address))
        .join('\n')
      const wrongKey = await deploy(h, sys.b, { 'ssh-known-hosts': wrongKnownHosts })
      expect(wrongKey.exitCode).toBe(1)
      expect(wrongKey.outputs.status).toBe('failed')
      expect(wrongKey.failure).toMatch(/Host web.*phase probe.*host key/)
      await h.stopSsh()
      try {
        const down = await deploy(h, sys.b)
        expect(down.outputs.status).toBe('failed')
        expect(down.failure).toMatch(/Host web.*phase probe.*could not connect: connection refused/)
      } finally {
        await h.startSsh()
      }
      expect(await state(h)).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual([1])
    },
    T
  )

  it(
    'refuses to connect without ssh-known-hosts, naming the input',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      const run = await deploy(h, sys.b, { 'ssh-known-hosts': '' })
      expect(run.exitCode).toBe(1)
      expect(run.failure).toMatch(/Input 'ssh-known-hosts' is required/)
      expect(await state(h)).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual([1])
    },
    T
  )

  it(
    'two deploys to one host at once: the second fails fast, the first completes',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      const first = deploy(h, sys.b, { 'health-checks': '- command: sleep 3' })
      // Start the second once the first holds the lock (its holder note is on the host).
      const until = Date.now() + 60_000
      while (
        (await h.exec(['test', '-s', '/run/nix-deploy/lock.info'])).code !== 0 &&
        Date.now() < until
      ) {
        await new Promise(r => setTimeout(r, 100))
      }
      // Another system than both the host's and the first deploy's: the second deploy cannot
      // find its work done ('unchanged'), however far the first has come; it must meet the lock.
      const second = await deploy(h, sys.broken)
      expect(second.exitCode).toBe(1)
      expect(second.failure).toMatch(/phase lock: another deploy is running on this host/)
      const done = await first
      expect(done.outputs.status).toBe('deployed')
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(await h.generations()).toEqual([1, 2])
    },
    T
  )

  it(
    'an interrupted copy leaves the profile untouched',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a, sys.b)
      const run = await deploy(
        h,
        sys.unhealthy,
        {},
        { interrupt: { signal: 'SIGKILL', when: line => line.includes('web: copy') }, post: false }
      )
      expect(run.signal).toBe('SIGKILL')
      await new Promise(r => setTimeout(r, 1000))
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(await h.generations()).toEqual([1, 2])
    },
    T
  )

  it(
    "a host's failed first deploy says there was nothing to roll back to",
    async () => {
      const h = fleet.host('web')
      expect(await h.generations()).toEqual([])
      {
        const run = await runAction({
          action: 'deploy',
          workspace: repo.path,
          inputs: {
            host: 'web',
            target: `root@${h.address}`,
            'store-path': sys.unhealthy,
            'ssh-private-key': fleet.privateKey,
            'ssh-known-hosts': fleet.knownHosts,
            'health-checks': HEALTH,
            'health-timeout': '5'
          }
        })
        expect(run.exitCode).toBe(1)
        expect(run.outputs.status).toBe('failed')
        expect(run.failure).toMatch(/no previous generation to roll back to, so it stays on/)
        expect(run.failure).toContain(sys.unhealthy)
        expect(await h.currentSystem()).toBe(sys.unhealthy)
        expect(await h.generations()).toEqual([1])
      }
    },
    T
  )
})

describe('rollback', () => {
  it(
    'returns a host to its previous generation and checks it',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a, sys.b)
      const run = await runAction({
        action: 'rollback',
        workspace: repo.path,
        inputs: {
          host: 'web',
          target: `root@${h.address}`,
          'ssh-private-key': fleet.privateKey,
          'ssh-known-hosts': fleet.knownHosts,
          'health-checks': HEALTH
        }
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.outputs['store-path']).toBe(sys.a)
      expect(await state(h)).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual([1, 2])
      // The rollback's summary draws the same picture: the host's phases, activate among them.
      const [pic] = parseMermaid(mermaidBlocks(run.summary))
      if (!pic?.ok)
        throw new Error(`the rollback summary has no picture that parses: ${run.summary}`)
      expect(pic.sections).toEqual(['Hosts'])
      expect(pic.tasks!.map(t => t.name.split(' ').slice(0, 2).join(' '))).toContain('activate web')
    },
    T
  )
})

describe('deploy with mode: boot and reboot: true', () => {
  it(
    'reboots into the new generation, waits for a new boot id and proves it',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a)
      const bootBefore = (await h.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout.trim()
      const run = await deploy(h, sys.b, {
        mode: 'boot',
        reboot: 'true',
        'activation-timeout': '60'
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('deployed')
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      const bootAfter = (await h.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout.trim()
      expect(bootAfter).not.toBe(bootBefore)
      expect(run.summary).toContain('| reboot |')
      expect(await h.generations()).toEqual([1, 2])
    },
    T
  )

  it(
    'an unhealthy generation after the reboot: the previous one becomes the boot default and boots again',
    async () => {
      const h = fleet.host('web')
      await installed(h, sys.a, sys.b)
      const run = await deploy(h, sys.unhealthy, {
        mode: 'boot',
        reboot: 'true',
        'activation-timeout': '60',
        'health-timeout': '5'
      })
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.failure).toMatch(
        /phase verify: health check failed.*rebooted into the previous generation .*which is healthy/
      )
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      expect(await h.generations()).toEqual([1, 2])
      expect(await h.bootSystem()).toBe(sys.b)
    },
    T
  )
})

/** The ssh processes (masters included) whose command line names the run's temporary folder. */
function sshProcessesOf(run: ActionRun): number[] {
  const pids: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmdline: string
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ')
    } catch {
      continue
    }
    if (/^ssh[: ]/.test(cmdline) && cmdline.includes(`${run.runnerTemp}/`)) pids.push(Number(entry))
  }
  return pids
}

/** Polls (a bounded number of attempts) until no ssh process of the run is left; returns those left. */
async function sshLeftAfter(run: ActionRun): Promise<number[]> {
  let left = sshProcessesOf(run)
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await new Promise(r => setTimeout(r, 250))
    left = sshProcessesOf(run)
  }
  return left
}

/** The dead-man switch's files on the host: beats received, the last one's time, the deadline. */
async function heartbeats(
  h: SimHost
): Promise<{ beats: number; lastBeat: number; deadline: number }[]> {
  const r = await h.exec([
    'sh',
    '-c',
    'for f in /run/nix-deploy/beats-*; do [ -e "$f" ] || continue; id=${f#/run/nix-deploy/beats-}; echo "$(cat "$f") $(cat "/run/nix-deploy/deadline-$id")"; done'
  ])
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(l => l.split(' ').map(Number))
    .map(([beats, lastBeat, deadline]) => ({ beats, lastBeat, deadline }))
}

/**
 * Kills the whole deploy step (node and every process it started) at the first stdout line
 * `when` accepts, with health-timeout 60 and confirm-timeout 6; waits for the host's watchdog to
 * finish its rollback (a bounded number of polls) and returns what the host says then.
 */
async function killWholeStep(h: SimHost, healthChecks: string, when: (line: string) => boolean) {
  await fleet.install(h, sys.a)
  await h.exec([
    'sh',
    '-c',
    'rm -f /run/nix-deploy/beats-* /run/nix-deploy/deadline-* /run/nix-deploy/rollback-*'
  ])
  const gens = await h.generations()
  const run = await deploy(
    h,
    sys.b,
    { 'health-checks': healthChecks, 'health-timeout': '60', 'confirm-timeout': '6' },
    { interrupt: { signal: 'SIGKILL', when, tree: true }, post: false }
  )
  const exitFiles = async () =>
    (
      await h.exec(['sh', '-c', 'ls /run/nix-deploy/ | grep -c "^rollback-.*\\.exit$"'])
    ).stdout.trim()
  // 60 polls of 0.5 s: far less than the 96 s a deadline pushed to health-timeout +
  // confirm-timeout + 30 s (the old extension) would keep the new system.
  let polls = 0
  while ((await exitFiles()) !== '1' && polls < 60) {
    await new Promise(r => setTimeout(r, 500))
    polls++
  }
  return { run, gens, beatsAtRestore: await heartbeats(h) }
}

describe('one SSH connection per host, and a dead-man switch that needs the runner alive', () => {
  it(
    "a deploy logs in at most 3 times (counted in the host's sshd log), and no ssh process outlives it",
    async () => {
      const h = fleet.host('web')
      await fleet.install(h, sys.a)
      const before = await h.sshLogins()
      const run = await deploy(h, sys.b)
      expect({ status: run.outputs.status, failure: run.failure }).toEqual({
        status: 'deployed',
        failure: undefined
      })
      const logins = (await h.sshLogins()) - before
      // The host's connection, and the fresh login that proves the new system accepts logins.
      expect(logins).toBeGreaterThanOrEqual(2)
      expect(logins).toBeLessThanOrEqual(3)
      expect(await sshLeftAfter(run)).toEqual([])

      // A deploy that fails its health checks and rolls back: no more logins either.
      const before2 = await h.sshLogins()
      const failed = await deploy(h, sys.unhealthy)
      expect(failed.outputs.status).toBe('rolled-back')
      expect(await state(h)).toEqual({ current: sys.b, profile: sys.b })
      const logins2 = (await h.sshLogins()) - before2
      expect(logins2).toBeGreaterThanOrEqual(2)
      expect(logins2).toBeLessThanOrEqual(3)
      expect(await sshLeftAfter(failed)).toEqual([])
    },
    T
  )

  it(
    'a cancelled deploy (SIGTERM) ends its ssh connections at once',
    async () => {
      const h = fleet.host('web')
      await fleet.install(h, sys.a)
      const run = await deploy(
        h,
        sys.b,
        { 'health-checks': '- command: sleep 20', 'health-timeout': '60' },
        {
          interrupt: { signal: 'SIGTERM', when: line => line.includes('web: verify') },
          post: false
        }
      )
      expect(run.exitCode).toBe(1)
      expect(await sshLeftAfter(run)).toEqual([])
    },
    T
  )

  it(
    'SIGKILL of the whole step right after the switch: the host restores the exact previous generation one confirm-timeout after the last heartbeat',
    async () => {
      const h = fleet.host('web')
      const { run, gens, beatsAtRestore } = await killWholeStep(h, '- command: sleep 20', line =>
        line.includes('web: verify')
      )
      expect(run.signal).toBe('SIGKILL')
      expect(await state(h)).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual(gens)
      expect(beatsAtRestore).toHaveLength(1)
      const [hb] = beatsAtRestore
      expect(hb.beats).toBeGreaterThanOrEqual(1)
      // The deadline the watchdog acted on: the last heartbeat + confirm-timeout, not + health-timeout.
      expect(hb.deadline - hb.lastBeat).toBe(6)
      // Nobody beats any more: the count is what it was when the host restored itself.
      expect(await heartbeats(h)).toEqual(beatsAtRestore)
    },
    T
  )

  it(
    'SIGKILL of the whole step during the health checks: the heartbeat renewed the deadline while the checks ran, then the host restored itself',
    async () => {
      const h = fleet.host('web')
      const { run, gens, beatsAtRestore } = await killWholeStep(
        h,
        '- command: "false"',
        // The second "retrying" line of the failing check (they come every 10 s).
        line => /web: .*retrying \(attempt ([2-9]|\d\d+)/.test(line)
      )
      expect(run.signal).toBe('SIGKILL')
      expect(await state(h)).toEqual({ current: sys.a, profile: sys.a })
      expect(await h.generations()).toEqual(gens)
      expect(beatsAtRestore).toHaveLength(1)
      const [hb] = beatsAtRestore
      // Beats during the checks: more than the one that armed the switch.
      expect(hb.beats).toBeGreaterThanOrEqual(3)
      expect(hb.deadline - hb.lastBeat).toBe(6)
      expect(await heartbeats(h)).toEqual(beatsAtRestore)
    },
    T
  )
})
