/**
 * The deploy fault list on hosts that boot systemd (systemd as PID 1, as every NixOS host), through
 * the committed bundles over real SSH: every real deploy takes the `systemd-run` branches of the
 * host scripts (watchdog and activation as transient units), which hosts without an init never
 * run. The fixture's services are units of their own here (sim-health.service, sim-sshd.service).
 *
 * Each failed deploy must leave /run/current-system, the system profile and the exact list of
 * generations as they were before it. The watchdog tests also prove that the scripts reach
 * systemd intact: systemd expands `${…}` inside a unit's command line and cannot reload a unit
 * whose command line holds a multi-line script, so a regression there leaves the failed
 * generation's link behind (the restore computes its number with `${cur#system-}`) and makes the
 * watchdog unit's LoadState `error` after a daemon-reload.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import { Container, prepareSystemdHost } from '../harness/systemd-host.js'
import {
  buildToplevel,
  makeFlakeRepo,
  processRunning,
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
// A file of the machine's own /tmp: systemd on a host must never clean the machine's /tmp.
let canary = ''

beforeAll(async () => {
  canary = fs.mkdtempSync(join(tmpdir(), 'nix-deploy-canary-'))
  fs.writeFileSync(join(canary, 'keep'), 'machine /tmp\n')
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  for (const name of ['a', 'b', 'unhealthy', 'broken', 'nossh'])
    sys[name] = await buildToplevel(repo.path, name)
  fleet = await startFleet({ hosts: ['s1', 's2', 's3'], init: 'systemd' })
}, T)

afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
  if (canary) fs.rmSync(canary, { recursive: true, force: true })
})

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

/** What the host runs and boots, and its generations: all of it must come back after a failure. */
async function state(host: SimHost) {
  return {
    current: await host.currentSystem(),
    profile: await host.profileSystem(),
    generations: await host.generations()
  }
}

async function out(host: SimHost, argv: string[]): Promise<string> {
  const r = await host.exec(argv)
  return r.stdout.trim()
}

/** The nix-deploy transient units systemd knows, as "name load active" lines. */
async function deployUnits(host: SimHost): Promise<string[]> {
  const r = await out(host, [
    'systemctl',
    'list-units',
    '--all',
    '--plain',
    '--no-legend',
    'nix-deploy-*'
  ])
  return r
    .split('\n')
    .filter(l => l.trim() !== '')
    .map(l => l.trim().split(/\s+/).slice(0, 3).join(' '))
}

/** Polls (counting attempts, 0.5 s apart) until `done` holds or the attempts run out. */
async function poll<T>(attempts: number, get: () => Promise<T>, done: (v: T) => boolean) {
  let v = await get()
  for (let i = 1; i < attempts && !done(v); i++) {
    await new Promise(r => setTimeout(r, 500))
    v = await get()
  }
  return v
}

describe('hosts that boot systemd', () => {
  it('boot systemd as PID 1 to multi-user.target, each with its own /nix and sshd', async () => {
    for (const h of fleet.hosts) {
      expect(h.init).toBe('systemd')
      expect(await out(h, ['cat', '/proc/1/comm'])).toBe('systemd')
      expect(await out(h, ['systemctl', 'is-active', 'multi-user.target'])).toBe('active')
      expect(await out(h, ['systemctl', 'is-active', 'sim-sshd.service'])).toBe('active')
      expect(await h.sshAlive()).toBe(true)
      // Its own store: nothing but what was copied to it (nothing yet).
      expect(await h.hasPath(sys.a)).toBe(false)
    }
    // The machine's /tmp was not cleaned by any host's systemd-tmpfiles.
    expect(fs.readFileSync(join(canary, 'keep'), 'utf8')).toBe('machine /tmp\n')
    // The fixture's services are units of their own, started by the activation.
    const h = fleet.host('s1')
    await fleet.install(h, sys.a)
    expect(await out(h, ['systemctl', 'is-active', 'sim-health.service'])).toBe('active')
    expect(
      await out(h, ['systemctl', 'show', '-p', 'MainPID', '--value', 'sim-health.service'])
    ).toBe(await out(h, ['cat', '/run/sim/health.pid']))
  })
})

describe('hosts that boot systemd are apart', () => {
  it('stopping a unit on one host leaves the same unit of another host running', async () => {
    const [s1, s2] = [fleet.host('s1'), fleet.host('s2')]
    await fleet.install(s2, sys.a)
    expect(await out(s2, ['systemctl', 'is-active', 'sim-health.service'])).toBe('active')
    const before = await out(s2, [
      'systemctl',
      'show',
      '-p',
      'MainPID',
      '--value',
      'sim-health.service'
    ])
    expect((await s1.exec(['systemctl', 'stop', 'sim-health.service'])).code).toBe(0)
    try {
      expect(await out(s1, ['systemctl', 'is-active', 'sim-health.service'])).toBe('inactive')
      expect(await out(s2, ['systemctl', 'is-active', 'sim-health.service'])).toBe('active')
      expect(
        await out(s2, ['systemctl', 'show', '-p', 'MainPID', '--value', 'sim-health.service'])
      ).toBe(before)
    } finally {
      await s1.exec(['systemctl', 'start', 'sim-health.service'])
    }
    expect(await out(s1, ['systemctl', 'is-active', 'sim-health.service'])).toBe('active')
  })
})

