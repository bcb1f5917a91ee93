/**
 * Tests of the simulated fleet and of the fixture NixOS-like library: real nix, real sshd.
 * Needs root (mount namespaces, sshd on port 22 of loopback addresses).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { promises as fs } from 'node:fs'
import { run } from '../../src/core/process.js'
import { nixEnv, nixVersion } from '../harness/nix-env.js'
import {
  startFleet,
  processRunning,
  makeFlakeRepo,
  buildToplevel,
  nixBuild,
  nixEvalJson,
  FIXTURES_FLEET,
  type Fleet,
  type FlakeRepo
} from '../harness/fleet.js'

const T = 120_000

/**
 * One host ("web1") in several generations. From `web1` to `web1-next`:
 * - nginx 1.26.1 -> 1.27.0: nginx.service changed, default stopIfChanged  => stop, then start
 * - redis's config changed, stopIfChanged = false                          => restart
 * - cache's config changed, reloadIfChanged = true                         => reload
 * - systemd 255.9 -> 256.2: systemd-journald.service changed, but it has
 *   restartIfChanged = false                                               => NOT stopped; systemd restarts
 * - old-worker removed                                                     => stop
 * - new-worker added                                                       => a new unit, started by its target
 */
const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      web1 = args: lib.mkHost ({ name = "web1"; } // args);
    in {
      nixosConfigurations = {
        web1 = web1 {
          packages = [ pkgs.nginx pkgs.redis ];
          services.nginx = { package = pkgs.nginx; };
          services.redis = { package = pkgs.redis; config = "maxmemory 1gb"; stopIfChanged = false; };
          services.cache = { config = "size=1"; reloadIfChanged = true; };
          services.old-worker = { };
        };
        web1-next = web1 {
          systemdVersion = "256.2";
          packages = [ pkgs.nginx_1_27 pkgs.redis ];
          services.nginx = { package = pkgs.nginx_1_27; };
          services.redis = { package = pkgs.redis; config = "maxmemory 2gb"; stopIfChanged = false; };
          services.cache = { config = "size=2"; reloadIfChanged = true; };
          services.new-worker = { };
        };
        web1-broken = web1 { packages = [ pkgs.nginx pkgs.redis ]; failingUnits = [ "broken.service" ]; };
        web1-unhealthy = web1 { health = { mode = "failing"; }; };
        web1-slow = web1 { health = { mode = "slow"; delay = 2; }; };
        web1-nossh = web1 { stopSsh = true; };
        web1-kernel = web1 { packages = [ pkgs.nginx pkgs.redis ]; kernelVersion = "6.6.41";
          services.nginx = { package = pkgs.nginx; };
          services.redis = { package = pkgs.redis; config = "maxmemory 1gb"; stopIfChanged = false; };
          services.cache = { config = "size=1"; reloadIfChanged = true; };
          services.old-worker = { };
        };
        db1 = lib.mkHost { name = "db1"; domain = "example.test"; packages = [ pkgs.postgresql ];
          deployment = { targetHost = "10.0.0.5"; tags = [ "db" "prod" ]; }; };
      };
      packages.x86_64-linux.htop = pkgs.htop;
    };
}
`

let repo: FlakeRepo
let flake: string

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  flake = `git+file://${repo.path}`
}, T)

afterAll(async () => {
  await repo?.remove()
})

/** Store paths of a closure. */
async function closure(path: string): Promise<string[]> {
  const r = await run(['nix-store', '-qR', path], { timeoutMs: 60_000, env: nixEnv() })
  return r.stdout.trim().split('\n').sort()
}

/** The `name` part of a store path (after the hash). */
const storeName = (p: string) => p.replace(/^\/nix\/store\/[a-z0-9]{32}-/, '')

