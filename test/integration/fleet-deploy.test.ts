/**
 * Fleet rollout through the real deploy bundle on a simulated fleet of six hosts (real sshd, own
 * /nix each). The hosts' targets and tags come from the flake (`deployment.targetHost`, colmena's
 * option), the deploy builds the systems itself, and every scenario checks what each host runs
 * afterwards (/run/current-system, the system profile, the generations), not only the outputs.
 *
 * The flake reads three files: hosts.json (name -> address and tags, written once the fleet has
 * its random addresses), gen.json (a counter: each scenario deploys new systems) and bad.json (the
 * hosts whose new system answers its health endpoint with 500).
 *
 * Every scenario starts from a fleet of its own: six new hosts, each with generation 0 of its
 * system installed (profile generation 1), so no scenario depends on what an earlier one left.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
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

const T = 180_000
const HEALTH = '- http: http://{target}:8080/health\n  status: 200\n  body: ok\n'
const WEB = ['web1', 'web2', 'web3', 'web4']
const DB = ['db1', 'db2']
const ALL = [...WEB, ...DB]
/** The flake's host order (attribute names, sorted): `on` selects in this order. */
const FLAKE_ORDER = [...ALL].sort()

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      gen = builtins.fromJSON (builtins.readFile ./gen.json);
      bad = builtins.fromJSON (builtins.readFile ./bad.json);
      hosts = builtins.fromJSON (builtins.readFile ./hosts.json);
      mk = name: h: lib.mkHost {
        inherit name;
        packages = [ pkgs.nginx ];
        services.nginx = { package = pkgs.nginx; config = "generation-\${toString gen}"; };
        health = if builtins.elem name bad then { mode = "failing"; } else { };
        deployment = { targetHost = h.address; tags = h.tags; };
      };
    in {
      nixosConfigurations = builtins.mapAttrs mk hosts;
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let generation = 0

interface HostState {
  current: string | null
  profile: string | null
  generations: number[]
}

async function state(h: SimHost): Promise<HostState> {
  return {
    current: await h.currentSystem(),
    profile: await h.profileSystem(),
    generations: await h.generations()
  }
}

async function fleetState(): Promise<Record<string, HostState>> {
  const out: Record<string, HostState> = {}
  for (const h of fleet.hosts) out[h.name] = await state(h)
  return out
}

/** Commits the next generation of every host, `bad` ones unhealthy. */
async function nextGeneration(bad: string[] = []): Promise<void> {
  generation++
  await repo.commit(
    { 'gen.json': JSON.stringify(generation), 'bad.json': JSON.stringify(bad) },
    `generation ${generation}`
  )
}

function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction({
    action: 'deploy',
    workspace: repo.path,
    inputs: {
      'ssh-private-key': fleet.privateKey,
      'ssh-known-hosts': fleet.knownHosts,
      'health-checks': HEALTH,
      'health-timeout': '6',
      'confirm-timeout': '6',
      ...inputs
    }
  })
}

type ResultRecord = {
  host: string
  status: string
  'store-path': string
  'previous-store-path': string | null
  error: string | null
  phase: string | null
}

function results(run: ActionRun): Record<string, ResultRecord> {
  const list = JSON.parse(run.outputs.results ?? '[]') as ResultRecord[]
  return Object.fromEntries(list.map(r => [r.host, r]))
}

function statuses(run: ActionRun): Record<string, string> {
  return Object.fromEntries(Object.values(results(run)).map(r => [r.host, r.status]))
}

beforeAll(async () => {
  repo = await makeFlakeRepo({
    'flake.nix': FLAKE,
    'hosts.json': '{}',
    'gen.json': '0',
    'bad.json': '[]'
  })
}, T)

afterAll(async () => {
  await repo?.remove()
})

beforeEach(async () => {
  fleet = await startFleet({ hosts: ALL })
  const hosts = Object.fromEntries(
    fleet.hosts.map(h => [
      h.name,
      { address: h.address, tags: ['prod', WEB.includes(h.name) ? 'web' : 'db'] }
    ])
  )
  generation = 0
  await repo.commit(
    { 'hosts.json': JSON.stringify(hosts, null, 2), 'gen.json': '0', 'bad.json': '[]' },
    'a new fleet'
  )
  // Generation 0 everywhere: what there is to come back to.
  for (const h of fleet.hosts) await fleet.install(h, await buildToplevel(repo.path, h.name))
  for (const h of fleet.hosts) {
    const s = await state(h)
    expect({ name: h.name, generations: s.generations, same: s.current === s.profile }).toEqual({
      name: h.name,
      generations: [1],
      same: true
    })
  }
}, T)