describe('deploy to hosts that boot systemd', () => {
  it(
    'deploys a healthy system: the activation and the watchdog run as transient units',
    async () => {
      const h = fleet.host('s1')
      const before = await state(h)
      expect(before.current).toBe(sys.a)
      const run = await deploy(h, sys.b, { 'install-bootloader': 'true' })
      expect(run.failure).toBeUndefined()
      expect(run.exitCode).toBe(0)
      expect(run.outputs.status).toBe('deployed')
      expect(run.outputs['previous-store-path']).toBe(sys.a)
      // install-bootloader reached switch-to-configuration through the unit's environment.
      expect(await out(h, ['tail', '-n', '1', '/run/sim/activations'])).toBe(`switch ${sys.b} 1`)
      const after = await state(h)
      expect(after).toEqual({
        current: sys.b,
        profile: sys.b,
        generations: [...before.generations, Math.max(...before.generations) + 1]
      })
      // The activation ran as nix-deploy-switch-<id>.service: the health unit it started (a unit
      // of its own) outlives it and serves the new system.
      expect(await out(h, ['systemctl', 'is-active', 'sim-health.service'])).toBe('active')
      const health = await out(h, [
        'systemctl',
        'show',
        '-p',
        'ExecStart',
        '--value',
        'sim-health.service'
      ])
      expect(health).toContain(`--system ${sys.b}`)
      const journal = await out(h, ['journalctl', '-b', '--no-pager', '-o', 'cat'])
      expect(journal).toMatch(/nix-deploy-switch-[a-z0-9-]+\.service/)
      expect(journal).toMatch(/nix-deploy-watchdog-[a-z0-9-]+\.service/)
      // Confirmed: the watchdog unit is gone, and no unit failed to load.
      expect(await deployUnits(h)).toEqual([])
      expect(journal.split('\n').filter(l => l.includes('Invalid section header'))).toEqual([])
    },
    T
  )

  it(
    'rolls back when the health endpoint answers 500: generations exactly as before',
    async () => {
      const h = fleet.host('s1')
      const before = await state(h)
      const run = await deploy(h, sys.unhealthy)
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.failure).toMatch(/phase verify: health check failed.*answered 500/s)
      expect(run.failure).toMatch(/rolled back to .*which is healthy/)
      expect(await state(h)).toEqual(before)
      expect(
        await out(h, ['systemctl', 'show', '-p', 'ExecStart', '--value', 'sim-health.service'])
      ).toContain(`--system ${before.current}`)
    },
    T
  )

  it(
    'rolls back when a unit fails during activation (exit code 4): generations exactly as before',
    async () => {
      const h = fleet.host('s1')
      const before = await state(h)
      const run = await deploy(h, sys.broken)
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.failure).toMatch(/phase activate.*code 4.*broken\.service/)
      expect(await state(h)).toEqual(before)
    },
    T
  )

  it(
    "a generation that stops sshd is restored by the host's watchdog unit: generations exactly as before",
    async () => {
      const h = fleet.host('s2')
      await fleet.install(h, sys.a)
      const before = await state(h)
      const run = await deploy(h, sys.nossh, { 'health-checks': '' })
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.exitCode).toBe(1)
      expect(run.failure).toMatch(/watchdog restored the previous generation/)
      // The restore removed the failed generation's link (its number comes from ${cur#system-}).
      expect(await state(h)).toEqual(before)
      expect(await out(h, ['systemctl', 'is-active', 'sim-sshd.service'])).toBe('active')
      expect(await h.sshAlive()).toBe(true)
    },
    T
  )

  it(
    'the host restores itself when the action is killed right after the switch; the watchdog unit survives a daemon-reload',
    async () => {
      const h = fleet.host('s3')
      await fleet.install(h, sys.a)
      const before = await state(h)
      const run = await deploy(
        h,
        sys.b,
        {},
        {
          interrupt: { signal: 'SIGKILL', when: line => line.includes('web: verify') },
          post: false
        }
      )
      expect(run.signal).toBe('SIGKILL')
      // The watchdog waits (confirm-timeout 6 s). A daemon-reload now (NixOS's switch runs one on
      // every activation) must leave its unit loaded and running.
      expect(await h.exec(['systemctl', 'daemon-reload'])).toMatchObject({ code: 0 })
      const units = await deployUnits(h)
      expect(units).toHaveLength(1)
      expect(units[0]).toMatch(/^nix-deploy-watchdog-[a-z0-9-]+\.service loaded active$/)
      const journal = await out(h, ['journalctl', '-b', '--no-pager', '-o', 'cat'])
      expect(journal.split('\n').filter(l => l.includes('Invalid section header'))).toEqual([])
      // Then it restores the previous generation and says how that went. Its deadline is the one
      // the runner last set: the end of the activation + confirm-timeout (6 s), or, when the
      // runner got to extend it before the kill, health-timeout + confirm-timeout + 30 s (44 s).
      // 150 attempts, 0.5 s apart.
      const exit = await poll(
        150,
        () => out(h, ['sh', '-c', 'cat /run/nix-deploy/rollback-*.exit 2>/dev/null']),
        v => v !== ''
      )
      const log = await out(h, ['sh', '-c', 'cat /run/nix-deploy/rollback-*.log'])
      expect(log).toContain(`restoring ${sys.a}`)
      expect(exit).toBe('0')
      expect(await state(h)).toEqual(before)
    },
    T
  )
})

