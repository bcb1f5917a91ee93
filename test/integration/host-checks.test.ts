/**
 * Health checks that live with the host, and what nixos-rebuild users expect (specialisation,
 * install-bootloader), through the real deploy bundle on one small simulated fleet (real sshd,
 * own /nix each). The scenarios run in order on the same three hosts; each reads what the hosts
 * ran before it and checks what they run after it (/run/current-system, the profile, the
 * generations), not only the outputs.
 *
 * The flake keeps checks with two hosts: web2 in `config.deployment.healthChecks` (morph's
 * option name; a body its system never serves, so it fails there), web3 in
 * `deploy.nodes.web3.healthChecks` (a command). web1 has a specialisation `maint` whose health
 * endpoint answers "maintenance".
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo,
  type SimHost
} from '../harness/fleet.js'

const T = 240_000
const HOSTS = ['web1', 'web2', 'web3']

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      gen = builtins.fromJSON (builtins.readFile ./gen.json);
      hosts = builtins.fromJSON (builtins.readFile ./hosts.json);
      nossh = builtins.fromJSON (builtins.readFile ./nossh.json);
      mk = name: h: lib.mkHost {
        inherit name;
        services.app = { config = "generation-\${toString gen}"; };
        stopSsh = nossh;
        specialisations = if name == "web1" then { maint = { health = { body = "maintenance"; }; }; } else { };
        deployment = { targetHost = h.address; }
          // (if name == "web2" then {
            healthChecks = [ { name = "web2 is ready"; http = "http://{target}:8080/health"; body = "ready"; } ];
          } else { });
      };
    in {
      nixosConfigurations = builtins.mapAttrs mk hosts;
      deploy.nodes.web3.healthChecks = [ { command = "test -e /run/current-system/etc/sim"; } ];
      # A colmena node keeps its checks in its deployment options (never reached: refused first).
      colmenaHive = lib.makeHive {
        hive1 = { deployment = { targetHost = "127.0.0.254"; healthChecks = [ { command = "true"; } ]; }; };
      };
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let generation = 0

type ResultRecord = {
  host: string
  status: string
  'store-path': string
  'previous-store-path': string | null
  error: string | null
  phase: string | null
  health: { check: string; ok: boolean }[]
}

function results(run: ActionRun): Record<string, ResultRecord> {
  const list = JSON.parse(run.outputs.results ?? '[]') as ResultRecord[]
  return Object.fromEntries(list.map(r => [r.host, r]))
}

async function nextGeneration(): Promise<void> {
  generation++
  await repo.commit({ 'gen.json': JSON.stringify(generation) }, `generation ${generation}`)
}

function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction({
    action: 'deploy',
    workspace: repo.path,
    inputs: {
      'ssh-private-key': fleet.privateKey,
      'ssh-known-hosts': fleet.knownHosts,
      'health-checks': '- http: http://{target}:8080/health\n  status: 200\n',
      'health-timeout': '6',
      'confirm-timeout': '10',
      'rollback-scope': 'host',
      ...inputs
    }
  })
}

async function state(h: SimHost) {
  return {
    current: await h.currentSystem(),
    profile: await h.profileSystem(),
    generations: await h.generations()
  }
}

async function sh(h: SimHost, script: string): Promise<string> {
  return (await h.exec(['sh', '-c', script])).stdout.trim()
}

beforeAll(async () => {
  repo = await makeFlakeRepo({
    'flake.nix': FLAKE,
    'hosts.json': '{}',
    'gen.json': '0',
    'nossh.json': 'false'
  })
  fleet = await startFleet({ hosts: HOSTS })
  const hosts = Object.fromEntries(fleet.hosts.map(h => [h.name, { address: h.address }]))
  await repo.commit({ 'hosts.json': JSON.stringify(hosts, null, 2) }, 'the fleet')
  for (const h of fleet.hosts) await fleet.install(h, await buildToplevel(repo.path, h.name))
}, T)

afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
})

describe('health checks the flake keeps with a host', () => {
  it(
    "a host's own check gates only that host: web2's fails and web2 is rolled back, web1 deploys",
    async () => {
      const before = {
        web1: await state(fleet.host('web1')),
        web2: await state(fleet.host('web2'))
      }
      await nextGeneration()
      const run = await deploy({ hosts: 'web1,web2' })
      expect(run.exitCode).not.toBe(0)
      const rs = results(run)
      expect(rs.web1.status).toBe('deployed')
      // web1 ran the workflow's one check only: web2's own check is not web1's.
      expect(rs.web1.health.map(h => h.ok)).toEqual([true])
      expect(rs.web2.status).toBe('rolled-back')
      expect(rs.web2.phase).toBe('verify')
      expect(rs.web2.error).toContain('health check failed: web2 is ready')
      expect(rs.web2.health.find(h => h.check === 'web2 is ready')?.ok).toBe(false)
      const web1 = await state(fleet.host('web1'))
      expect(web1.current).toBe(rs.web1['store-path'])
      expect(web1.generations).toEqual([
        ...before.web1.generations,
        before.web1.generations.length + 1
      ])
      // web2 runs exactly what it ran before, from its own generation.
      const web2 = await state(fleet.host('web2'))
      expect(web2.current).toBe(before.web2.current)
      expect(web2.profile).toBe(before.web2.current)
    },
    T
  )

  it(
    'a command check from the flake is refused before anything is copied, and runs once the workflow allows it',
    async () => {
      const h = fleet.host('web3')
      const before = await state(h)
      const run = await deploy({ host: 'web3' })
      expect(run.exitCode).not.toBe(0)
      const r = results(run).web3
      expect(r.status).toBe('failed')
      expect(r.phase).toBe('resolve')
      expect(r.error).toBe(
        "Host web3: the health check command 'test -e /run/current-system/etc/sim' from deploy.nodes.web3.healthChecks is refused: checks from the flake may run commands on the host only when the workflow sets 'allow-flake-commands: true'."
      )
      expect(run.failure).toContain('allow-flake-commands: true')
      expect(await state(h)).toEqual(before)
      expect(await h.hasPath(r['store-path'])).toBe(false)

      const allowed = await deploy({ host: 'web3', 'allow-flake-commands': 'true' })
      expect(allowed.failure).toBeUndefined()
      const ok = results(allowed).web3
      expect(ok.status).toBe('deployed')
      expect(ok.health.map(c => [c.check, c.ok])).toContainEqual([
        "command 'test -e /run/current-system/etc/sim'",
        true
      ])
      expect((await state(h)).current).toBe(ok['store-path'])
    },
    T
  )

  it(
    "a colmena node's deployment.healthChecks are read from the hive, under the same rule",
    async () => {
      const run = await deploy({ host: 'hive1' })
      const r = results(run).hive1
      expect(r.status).toBe('failed')
      expect(r.phase).toBe('resolve')
      expect(r.error).toBe(
        "Host hive1: the health check command 'true' from colmenaHive.deploymentConfig.hive1.healthChecks is refused: checks from the flake may run commands on the host only when the workflow sets 'allow-flake-commands: true'."
      )
    },
    T
  )

  it(
    'the rollback action reads the flake checks too, and leaves a refused one out with a warning',
    async () => {
      const h = fleet.host('web3')
      const before = await state(h)
      expect(before.generations.length).toBeGreaterThan(1)
      const run = await runAction({
        action: 'rollback',
        workspace: repo.path,
        inputs: {
          host: 'web3',
          'ssh-private-key': fleet.privateKey,
          'ssh-known-hosts': fleet.knownHosts,
          'health-timeout': '6'
        }
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.annotations.filter(a => a.level === 'warning').map(a => a.message)).toContainEqual(
        expect.stringMatching(
          /^Host web3: the health check command .* is refused: .*'allow-flake-commands: true'\. The rollback goes on with the workflow's checks only\.$/
        )
      )
      const after = await state(h)
      expect(after.generations).toEqual(before.generations)
      expect(after.current).not.toBe(before.current)
    },
    T
  )
})

describe('specialisation and install-bootloader', () => {
  it(
    'activates the named specialisation with NIXOS_INSTALL_BOOTLOADER=1 while the profile gets the toplevel; again is unchanged',
    async () => {
      const h = fleet.host('web1')
      const before = await state(h)
      await nextGeneration()
      const run = await deploy({
        host: 'web1',
        specialisation: 'maint',
        'install-bootloader': 'true',
        'health-checks': '- http: http://{target}:8080/health\n  body: maintenance\n'
      })
      expect(run.failure).toBeUndefined()
      const r = results(run).web1
      expect(r.status).toBe('deployed')
      const top = r['store-path']
      const spec = await sh(h, `readlink -f ${top}/specialisation/maint`)
      expect(spec).toMatch(/^\/nix\/store\//)
      expect(spec).not.toBe(top)
      const now = await state(h)
      expect(now.current).toBe(spec)
      expect(now.profile).toBe(top)
      expect(now.generations).toEqual([...before.generations, before.generations.length + 1])
      expect(await sh(h, 'cat /run/current-system/etc/sim/specialisation')).toBe('maint')
      // What switch-to-configuration saw: the specialisation's own, with the boot loader variable.
      expect(await sh(h, 'tail -n 1 /run/sim/activations')).toBe(`switch ${spec} 1`)

      const again = await deploy({ host: 'web1', specialisation: 'maint' })
      expect(again.failure).toBeUndefined()
      expect(results(again).web1.status).toBe('unchanged')
      expect(await sh(h, 'tail -n 1 /run/sim/activations')).toBe(`switch ${spec} 1`)

      // Without install-bootloader the variable is empty, as nixos-rebuild passes it.
      await nextGeneration()
      const plain = await deploy({ host: 'web1' })
      expect(plain.failure).toBeUndefined()
      const p = results(plain).web1
      expect(await sh(h, 'tail -n 1 /run/sim/activations')).toBe(`switch ${p['store-path']}`)
      expect((await state(h)).current).toBe(p['store-path'])
    },
    T
  )

  it(
    'a host running a specialisation comes back to that specialisation of the same generation',
    async () => {
      const h = fleet.host('web1')
      await nextGeneration()
      const first = await deploy({ host: 'web1', specialisation: 'maint' })
      expect(first.failure).toBeUndefined()
      const top = results(first).web1['store-path']
      const before = await state(h)
      expect(before.profile).toBe(top)
      expect(before.current).toBe(await sh(h, `readlink -f ${top}/specialisation/maint`))

      // The next generation's specialisation is not healthy by this workflow's measure.
      await nextGeneration()
      const run = await deploy({
        host: 'web1',
        specialisation: 'maint',
        'health-checks': '- http: http://{target}:8080/health\n  body: never-served\n'
      })
      const r = results(run).web1
      expect(r.status).toBe('rolled-back')
      expect(r['store-path']).not.toBe(top)
      // The same generation (no new one left behind), and its specialisation running again.
      expect(await state(h)).toEqual(before)
      expect(await sh(h, 'cat /run/current-system/etc/sim/specialisation')).toBe('maint')
    },
    T
  )

  it(
    'a specialisation the system does not have fails before anything is armed or switched',
    async () => {
      const h = fleet.host('web1')
      const before = await state(h)
      const activations = await sh(h, 'wc -l < /run/sim/activations')
      const stateFiles = await sh(h, 'ls /run/nix-deploy')
      await nextGeneration()
      const run = await deploy({ host: 'web1', specialisation: 'nope' })
      expect(run.failure).toMatch(/has no specialisation 'nope'/)
      const r = results(run).web1
      expect(r.status).toBe('failed')
      expect(r.phase).toBe('activate')
      expect(r.error).toBe(
        `Host web1 failed in phase activate: the system ${r['store-path']} has no specialisation 'nope' (it has 'maint'); nothing was activated.`
      )
      expect(await state(h)).toEqual(before)
      expect(await sh(h, 'wc -l < /run/sim/activations')).toBe(activations)
      // No watchdog was armed, no activation started: the host's state folder is as it was.
      expect(await sh(h, 'ls /run/nix-deploy')).toBe(stateFiles)
    },
    T
  )

  it(
    "a specialisation whose new system cuts SSH: the host's watchdog brings back the same generation and specialisation",
    async () => {
      const h = fleet.host('web1')
      const before = await state(h)
      // The premise: a specialisation of the profile's system runs.
      expect(before.current).toBe(await sh(h, `readlink -f ${before.profile}/specialisation/maint`))
      expect(before.current).not.toBe(before.profile)
      expect(await sh(h, 'cat /run/current-system/etc/sim/specialisation')).toBe('maint')
      generation++
      await repo.commit(
        { 'gen.json': JSON.stringify(generation), 'nossh.json': 'true' },
        'a generation without sshd'
      )
      const run = await deploy({ host: 'web1', specialisation: 'maint', 'confirm-timeout': '6' })
      await repo.commit({ 'nossh.json': 'false' }, 'sshd again')
      const r = results(run).web1
      expect(r.status).toBe('rolled-back')
      expect(r.error).toMatch(/watchdog restored the previous generation/)
      expect(await state(h)).toEqual(before)
      expect(await sh(h, 'cat /run/current-system/etc/sim/specialisation')).toBe('maint')
      expect(await h.sshAlive()).toBe(true)
    },
    T
  )

  it(
    'refuses a specialisation name that is a path, before reading the flake',
    async () => {
      const run = await deploy({ host: 'web1', specialisation: '../../etc' })
      expect(run.exitCode).not.toBe(0)
      expect(run.failure).toMatch(/Input 'specialisation' must be the name of a specialisation/)
    },
    T
  )
})