describe('fixture library (nix evaluation and builds)', () => {
  it(
    'makes configurations that look like NixOS to tools that read them',
    async () => {
      const cfg = await nixEvalJson<{
        hostName: string
        domain: string | null
        system: string
        legacySystem: string
        version: string
        name: string
      }>(
        `${flake}#nixosConfigurations.web1.config`,
        `c: { hostName = c.networking.hostName; domain = c.networking.domain; system = c.nixpkgs.hostPlatform.system;
            legacySystem = c.nixpkgs.system; version = c.system.nixos.version; name = c.system.build.toplevel.name; }`
      )
      expect(cfg.hostName).toBe('web1')
      expect(cfg.domain).toBeNull()
      expect(cfg.system).toBe('x86_64-linux')
      expect(cfg.legacySystem).toBe('x86_64-linux')
      expect(cfg.name).toBe(`nixos-system-web1-${cfg.version}`)

      // FQDN and colmena's deployment options when the host sets them; like NixOS, asking for the
      // FQDN of a host without a domain is an evaluation error.
      expect(await nixEvalJson(`${flake}#nixosConfigurations.db1.config.networking.fqdn`)).toBe(
        'db1.example.test'
      )
      expect(await nixEvalJson(`${flake}#nixosConfigurations.db1.config.deployment`)).toEqual({
        targetHost: '10.0.0.5',
        targetUser: 'root',
        targetPort: null,
        tags: ['db', 'prod']
      })
      await expect(
        nixEvalJson(`${flake}#nixosConfigurations.web1.config.networking.fqdn`)
      ).rejects.toThrow(/FQDN is required/)
      expect(
        await nixEvalJson<string[]>(
          `${flake}#nixosConfigurations.web1.config`,
          'builtins.attrNames'
        )
      ).not.toContain('deployment')
    },
    T
  )

  it(
    'builds a toplevel laid out like NixOS',
    async () => {
      const top = await buildToplevel(flake, 'web1')
      expect(storeName(top)).toMatch(/^nixos-system-web1-24\.05\./)
      const stat = await fs.stat(`${top}/bin/switch-to-configuration`)
      expect(stat.mode & 0o111).not.toBe(0)
      expect(storeName(await fs.readlink(`${top}/kernel`))).toBe('linux-6.6.40/bzImage')
      expect(storeName(await fs.readlink(`${top}/initrd`))).toBe('initrd-linux-6.6.40/initrd')
      expect(storeName(await fs.readlink(`${top}/kernel-modules`))).toBe('linux-6.6.40-modules')
      expect(storeName(await fs.readlink(`${top}/systemd`))).toBe('systemd-255.9')
      expect(storeName(await fs.readlink(`${top}/sw`))).toBe('system-path')
      expect((await fs.readFile(`${top}/nixos-version`, 'utf8')).trim()).toMatch(/^24\.05\./)
      expect((await fs.readdir(`${top}/etc/systemd/system`)).sort()).toEqual([
        'cache.service',
        'multi-user.target',
        'nginx.service',
        'nix-daemon.service',
        'old-worker.service',
        'redis.service',
        'sim-health.service',
        'sshd.service',
        'systemd-journald.service'
      ])
      const names = (await closure(top)).map(storeName)
      for (const n of [
        'glibc-2.39-52',
        'openssl-3.0.14',
        'nginx-1.26.1',
        'redis-7.2.5',
        'pcre2-10.43',
        'bash-5.2p26'
      ]) {
        expect(names).toContain(n)
      }
      // Packages hold their size in data, so closure sizes are realistic.
      const nginx = (await closure(top)).find(p => storeName(p) === 'nginx-1.26.1')!
      expect((await fs.stat(`${nginx}/share/nginx/data`)).size).toBe(20480)
    },
    T
  )

  it(
    'a kernel bump changes exactly the kernel, its modules, the initrd and the toplevel',
    async () => {
      const before = await closure(await buildToplevel(flake, 'web1'))
      const after = await closure(await buildToplevel(flake, 'web1-kernel'))
      const removed = before
        .filter(p => !after.includes(p))
        .map(storeName)
        .sort()
      const added = after
        .filter(p => !before.includes(p))
        .map(storeName)
        .sort()
      expect(removed).toEqual([
        'initrd-linux-6.6.40',
        'linux-6.6.40',
        'linux-6.6.40-modules',
        expect.stringMatching(/^nixos-system-web1-/)
      ])
      expect(added).toEqual([
        'initrd-linux-6.6.41',
        'linux-6.6.41',
        'linux-6.6.41-modules',
        expect.stringMatching(/^nixos-system-web1-/)
      ])
    },
    T
  )

  it(
    'the fleet fixture flake imports ../lib from inside its repository',
    async () => {
      // Copy the fixture into a fresh repository with the same layout as this one.
      const text = await fs.readFile(`${FIXTURES_FLEET}/flake.nix`, 'utf8')
      const r = await makeFlakeRepo({ 'fleet/flake.nix': text })
      try {
        const hosts = await nixEvalJson<string[]>(
          `git+file://${r.path}?dir=fleet#nixosConfigurations`,
          'builtins.attrNames'
        )
        const web1 = await nixEvalJson<string>(
          `git+file://${r.path}?dir=fleet#nixosConfigurations.web1.config.networking.fqdn`
        )
        expect(web1).toBe('web1.example.test')
        expect(hosts.sort()).toEqual(['db1', 'web1', 'web2'])
      } finally {
        await r.remove()
      }
    },
    T
  )

  it(
    'generates big closures cheaply (extraDepCount)',
    async () => {
      const big = `${repo.path}/big.nix`
      await fs.writeFile(
        big,
        `(import ${repo.path}/lib).mkHost { name = "big"; extraDepCount = 2000; extraDepPrefix = "bench${Date.now()}"; }`
      )
      const r = await run(
        ['nix-build', '--no-out-link', '-A', 'config.system.build.toplevel', big],
        { timeoutMs: 120_000, env: nixEnv() }
      )
      const top = r.stdout.trim()
      const paths = await closure(top)
      expect(paths.length).toBeGreaterThanOrEqual(2000)
      // Cheaply: the 2,000 extra paths are files written at evaluation, not derivations to build.
      // The toplevel needs exactly as many derivations as the same host without them.
      const derivations = async (file: string): Promise<number> => {
        const drv = await run(['nix-instantiate', '-A', 'config.system.build.toplevel', file], {
          timeoutMs: 120_000,
          env: nixEnv()
        })
        const all = await run(['nix-store', '-qR', drv.stdout.trim()], {
          timeoutMs: 60_000,
          env: nixEnv()
        })
        return all.stdout.split('\n').filter(p => p.endsWith('.drv')).length
      }
      const plain = `${repo.path}/plain.nix`
      await fs.writeFile(plain, `(import ${repo.path}/lib).mkHost { name = "big"; }`)
      expect(await derivations(big)).toBe(await derivations(plain))
    },
    T
  )
})

