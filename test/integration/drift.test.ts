/**
 * The drift action through its bundle, on a simulated fleet of three hosts (real sshd, own /nix
 * each) and the GitHub stand-in. The deploy bundle deploys all three with `environment:
 * production`, so the per-host deployment records exist; then one host is switched by hand
 * (activated directly on the host, no deploy) and drift must find it `drifted` with a closure
 * diff, the others `in-sync`, and open its issue; a host whose sshd is down is `unreachable`, a
 * host that booted another kernel is `reboot-pending`; once the host is fixed, the issue is
 * closed. `expected: flake` compares with the flake as it evaluates now, without building it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import {
  makeFlakeRepo,
  nixBuild,
  nixEvalJson,
  startFleet,
  type Fleet,
  type FlakeRepo
} from '../harness/fleet.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const T = 240_000
const HOSTS = ['web1', 'web2', 'web3']
const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      gen = builtins.fromJSON (builtins.readFile ./gen.json);
      hosts = builtins.fromJSON (builtins.readFile ./hosts.json);
      mk = name: extra: lib.mkHost ({
        inherit name;
        packages = [ pkgs.nginx ];
        services.nginx = { package = pkgs.nginx; config = "generation-\${toString gen}"; };
        deployment = { targetHost = hosts.\${name} or "127.0.0.1"; };
      } // extra);
    in {
      nixosConfigurations = builtins.mapAttrs (name: _: mk name { }) hosts;
      # What someone switches web2 to by hand: another package set and another kernel.
      packages.x86_64-linux.by-hand =
        (mk "web2" { packages = [ pkgs.nginx pkgs.htop ]; kernelVersion = "6.6.99"; }).config.system.build.toplevel;
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let api: GitHubApi
let byHand: string
/** What each host runs after the deploy: the store paths on record. */
const deployed: Record<string, string> = {}

interface Result {
  host: string
  state: string
  expected: string | null
  running: string | null
  booted: string | null
  'expected-from': string | null
  reason?: string
  'diff-summary'?: string
  'diff-note'?: string
}

function results(run: ActionRun): Record<string, Result> {
  const list = JSON.parse(run.outputs.results ?? '[]') as Result[]
  return Object.fromEntries(list.map(r => [r.host, r]))
}

function states(run: ActionRun): Record<string, string> {
  return Object.fromEntries(Object.values(results(run)).map(r => [r.host, r.state]))
}

function drift(inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction({
    action: 'drift',
    workspace: repo.path,
    token: 'drift-token',
    env: api.env('drift-token'),
    inputs: {
      'ssh-private-key': fleet.privateKey,
      'ssh-known-hosts': fleet.knownHosts,
      'ssh-connect-timeout': '5',
      environment: 'production',
      ...inputs
    }
  })
}

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE, 'hosts.json': '{}', 'gen.json': '0' })
  fleet = await startFleet({ hosts: HOSTS })
  await repo.commit(
    { 'hosts.json': JSON.stringify(Object.fromEntries(fleet.hosts.map(h => [h.name, h.address]))) },
    'the fleet'
  )
  api = await startGitHubApi()
  api.addToken('deploy-token', { deployments: 'write', contents: 'read', actions: 'read' })
  api.addToken('drift-token', { deployments: 'read', issues: 'write', contents: 'read' })
  byHand = await nixBuild(`${repo.path}#by-hand`)
  // The deploy bundle deploys generation 1 everywhere and records it per host.
  await repo.commit({ 'gen.json': '1' }, 'generation 1')
  const run = await runAction({
    action: 'deploy',
    workspace: repo.path,
    token: 'deploy-token',
    env: api.env('deploy-token'),
    inputs: {
      hosts: HOSTS.join(','),
      environment: 'production',
      'ssh-private-key': fleet.privateKey,
      'ssh-known-hosts': fleet.knownHosts,
      'confirm-timeout': '10'
    }
  })
  expect(run.failure).toBeUndefined()
  for (const r of JSON.parse(run.outputs.results ?? '[]') as {
    host: string
    'store-path': string
  }[])
    deployed[r.host] = r['store-path']
  for (const h of fleet.hosts) expect(await h.currentSystem()).toBe(deployed[h.name])
  expect(api.deployments('octo/fleet')).toHaveLength(3)
}, T)

afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
  await api?.close()
})