describe('deploy with mode: boot and reboot: true to hosts that boot systemd', () => {
  it(
    'reboots the host (systemd ends the container; it boots again on the same disk) into the new generation',
    async () => {
      const h = fleet.host('s2')
      const before = await state(h)
      expect(before.current).toBe(sys.a)
      const bootBefore = await out(h, ['cat', '/proc/sys/kernel/random/boot_id'])
      const run = await deploy(h, sys.b, {
        mode: 'boot',
        reboot: 'true',
        'activation-timeout': '60'
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('deployed')
      expect(run.summary).toContain('| reboot |')
      expect(await out(h, ['cat', '/proc/sys/kernel/random/boot_id'])).not.toBe(bootBefore)
      expect(await out(h, ['systemctl', 'is-active', 'multi-user.target'])).toBe('active')
      expect(await state(h)).toEqual({
        current: sys.b,
        profile: sys.b,
        generations: [...before.generations, Math.max(...before.generations) + 1]
      })
      expect(await h.bootSystem()).toBe(sys.b)
    },
    T
  )

  it(
    'an unhealthy generation after the reboot: the previous one is booted again, generations exactly as before',
    async () => {
      const h = fleet.host('s2')
      const before = await state(h)
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
      expect(await state(h)).toEqual(before)
      expect(await h.bootSystem()).toBe(before.current)
    },
    T
  )
})

describe('the life of hosts that boot systemd', () => {
  it(
    'a host whose test process dies is ended by its anchor: its PID 1, nspawn and anchor are gone',
    async () => {
      const dir = fs.mkdtempSync(join(tmpdir(), 'nix-deploy-orphan-'))
      // The "test process": a sleep we kill. The host's sshd has no host key and fails to start
      // (the host boots degraded), so it never listens anywhere.
      const owner = spawn('sleep', ['600'], { stdio: 'ignore' })
      const c = new Container('orphan', dir)
      try {
        await prepareSystemdHost(dir, 'orphan', '127.0.0.254', {
          nixConf: '',
          sshdConfig: 'ListenAddress 127.0.0.254\nHostKey /etc/sim-host/none\n'
        })
        await c.start(owner.pid as number)
        await c.waitBooted()
        const init = (await c.initPid()) as number
        const anchor = c.anchorPid
        expect(await processRunning(init)).toBe(true)
        owner.kill('SIGKILL')
        // The anchor checks its owner every second: 40 attempts, 0.5 s apart.
        const gone = await poll(
          40,
          async () => !(await processRunning(init)) && !(await processRunning(anchor)),
          v => v
        )
        expect(gone).toBe(true)
        expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir)
      } finally {
        owner.kill('SIGKILL')
        await c.shutdown()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    T
  )

  it(
    'stop() ends every container and removes the fleet',
    async () => {
      const inits = fleet.hosts.map(h => Number(fs.readFileSync(join(h.dir, 'init.pid'), 'utf8')))
      for (const pid of inits) expect(await processRunning(pid)).toBe(true)
      // Each container's cgroup of its own (name=systemd hierarchy), e.g. /nix-deploy-sim-<uuid>.
      const cgroups = inits.map(pid => {
        const line = fs
          .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
          .split('\n')
          .find(l => /^\d+:name=systemd:/.test(l) || l.startsWith('0::'))
        return `/${(line ?? '').split(':')[2].split('/')[1]}`
      })
      expect(new Set(cgroups).size).toBe(inits.length)
      for (const cg of cgroups) expect(cg).toMatch(/^\/nix-deploy-sim-[0-9a-f]{32}$/)
      await fleet.stop()
      for (const pid of inits) expect(await processRunning(pid)).toBe(false)
      for (const cg of cgroups)
        for (const hier of ['systemd', 'unified', ''])
          expect(fs.existsSync(`/sys/fs/cgroup/${hier}${cg}`.replace('//', '/'))).toBe(false)
      expect(fs.existsSync(fleet.dir)).toBe(false)
      for (const h of fleet.hosts) expect(await h.sshAlive()).toBe(false)
    },
    T
  )
})