describe('simulated fleet', () => {
  let fleet: Fleet
  const tops: Record<string, string> = {}

  beforeAll(async () => {
    for (const name of [
      'web1',
      'web1-next',
      'web1-broken',
      'web1-unhealthy',
      'web1-slow',
      'web1-nossh'
    ])
      tops[name] = await buildToplevel(flake, name)
    fleet = await startFleet({ hosts: ['alpha', 'beta'] })
  }, T)

  afterAll(async () => {
    await fleet?.stop()
  }, T)

  const ssh = (host: string, command: string[], check = true) =>
    run([...fleet.sshArgs(host), ...command], { timeoutMs: 60_000, check })

  it(
    'each host answers SSH with the fleet key and known_hosts, in a namespace of its own',
    async () => {
      const namespaces = new Set<string>()
      for (const h of fleet.hosts) {
        expect(await h.sshAlive()).toBe(true)
        const r = await ssh(h.name, [
          'cat',
          '/run/sim/hostname',
          '&&',
          'readlink',
          '/proc/self/ns/mnt'
        ])
        const [name, ns] = r.stdout.trim().split('\n')
        expect(name).toBe(h.name)
        namespaces.add(ns)
        expect(fleet.knownHosts).toContain(`${h.address} ssh-ed25519 `)
      }
      expect(namespaces.size).toBe(2)

      // Host keys are really checked: with an empty known_hosts the same command is refused.
      const emptyKnownHosts = `${fleet.dir}/empty_known_hosts`
      await fs.writeFile(emptyKnownHosts, '')
      const argv = fleet
        .sshArgs('alpha')
        .map(a =>
          a.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${emptyKnownHosts}` : a
        )
      const refused = await run([...argv, 'true'], { timeoutMs: 30_000, check: false })
      expect(refused.exitCode).toBe(255)
      expect(refused.stderr).toMatch(/Host key verification failed/)
    },
    T
  )

  it(
    "each host runs the test process's Nix, inside the host and over SSH",
    async () => {
      const version = nixVersion()
      const local = await run(['nix', '--version'], { timeoutMs: 30_000 })
      expect(local.stdout.trim()).toMatch(new RegExp(`\\b${version.replace(/\./g, '\\.')}$`))
      for (const h of fleet.hosts) {
        for (const command of ['nix', 'nix-store', 'nix-env', 'nix-daemon']) {
          const inside = await h.exec([command, '--version'])
          expect(inside.stdout.trim()).toBe(local.stdout.trim().replace(/^nix /, `${command} `))
          const viaSsh = await ssh(h.name, [command, '--version'])
          expect(viaSsh.stdout).toBe(inside.stdout)
        }
      }
    },
    T
  )

  it(
    'each host has its own store: a path copied to one is absent on the other',
    async () => {
      const htop = await nixBuild(`${flake}#htop`)
      await run(
        [
          'nix',
          'copy',
          '--no-check-sigs',
          '--to',
          `ssh-ng://root@${fleet.host('alpha').address}`,
          htop
        ],
        {
          timeoutMs: 120_000,
          env: { ...nixEnv(), NIX_SSHOPTS: fleet.nixSshOpts() }
        }
      )
      expect(await fleet.host('alpha').hasPath(htop)).toBe(true)
      expect(await fleet.host('beta').hasPath(htop)).toBe(false)
      const viaSsh = await ssh(
        'alpha',
        ['test', '-x', `${htop}/bin/htop`, '&&', 'echo', 'present'],
        false
      )
      expect(viaSsh.stdout.trim()).toBe('present')
      const onBeta = await ssh('beta', ['test', '-e', htop], false)
      expect(onBeta.exitCode).toBe(1)
    },
    T
  )

  it(
    'install makes a toplevel the running system and the first generation',
    async () => {
      const alpha = fleet.host('alpha')
      expect(await alpha.currentSystem()).toBeNull()
      expect(await alpha.generations()).toEqual([])
      const out = await fleet.install('alpha', tops['web1'])
      expect(out.stderr).toContain('activating the configuration...')
      expect(await alpha.currentSystem()).toBe(tops['web1'])
      expect(await alpha.profileSystem()).toBe(tops['web1'])
      expect(await alpha.bootSystem()).toBe(tops['web1'])
      expect(await alpha.generations()).toEqual([1])
      expect(await fleet.host('beta').currentSystem()).toBeNull()
      const remote = await ssh('alpha', ['readlink', '-f', '/run/current-system'])
      expect(remote.stdout.trim()).toBe(tops['web1'])
    },
    T
  )

  it(
    'the health endpoint answers per generation (200 healthy, 500 failing)',
    async () => {
      const url = `http://${fleet.host('alpha').address}:8080/health`
      const ok = await fetch(url)
      expect(ok.status).toBe(200)
      expect(await ok.text()).toBe('ok')

      // `test` activates without making it the boot default.
      const alpha = fleet.host('alpha')
      await fleet.copyTo(alpha, [tops['web1-unhealthy']])
      const r = await alpha.exec([`${tops['web1-unhealthy']}/bin/switch-to-configuration`, 'test'])
      expect(r.code).toBe(0)
      expect(r.stderr).toContain('restarting the following units: sim-health.service')
      const bad = await fetch(url)
      expect(bad.status).toBe(500)
      expect(await alpha.currentSystem()).toBe(tops['web1-unhealthy'])
      expect(await alpha.bootSystem()).toBe(tops['web1'])

      // slow: 200, after the configured delay (2 s).
      await fleet.copyTo(alpha, [tops['web1-slow']])
      expect(
        (await alpha.exec([`${tops['web1-slow']}/bin/switch-to-configuration`, 'test'])).code
      ).toBe(0)
      const started = Date.now()
      const slow = await fetch(url)
      expect(slow.status).toBe(200)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900)

      const back = await alpha.exec([`${tops['web1']}/bin/switch-to-configuration`, 'test'])
      expect(back.code).toBe(0)
      expect((await fetch(url)).status).toBe(200)
      // Back to the healthy generation's server: its own mode, not the slow one's delay (read
      // from the running server's command line, not timed).
      const server = await alpha.exec([
        'sh',
        '-c',
        'tr "\\0" " " < /proc/$(cat /run/sim/health.pid)/cmdline'
      ])
      expect(server.stdout).toContain(`--mode healthy`)
      expect(server.stdout).toContain(`--system ${tops['web1']}`)
      // Beta has no system: nothing listens there.
      await expect(fetch(`http://${fleet.host('beta').address}:8080/health`)).rejects.toThrow()
    },
    T
  )

  it(
    'dry-activate over SSH names the units that would change, and changes nothing',
    async () => {
      const next = tops['web1-next']
      await run(
        [
          'nix',
          'copy',
          '--no-check-sigs',
          '--to',
          `ssh-ng://root@${fleet.host('alpha').address}`,
          next
        ],
        {
          timeoutMs: 120_000,
          env: { ...nixEnv(), NIX_SSHOPTS: fleet.nixSshOpts() }
        }
      )
      const r = await ssh('alpha', [`${next}/bin/switch-to-configuration`, 'dry-activate'])
      const lines = r.stderr.trim().split('\n')
      expect(lines).toEqual([
        'would stop the following units: nginx.service, old-worker.service',
        'would NOT stop the following changed units: systemd-journald.service',
        'would activate the configuration...',
        'would restart systemd',
        'would reload the following units: cache.service',
        'would restart the following units: redis.service',
        'would start the following units: nginx.service'
      ])
      expect(await fleet.host('alpha').currentSystem()).toBe(tops['web1'])
    },
    T
  )

  it(
    'switch over SSH prints what NixOS prints and makes a new generation',
    async () => {
      const next = tops['web1-next']
      const r = await ssh('alpha', [
        'nix-env',
        '-p',
        '/nix/var/nix/profiles/system',
        '--set',
        next,
        '&&',
        `${next}/bin/switch-to-configuration`,
        'switch'
      ])
      const lines = r.stderr.trim().split('\n')
      expect(lines).toContain('stopping the following units: nginx.service, old-worker.service')
      expect(lines).toContain(
        'NOT restarting the following changed units: systemd-journald.service'
      )
      expect(lines).toContain('restarting systemd...')
      expect(lines).toContain('reloading the following units: cache.service')
      expect(lines).toContain('restarting the following units: redis.service')
      expect(lines).toContain('starting the following units: nginx.service')
      expect(lines).toContain('the following new units were started: new-worker.service')
      expect(
        lines.indexOf('stopping the following units: nginx.service, old-worker.service')
      ).toBeLessThan(lines.indexOf('activating the configuration...'))
      const alpha = fleet.host('alpha')
      expect(await alpha.currentSystem()).toBe(next)
      expect(await alpha.profileSystem()).toBe(next)
      expect(await alpha.bootSystem()).toBe(next)
      expect(await alpha.generations()).toEqual([1, 2])

      // Switching to the same system again changes nothing.
      const again = await alpha.exec([`${next}/bin/switch-to-configuration`, 'dry-activate'])
      expect(again.stderr.trim()).toBe('would activate the configuration...')
    },
    T
  )

  it(
    'a generation with a failing unit exits 4 and names the unit',
    async () => {
      const alpha = fleet.host('alpha')
      await fleet.copyTo(alpha, [tops['web1-broken']])
      const r = await alpha.exec([`${tops['web1-broken']}/bin/switch-to-configuration`, 'test'])
      expect(r.code).toBe(4)
      expect(r.stderr).toContain('warning: the following units failed: broken.service')
      expect(r.stdout).toContain('broken.service')
      // Like NixOS, the system is switched even so.
      expect(await alpha.currentSystem()).toBe(tops['web1-broken'])
      const back = await alpha.exec([`${tops['web1-next']}/bin/switch-to-configuration`, 'test'])
      expect(back.code).toBe(0)
    },
    T
  )

  it(
    'bad usage exits 1',
    async () => {
      const r = await fleet
        .host('alpha')
        .exec([`${tops['web1']}/bin/switch-to-configuration`, 'sideways'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('Usage: switch-to-configuration')
    },
    T
  )

  it(
    'a generation that stops sshd really stops it; switching back brings it back',
    async () => {
      const alpha = fleet.host('alpha')
      await fleet.copyTo(alpha, [tops['web1-nossh']])
      // Switch over SSH: the session that runs the switch survives, new connections are refused.
      const r = await ssh(
        'alpha',
        [`${tops['web1-nossh']}/bin/switch-to-configuration`, 'switch'],
        false
      )
      expect(r.exitCode).toBe(0)
      expect(await alpha.sshAlive()).toBe(false)
      const refused = await ssh('alpha', ['true'], false)
      expect(refused.exitCode).toBe(255)
      expect(await fleet.host('beta').sshAlive()).toBe(true)

      const back = await alpha.exec([`${tops['web1-next']}/bin/switch-to-configuration`, 'switch'])
      expect(back.code).toBe(0)
      expect(await alpha.sshAlive()).toBe(true)
      const ok = await ssh('alpha', ['readlink', '-f', '/run/current-system'])
      expect(ok.stdout.trim()).toBe(tops['web1-next'])
    },
    T
  )

  it(
    'stopSsh and startSsh',
    async () => {
      const beta = fleet.host('beta')
      await beta.stopSsh()
      expect(await beta.sshAlive()).toBe(false)
      await beta.startSsh()
      expect(await beta.sshAlive()).toBe(true)
    },
    T
  )
})

describe('fleet lifecycle', () => {
  it(
    'stop() kills every process of the hosts and removes the fleet, and is idempotent',
    async () => {
      const top = await buildToplevel(flake, 'web1')
      const fleet = await startFleet({ hosts: ['solo'] })
      const solo = fleet.host('solo')
      await fleet.install(solo, top)
      // A detached process, as a deployment's rollback timer would be.
      await solo.exec([
        'sh',
        '-c',
        'setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $! > /run/sim/sleeper.pid'
      ])
      const pids = await Promise.all(
        ['/run/sshd.pid', '/run/sim/health.pid', '/run/sim/sleeper.pid'].map(async f =>
          Number((await fs.readFile(`${solo.dir}/${f.replace(/^\/run/, 'run')}`, 'utf8')).trim())
        )
      )
      for (const pid of pids) expect(await processRunning(pid)).toBe(true)
      await fleet.stop()
      for (const pid of pids) expect(await processRunning(pid)).toBe(false)
      await expect(fs.stat(fleet.dir)).rejects.toThrow()
      expect(await solo.sshAlive()).toBe(false)
      await fleet.stop()
    },
    T
  )
})
