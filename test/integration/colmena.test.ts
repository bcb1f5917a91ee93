/**
 * A flake with only a `colmenaHive` output (the layout of colmena's `lib.makeHive`, built by the
 * fixture library without nixpkgs), taken through the real bundles unchanged: matrix (tags and
 * targets from the hive's deploymentConfig), build, diff across a revision, and deploy to a
 * simulated fleet of two hosts (real sshd, own /nix each). Then a deploy-rs node whose system
 * profile is deploy-rs's activation wrapper is deployed: the host runs the toplevel inside it.
 *
 * The flake reads hosts.json (name -> address, written once the fleet has its addresses) and
 * gen.json (a counter: each change of the hosts' systems).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import {
  makeFlakeRepo,
  nixBuild,
  startFleet,
  type Fleet,
  type FlakeRepo
} from '../harness/fleet.js'

const T = 240_000
const HEALTH = '- http: http://{target}:8080/health\n  status: 200\n  body: ok\n'

const HIVE_FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      hosts = builtins.fromJSON (builtins.readFile ./hosts.json);
      gen = builtins.fromJSON (builtins.readFile ./gen.json);
    in {
      colmenaHive = lib.makeHive {
        meta = { description = "two hosts"; };
        defaults = {
          packages = [ pkgs.nginx ];
          services.nginx = { package = pkgs.nginx; config = "generation-\${toString gen}"; };
        };
        web1 = { deployment = { targetHost = hosts.web1 or "web1"; tags = [ "web" "prod" ]; }; };
        db1 = {
          packages = [ pkgs.nginx pkgs.postgresql ];
          deployment = { targetHost = hosts.db1 or "db1"; tags = [ "db" ]; buildOnTarget = true; };
        };
      };
    };
}
`

const DEPLOY_RS_FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      hosts = builtins.fromJSON (builtins.readFile ./hosts.json);
    in {
      deploy.nodes.db1 = {
        hostname = hosts.db1;
        profiles.system.path = lib.deployRsActivateNixos (lib.mkHost { name = "db1"; packages = [ lib.pkgs.redis ]; });
        profiles.home.path = lib.pkgs.jq;
      };
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let base: string

beforeAll(async () => {
  fleet = await startFleet({ hosts: ['web1', 'db1'] })
  const hosts = Object.fromEntries(fleet.hosts.map(h => [h.name, h.address]))
  repo = await makeFlakeRepo({
    'flake.nix': HIVE_FLAKE,
    'hosts.json': JSON.stringify(hosts),
    'gen.json': '0'
  })
  base = repo.rev
}, T)

afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
})

const matrixOf = (run: ActionRun) =>
  JSON.parse(run.outputs.matrix) as { include: Record<string, unknown>[] }

describe('a colmena hive, unchanged', () => {
  it(
    'matrix: hosts, tags and targets from the hive; a notice for what is not honoured',
    async () => {
      const all = await runAction({ action: 'matrix', workspace: repo.path })
      expect(all.failure).toBeUndefined()
      expect(matrixOf(all).include).toEqual([
        {
          host: 'db1',
          system: 'x86_64-linux',
          target: `root@${fleet.host('db1').address}`,
          tags: ['db']
        },
        {
          host: 'web1',
          system: 'x86_64-linux',
          target: `root@${fleet.host('web1').address}`,
          tags: ['web', 'prod']
        }
      ])
      const notices = all.annotations.filter(a => a.level === 'notice').map(a => a.message)
      expect(notices.filter(m => /deployment\.buildOnTarget/.test(m))).toEqual([
        expect.stringMatching(/^Host db1 sets deployment\.buildOnTarget, which is not honoured: /)
      ])
      const prod = await runAction({
        action: 'matrix',
        workspace: repo.path,
        inputs: { on: '@prod' }
      })
      expect(JSON.parse(prod.outputs.hosts)).toEqual(['web1'])
    },
    T
  )

  it(
    "build, then diff across a revision: the hive's toplevel of the host",
    async () => {
      const built = await runAction({
        action: 'build',
        workspace: repo.path,
        inputs: { host: 'web1', cache: 'false' }
      })
      expect(built.failure).toBeUndefined()
      const first = built.outputs['store-path']
      expect(first).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-web1-/)
      expect(first).toBe(await nixBuild(`${repo.path}#colmenaHive.toplevel.web1`))

      await repo.commit({ 'gen.json': '1' }, 'generation 1')
      const diff = await runAction({
        action: 'diff',
        workspace: repo.path,
        inputs: { host: 'web1', before: base, after: 'HEAD' }
      })
      expect(diff.failure).toBeUndefined()
      const json = JSON.parse(fs.readFileSync(diff.outputs['diff-json-file'], 'utf8'))
      expect(json.beforePath).toBe(first)
      expect(json.afterPath).toBe(await nixBuild(`${repo.path}#colmenaHive.toplevel.web1`))
      expect(json.afterPath).not.toBe(first)

      // changed-since compares the hive's toplevel derivations at both revisions.
      const since = (rev: string) =>
        runAction({ action: 'matrix', workspace: repo.path, inputs: { 'changed-since': rev } })
      const none = await since('HEAD')
      expect([none.outputs.count, JSON.parse(none.outputs.skipped)]).toEqual(['0', ['db1', 'web1']])
      const both = await since(base)
      expect([both.outputs.count, JSON.parse(both.outputs.skipped)]).toEqual(['2', []])
    },
    T
  )

  it(
    'deploy: both hosts by tag, at the targets the hive gives',
    async () => {
      const run = await runAction({
        action: 'deploy',
        workspace: repo.path,
        inputs: {
          on: '@web, @db',
          'ssh-private-key': fleet.privateKey,
          'ssh-known-hosts': fleet.knownHosts,
          'health-checks': HEALTH,
          'health-timeout': '8',
          'confirm-timeout': '6'
        }
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('deployed')
      for (const name of ['web1', 'db1']) {
        const wanted = await nixBuild(`${repo.path}#colmenaHive.toplevel.${name}`)
        const h = fleet.host(name)
        expect({
          name,
          current: await h.currentSystem(),
          profile: await h.profileSystem()
        }).toEqual({ name, current: wanted, profile: wanted })
      }
    },
    T
  )
})

describe('a deploy-rs node, unchanged', () => {
  it(
    "deploys the toplevel inside deploy-rs's activation, and tells that other profiles are not deployed",
    async () => {
      const other = await makeFlakeRepo({
        'flake.nix': DEPLOY_RS_FLAKE,
        'hosts.json': JSON.stringify({ db1: fleet.host('db1').address })
      })
      try {
        const run = await runAction({
          action: 'deploy',
          workspace: other.path,
          inputs: {
            host: 'db1',
            'ssh-private-key': fleet.privateKey,
            'ssh-known-hosts': fleet.knownHosts,
            'health-checks': HEALTH,
            'health-timeout': '8',
            'confirm-timeout': '6'
          }
        })
        expect(run.failure).toBeUndefined()
        expect(run.outputs.status).toBe('deployed')
        const path = run.outputs['store-path']
        expect(path).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-db1-/)
        expect(await fleet.host('db1').currentSystem()).toBe(path)
        expect(run.annotations.map(a => a.message)).toContain(
          'Host db1: deploy.nodes.db1.profiles.home is not deployed: the suite deploys the system profile only.'
        )
      } finally {
        await other.remove()
      }
    },
    T
  )
})