afterEach(async () => {
  await fleet?.stop()
})

describe('deploy to a fleet', () => {
  it(
    'all healthy (strategy all, on: @prod): every host deployed, one record each, a summary row each',
    async () => {
      const before = await fleetState()
      await nextGeneration()
      const run = await deploy({ on: '@prod', strategy: 'all', 'max-parallel': '6' })
      expect(run.failure).toBeUndefined()
      expect(run.exitCode).toBe(0)
      expect(run.outputs.status).toBe('deployed')
      const rs = results(run)
      expect(Object.keys(rs)).toEqual(FLAKE_ORDER)
      for (const name of ALL) {
        const r = rs[name]
        const now = await state(fleet.host(name))
        expect({ name, status: r.status, error: r.error }).toEqual({
          name,
          status: 'deployed',
          error: null
        })
        expect(r['store-path']).toMatch(
          new RegExp(`^/nix/store/[a-z0-9]{32}-nixos-system-${name}-`)
        )
        expect(r['previous-store-path']).toBe(before[name].current)
        expect(now.current).toBe(r['store-path'])
        expect(now.profile).toBe(r['store-path'])
        expect(now.generations).toEqual([1, 2])
        expect(run.summary).toMatch(new RegExp(`\\| \`${name}\` \\| ✅ deployed \\|`))
      }
      // One system per host (its name is in it), so no two hosts got the same store path.
      expect(new Set(Object.values(rs).map(r => r['store-path'])).size).toBe(6)
      expect(run.summary).toContain('✅ 6 deployed')
    },
    T
  )

  it(
    'canary unhealthy: the canary is rolled back and no other host is touched',
    async () => {
      const before = await fleetState()
      const canary = FLAKE_ORDER[0]
      await nextGeneration([canary])
      const run = await deploy({ on: 'web*, @db', strategy: 'canary' })
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.failure).toMatch(
        new RegExp(
          `Host ${canary} failed in phase verify: health check failed: http http://.*answered 500`
        )
      )
      const rs = results(run)
      expect(Object.keys(rs)).toEqual(FLAKE_ORDER)
      expect(rs[canary].status).toBe('rolled-back')
      // The canary is back on the exact previous generation (the failed one is gone).
      expect(await state(fleet.host(canary))).toEqual(before[canary])
      for (const name of FLAKE_ORDER.slice(1)) {
        expect({ name, status: rs[name].status }).toEqual({ name, status: 'skipped' })
        expect(rs[name].error).toBe(`Host ${name} was not touched: the rollout stopped at wave 1.`)
        expect({ name, ...(await state(fleet.host(name))) }).toEqual({ name, ...before[name] })
      }
      expect(run.summary).toContain('halted at wave 1')
    },
    T
  )

  it(
    'a failure in the second of three waves: wave 1 and wave 2 return, wave 3 is not touched',
    async () => {
      const before = await fleetState()
      // waves:3 over 6 hosts: [web1] [web2 web3] [web4 db1 db2]; web3 is unhealthy.
      await nextGeneration(['web3'])
      const run = await deploy({ hosts: ALL.join(','), strategy: 'waves:3' })
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(run.summary).toMatch(
        /Waves: 1: `web1` → 2: `web2`, `web3` → 3: `web4`, `db1`, `db2` — halted at wave 2/
      )
      expect(statuses(run)).toEqual({
        web1: 'rolled-back',
        web2: 'rolled-back',
        web3: 'rolled-back',
        web4: 'skipped',
        db1: 'skipped',
        db2: 'skipped'
      })
      const rs = results(run)
      expect(rs.web3.error).toMatch(/^Host web3 failed in phase verify: health check failed/)
      expect(rs.web3.phase).toBe('verify')
      // Each host was given its own system (the build's results are matched to the hosts, not by order).
      for (const name of ['web1', 'web2', 'web3'])
        expect(rs[name]['store-path']).toContain(`-nixos-system-${name}-`)
      expect(rs.web1.error).toMatch(
        /^Host web1 was deployed, then returned to \/nix\/store\/\S+ because wave 2 failed\.$/
      )
      expect(rs.web2.error).toMatch(
        /^Host web2 was deployed, then returned to \/nix\/store\/\S+ because wave 2 failed\.$/
      )
      // Every host of waves 1 and 2 runs (and boots) its previous system again.
      for (const name of ['web1', 'web2', 'web3']) {
        const now = await state(fleet.host(name))
        expect({ name, current: now.current, profile: now.profile }).toEqual({
          name,
          current: before[name].current,
          profile: before[name].current
        })
      }
      expect(await state(fleet.host('web3'))).toEqual(before.web3)
      for (const name of ['web4', 'db1', 'db2'])
        expect({ name, ...(await state(fleet.host(name))) }).toEqual({ name, ...before[name] })
      expect(run.failure).toMatch(/^deploy: Host (web1|web2|web3) .*\(3 hosts did not deploy: /)
      // The picture above the tables, parsed by the real Mermaid: the waves, web3's failing check,
      // the rollbacks after it, the untouched wave, at the times the pipeline recorded.
      const blocks = mermaidBlocks(run.summary)
      expect(blocks).toHaveLength(1)
      expect(run.summary.indexOf('```mermaid')).toBeLessThan(run.summary.indexOf('| Host |'))
      const [pic] = parseMermaid(blocks)
      if (!pic.ok) throw new Error(`the summary's picture does not parse: ${pic.error}`)
      expect(pic.sections).toEqual(['Wave 1', 'Wave 2', 'Wave 3 not run'])
      const tasks = pic.tasks!
      const crit = tasks.filter(t => t.crit)
      expect(crit.map(t => t.name)).toEqual([
        expect.stringMatching(/^verify web3 .* failed check http/)
      ])
      const rolledBack = new Set(tasks.filter(t => t.active).map(t => t.name.split(' ')[1]))
      expect([...rolledBack].sort()).toEqual(['web1', 'web2', 'web3'])
      for (const t of tasks.filter(t => t.active && t.name.split(' ')[1] !== 'web3'))
        expect(t.start).toBeGreaterThanOrEqual(crit[0].end)
      expect(tasks.filter(t => t.milestone).map(t => t.name)).toEqual([
        'skipped web4',
        'skipped db1',
        'skipped db2'
      ])
      for (const t of tasks) expect(t.end).toBeGreaterThanOrEqual(t.start)
    },
    T
  )

  it(
    'the same with rollback-scope: host: the deployed hosts of waves 1 and 2 keep the new system',
    async () => {
      const before = await fleetState()
      await nextGeneration(['web3'])
      const run = await deploy({
        hosts: ALL.join(','),
        strategy: 'waves:3',
        'rollback-scope': 'host'
      })
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(statuses(run)).toEqual({
        web1: 'deployed',
        web2: 'deployed',
        web3: 'rolled-back',
        web4: 'skipped',
        db1: 'skipped',
        db2: 'skipped'
      })
      const rs = results(run)
      for (const name of ['web1', 'web2']) {
        const now = await state(fleet.host(name))
        expect({ name, current: now.current, profile: now.profile }).toEqual({
          name,
          current: rs[name]['store-path'],
          profile: rs[name]['store-path']
        })
        expect(now.current).not.toBe(before[name].current)
      }
      expect(await state(fleet.host('web3'))).toEqual(before.web3)
      for (const name of ['web4', 'db1', 'db2'])
        expect({ name, ...(await state(fleet.host(name))) }).toEqual({ name, ...before[name] })
    },
    T
  )

  it(
    'one host unreachable (strategy all): it fails in phase probe, the others deploy, the step fails',
    async () => {
      const down = fleet.host('db2')
      const before = await fleetState()
      await nextGeneration()
      await down.stopSsh()
      let run: ActionRun
      try {
        run = await deploy({ on: '@prod' })
      } finally {
        await down.startSsh()
      }
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('failed')
      expect(run.failure).toMatch(
        /^deploy: Host db2.*phase probe.*could not connect: connection refused/
      )
      const rs = results(run)
      expect(rs.db2).toMatchObject({ status: 'failed', phase: 'probe' })
      expect(await state(down)).toEqual(before.db2)
      // A host that could not be reached proves nothing against the new systems: the others keep them.
      for (const name of FLAKE_ORDER.filter(n => n !== 'db2')) {
        const now = await state(fleet.host(name))
        expect({ name, status: rs[name].status, current: now.current }).toEqual({
          name,
          status: 'deployed',
          current: rs[name]['store-path']
        })
      }
      expect(run.summary).toMatch(/\| `db2` \| ❌ failed \|/)
    },
    T
  )
})
