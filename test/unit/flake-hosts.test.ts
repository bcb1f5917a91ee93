/**
 * Reading hosts from colmena hives and deploy-rs nodes: the pure step from the flake's raw data
 * to hosts (targets, tags, notices), and the Nix expressions that read that data, run by the real
 * nix on the fixture library's makeHive (colmena's `lib.makeHive` layout) and deploy-rs's
 * `activate.nixos` wrapper in the shapes nixpkgs' buildEnv has had.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ActionError } from '../../src/core/errors.js'
import {
  HIVE_APPLY,
  UNWRAP_PROFILE,
  deployApply,
  evalSystemDrvPaths,
  hostsFromFlakeData,
  indexOfInventory,
  locateSystems,
  readInventory,
  type RawDeploy,
  type RawHost
} from '../../src/core/flake.js'
import { MemoryLogger } from '../../src/core/log.js'
import { makeFlakeRepo } from '../harness/flake-repo.js'
import { NIX_CONFIG } from '../harness/nix-env.js'

const lib = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'lib')

function nixEval<T>(expr: string): T {
  const out = execFileSync('nix', ['eval', '--impure', '--json', '--expr', expr], {
    env: { ...process.env, NIX_CONFIG },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  })
  return JSON.parse(out) as T
}

/** A colmena node as HIVE_APPLY reads it, with colmena's defaults. */
function node(name: string, d: Partial<RawHost> = {}): RawHost {
  return {
    hostName: name,
    fqdn: null,
    system: 'x86_64-linux',
    targetHost: name,
    targetUser: 'root',
    targetPort: null,
    tags: [],
    sshOptions: [],
    notHonoured: [],
    ...d
  }
}

describe('hostsFromFlakeData', () => {
  it('reads a colmena hive alone: targets and tags from deploymentConfig, colmena defaults', () => {
    const { hosts, notices } = hostsFromFlakeData('.', {
      hive: {
        web1: node('web1', { tags: ['web', 'prod'] }),
        db1: node('db1', { targetHost: '10.0.0.5', targetUser: 'deploy', targetPort: 2222 })
      }
    })
    expect(hosts.map(h => [h.name, h.source, h.target, h.tags])).toEqual([
      ['db1', 'colmenaHive', { user: 'deploy', host: '10.0.0.5', port: 2222 }, []],
      ['web1', 'colmenaHive', { user: 'root', host: 'web1', port: 22 }, ['web', 'prod']]
    ])
    expect(hosts[0].targetSource).toBe("Host db1's colmenaHive.deploymentConfig.db1.targetHost")
    expect(notices).toEqual([])
  })

  it('prefers nixosConfigurations over a hive node of the same name', () => {
    const { hosts } = hostsFromFlakeData('.', {
      configs: { web1: node('web1', { targetHost: null, targetUser: null, tags: [] }) },
      hive: { web1: node('web1', { targetHost: 'elsewhere' }), web2: node('web2') }
    })
    expect(hosts.map(h => [h.name, h.source, h.target?.host])).toEqual([
      ['web1', 'nixosConfigurations', 'web1'],
      ['web2', 'colmenaHive', 'web2']
    ])
  })

  it('gives one notice per node naming every option it sets that is not honoured', () => {
    const { hosts, notices } = hostsFromFlakeData('.', {
      hive: {
        a: node('a', { notHonoured: ['buildOnTarget', 'keys'] }),
        b: node('b', { notHonoured: ['replaceUnknownProfiles'] }),
        c: node('c')
      }
    })
    expect(notices).toHaveLength(2)
    expect(notices[0]).toMatch(
      /^Host a sets deployment\.buildOnTarget, deployment\.keys, which are not honoured: .*built on the runner.*no key is uploaded/
    )
    expect(notices[1]).toMatch(
      /^Host b sets deployment\.replaceUnknownProfiles, which is not honoured/
    )
    expect(hosts.find(h => h.name === 'c')?.notices).toEqual([])
  })

  it("takes colmena's sshOptions through the flake allow-list (a port is the target's port)", () => {
    const { hosts } = hostsFromFlakeData('.', {
      hive: {
        ok: node('ok', { sshOptions: ['-p', '2200', '-o', 'ConnectTimeout=5'] }),
        bad: node('bad', { sshOptions: ['-o', 'ProxyCommand=sh -c x'] })
      }
    })
    const ok = hosts.find(h => h.name === 'ok')!
    expect(ok.target).toEqual({ user: 'root', host: 'ok', port: 2200 })
    expect(ok.sshOptions).toEqual(['-o', 'ConnectTimeout=5'])
    const bad = hosts.find(h => h.name === 'bad')!
    expect(bad.target).toBeNull()
    expect(bad.targetError?.message).toMatch(
      /^Host bad: colmenaHive\.deploymentConfig\.bad\.sshOptions contains the ssh option/
    )
  })

  it('makes a host of a deploy-rs node with a system profile, and tells about other profiles', () => {
    const deploy: RawDeploy = {
      sshUser: 'ops',
      sshOpts: [],
      nodes: {
        edge: {
          hostname: 'edge.example.net',
          sshUser: null,
          user: null,
          sshOpts: ['-p', '2201'],
          profiles: ['system', 'home'],
          system: 'aarch64-linux'
        },
        desktop: { hostname: 'desk', sshUser: null, user: null, sshOpts: [], profiles: ['home'] }
      }
    }
    const { hosts, notices } = hostsFromFlakeData('.', { deploy })
    expect(hosts.map(h => [h.name, h.source, h.system, h.target])).toEqual([
      ['edge', 'deploy', 'aarch64-linux', { user: 'ops', host: 'edge.example.net', port: 2201 }]
    ])
    expect(notices).toEqual([
      'Host edge: deploy.nodes.edge.profiles.home is not deployed: the suite deploys the system profile only.',
      'deploy.nodes.desktop has no system profile (only profiles.home): it is not a host here, and its profiles are not deployed.'
    ])
  })

  it('fails with one sentence when the flake has no host output at all', () => {
    expect(() => hostsFromFlakeData('.', { hive: null })).toThrow(ActionError)
    expect(() => hostsFromFlakeData('.', {})).toThrow(
      "The flake '.' has no nixosConfigurations output, no colmenaHive output (colmena.lib.makeHive) and no deploy.nodes, so it has no hosts."
    )
  })

  it('refuses an invalid tag from the hive, naming where it is', () => {
    expect(() => hostsFromFlakeData('.', { hive: { x: node('x', { tags: ['a b'] }) } })).toThrow(
      "Host x has an invalid tag in colmenaHive.deploymentConfig.x.tags (letters, digits, '.', '_' and '-' only)."
    )
  })
})