describe('drift', () => {
  it(
    'finds the host switched by hand, reports the others in sync, and opens one issue',
    async () => {
      // Nobody deploys: someone activates another system on web2 directly.
      await fleet.install('web2', byHand)
      const run = await drift({ issue: 'true' })
      expect(run.failure).toBeUndefined()
      expect(run.exitCode).toBe(0)
      expect(JSON.parse(run.outputs.drifted)).toEqual(['web2'])
      expect(run.outputs.count).toBe('1')
      expect(states(run)).toEqual({ web1: 'in-sync', web2: 'drifted', web3: 'in-sync' })
      const web2 = results(run).web2
      expect(web2).toMatchObject({
        expected: deployed.web2,
        running: byHand,
        'expected-from': 'deployment'
      })
      // Both systems are in the runner's store: the closure diff names what changed.
      expect(web2['diff-summary']).toMatch(/added/)
      expect(web2['diff-summary']).toMatch(/reboot required/)
      expect(results(run).web1).toMatchObject({ expected: deployed.web1, running: deployed.web1 })
      expect(run.summary).toContain('web2')
      expect(run.summary).toMatch(/drifted/)
      expect(run.outputs['report-file']).toMatch(/drift\.json$/)

      const issues = api.issueList('octo/fleet')
      expect(issues).toHaveLength(1)
      expect(issues[0]).toMatchObject({
        state: 'open',
        title: 'Drift: 1 host does not run what it should'
      })
      expect(issues[0].body).toContain(byHand)
      expect(issues[0].body).not.toContain('web1')
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'an unreachable host and a host that booted another kernel; the issue is edited in place',
    async () => {
      const number = api.issueList('octo/fleet')[0].number
      await fleet.host('web3').stopSsh()
      // web1 runs what was deployed, but booted a system with another kernel.
      await fleet.copyTo('web1', [byHand])
      await fleet.host('web1').exec(['ln', '-sfn', byHand, '/run/booted-system'])
      try {
        const run = await drift({ issue: 'true' })
        expect(run.failure).toBeUndefined()
        expect(states(run)).toEqual({
          web1: 'reboot-pending',
          web2: 'drifted',
          web3: 'unreachable'
        })
        expect(results(run).web1.booted).toBe(byHand)
        expect(results(run).web3.reason).toMatch(/could not connect/)
        expect(run.annotations.some(a => a.level === 'warning' && /web3/.test(a.message))).toBe(
          true
        )
        const issues = api.issueList('octo/fleet')
        expect(issues.map(i => i.number)).toEqual([number])
        expect(issues[0].body).toMatch(/web3: unreachable/)
      } finally {
        await fleet.host('web3').startSsh()
        // A booted system the same as the running one is no pending reboot.
        await fleet.host('web1').exec(['ln', '-sfn', deployed.web1, '/run/booted-system'])
      }
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'once the host runs what was deployed again, every host is in sync and the issue is closed',
    async () => {
      await fleet.install('web2', deployed.web2)
      const run = await drift({ issue: 'true' })
      expect(run.failure).toBeUndefined()
      expect(states(run)).toEqual({ web1: 'in-sync', web2: 'in-sync', web3: 'in-sync' })
      expect(JSON.parse(run.outputs.drifted)).toEqual([])
      expect(run.outputs.count).toBe('0')
      const [issue] = api.issueList('octo/fleet')
      expect(issue).toMatchObject({ state: 'closed', state_reason: 'completed' })
      expect(api.comments('octo/fleet', issue.number).pop()?.body).toMatch(/No host drifts/)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'expected: flake compares with the flake as it evaluates now, without building it',
    async () => {
      await repo.commit({ 'gen.json': '2' }, 'generation 2, not deployed')
      const want = await nixEvalJson<Record<string, string>>(
        `${repo.path}#nixosConfigurations`,
        'cs: builtins.mapAttrs (n: c: c.config.system.build.toplevel.outPath) cs'
      )
      const run = await drift({ expected: 'flake', on: 'web*' })
      expect(run.failure).toBeUndefined()
      expect(states(run)).toEqual({ web1: 'drifted', web2: 'drifted', web3: 'drifted' })
      for (const h of HOSTS) {
        expect(results(run)[h]).toMatchObject({
          expected: want[h],
          running: deployed[h],
          'expected-from': 'flake'
        })
        // Never built: in neither store, so no diff, and a note saying why.
        expect(results(run)[h]['diff-note']).toMatch(/neither/)
      }
      // expected: deployed in an environment without records: the flake, with a notice.
      const staging = await drift({ environment: 'staging' })
      expect(staging.failure).toBeUndefined()
      expect(Object.values(results(staging)).map(r => r['expected-from'])).toEqual([
        'flake',
        'flake',
        'flake'
      ])
      expect(
        staging.annotations.some(
          a =>
            a.level === 'notice' && /No successful deployment of web1, web2, web3/.test(a.message)
        )
      ).toBe(true)
    },
    T
  )
})