describe('the Nix that reads hives and deploy-rs nodes (real nix)', () => {
  it("reads makeHive's deploymentConfig and nodes, with colmena's defaults", () => {
    const hive = nixEval<Record<string, RawHost>>(`
      let lib = import ${lib};
          h = lib.makeHive {
            meta.description = "t";
            defaults = { deployment.tags = [ "all" ]; };
            web1 = { };
            db1 = { deployment = { targetHost = "10.0.0.5"; targetPort = 2222; targetUser = "deploy";
                                   tags = [ "db" ]; buildOnTarget = true; keys."k" = { text = "s"; };
                                   privilegeEscalationCommand = [ "doas" ]; }; };
          };
      in (${HIVE_APPLY}) h`)
    expect(Object.keys(hive).sort()).toEqual(['db1', 'web1'])
    expect(hive.web1).toEqual({
      hostName: 'web1',
      fqdn: null,
      system: 'x86_64-linux',
      targetHost: 'web1',
      targetUser: 'root',
      targetPort: null,
      tags: ['all'],
      sshOptions: [],
      notHonoured: []
    })
    expect(hive.db1).toMatchObject({
      targetHost: '10.0.0.5',
      targetUser: 'deploy',
      targetPort: 2222,
      tags: ['db'],
      notHonoured: ['buildOnTarget', 'keys', 'privilegeEscalationCommand']
    })
  })

  it('is not fooled by an output that is not an evaluated hive', () => {
    expect(nixEval<null>(`(${HIVE_APPLY}) { web1 = { }; }`)).toBeNull()
  })

  it("finds the toplevel inside deploy-rs's activation in every buildEnv shape", () => {
    const shapes = nixEval<{ wrapped: boolean; toplevel: string }[]>(`
      let lib = import ${lib};
          unwrap = ${UNWRAP_PROFILE};
          t = (lib.mkHost { name = "x"; }).config.system.build.toplevel;
          show = u: { inherit (u) wrapped; toplevel = toString u.toplevel; };
      in map show [
        (unwrap (lib.deployRsActivateNixos (lib.mkHost { name = "x"; })))
        (unwrap { name = "activatable-x"; chosenOutputs = [ { paths = [ t ]; } ]; })
        (unwrap { name = "activatable-x"; pkgs = builtins.toJSON [ { paths = [ t ]; priority = 5; } ]; })
        (unwrap t)
        (unwrap (lib.pkgs.jq // { paths = [ t ]; }))
      ] ++ [ { wrapped = false; toplevel = toString t; } ]`)
    const toplevel = shapes[5].toplevel
    expect(toplevel).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-x-/)
    expect(shapes.slice(0, 3)).toEqual([
      { wrapped: true, toplevel },
      { wrapped: true, toplevel },
      { wrapped: true, toplevel }
    ])
    expect(shapes[3]).toEqual({ wrapped: false, toplevel })
    expect(shapes[4].wrapped).toBe(false)
  })

  it("reads deploy-rs nodes: profile names, and the wrapped system's Nix system when no other output has the node", () => {
    const d = nixEval<RawDeploy>(`
      let lib = import ${lib};
      in (${deployApply(['web1'])}) {
        sshUser = "ops";
        nodes.web1 = { hostname = "w"; profiles.system.path = throw "not evaluated for a known host"; };
        nodes.edge = { hostname = "e"; sshOpts = [ "-p" "2" ];
          profiles.system.path = lib.deployRsActivateNixos (lib.mkHost { name = "edge"; });
          profiles.home.path = lib.pkgs.jq; };
      }`)
    expect(d.sshUser).toBe('ops')
    expect(d.nodes.web1).toMatchObject({ hostname: 'w', profiles: ['system'], system: null })
    expect(d.nodes.edge).toMatchObject({
      hostname: 'e',
      sshOpts: ['-p', '2'],
      profiles: ['home', 'system'],
      // the toplevel's derivation system (the fixture builds every derivation for x86_64-linux)
      system: 'x86_64-linux'
    })
  })
})

describe("where each host's system is (real nix on a fixture flake)", () => {
  it('nixosConfigurations, then the hive; a deploy-rs node from its path when it is the activation wrapper', async () => {
    const repo = makeFlakeRepo({
      'flake.nix': `{
  outputs = { self }:
    let lib = import ./lib; in {
      nixosConfigurations.web1 = lib.mkHost { name = "web1"; };
      nixosConfigurations.web2 = lib.mkHost { name = "web2"; };
      colmenaHive = lib.makeHive { db1 = { deployment.tags = [ "db" ]; }; web2 = { }; };
      deploy.nodes = {
        # deploy-rs's usual form, around another configuration than nixosConfigurations.web1
        web1.profiles.system.path = lib.deployRsActivateNixos (lib.mkHost { name = "web1"; packages = [ lib.pkgs.jq ]; });
        # a plain path under a name nixosConfigurations has: nixosConfigurations wins
        web2.profiles.system.path = lib.pkgs.jq;
        edge = { hostname = "edge.example.net"; profiles.system.path = lib.deployRsActivateNixos (lib.mkHost { name = "edge"; }); };
      };
    };
}
`
    })
    try {
      const logger = new MemoryLogger()
      const hosts = await readInventory(repo.dir, { cwd: repo.dir, logger })
      expect(hosts.map(h => [h.name, h.source])).toEqual([
        ['db1', 'colmenaHive'],
        ['edge', 'deploy'],
        ['web1', 'nixosConfigurations'],
        ['web2', 'nixosConfigurations']
      ])
      const refs = await locateSystems(repo.dir, ['web1', 'web2', 'db1', 'edge', 'nope'], {
        cwd: repo.dir
      })
      expect([...refs.values()]).toEqual([
        {
          host: 'web1',
          source: 'deploy',
          attrPath: 'deploy.nodes.web1.profiles.system.path',
          wrapped: true
        },
        {
          host: 'web2',
          source: 'nixosConfigurations',
          attrPath: 'nixosConfigurations.web2.config.system.build.toplevel',
          wrapped: false
        },
        {
          host: 'db1',
          source: 'colmenaHive',
          attrPath: 'colmenaHive.toplevel.db1',
          wrapped: false
        },
        {
          host: 'edge',
          source: 'deploy',
          attrPath: 'deploy.nodes.edge.profiles.system.path',
          wrapped: true
        }
      ])
      // The same answer from the inventory already read, without listing the flake again.
      const again = await locateSystems(repo.dir, ['web1', 'web2', 'db1', 'edge'], {
        cwd: repo.dir,
        index: indexOfInventory(hosts)
      })
      expect([...again.values()]).toEqual([...refs.values()].filter(r => r.host !== 'nope'))
      const drvs = await evalSystemDrvPaths(repo.dir, ['web1', 'db1'], { cwd: repo.dir, refs })
      expect(drvs.web1).toMatch(/-activatable-nixos-system-web1-.*\.drv$/)
      expect(drvs.db1).toMatch(/-nixos-system-db1-.*\.drv$/)
    } finally {
      repo.remove()
    }
  }, 60_000)
})
