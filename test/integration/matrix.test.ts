/**
 * The matrix bundle on a fixture fleet of 24 hosts with tags, deploy-rs nodes and colmena
 * options, evaluated by the real nix; `changed-since` across real commits.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runAction } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi } from '../harness/github-api.js'

/** A flake with `count` hosts: web-NN tagged @web (even ones also @prod), db-NN tagged @db. */
function fleetFlake(opts: { webVersion?: string; extra?: string } = {}): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      web = n: lib.mkHost {
        name = "web-\${n}";
        packages = [ (lib.mkPackage { pname = "site"; version = "${opts.webVersion ?? '1.0'}"; }) ];
        deployment = { tags = [ "web" ] ++ (if builtins.elem n [ "02" "04" "06" "08" "10" "12" ] then [ "prod" ] else [ ]); };
      };
      db = n: lib.mkHost { name = "db-\${n}"; deployment = { tags = [ "db" ]; targetHost = "10.0.1.1\${n}"; targetUser = "deploy"; targetPort = 2222; }; };
      names = f: ns: builtins.listToAttrs (map (n: { name = (f n).config.networking.hostName; value = f n; }) ns);
    in {
      nixosConfigurations =
        names web [ "01" "02" "03" "04" "05" "06" "07" "08" "09" "10" "11" "12" ]
        // names db [ "01" "02" "03" "04" "05" "06" "07" "08" "09" "10" ]
        // { gateway = lib.mkHost { name = "gateway"; domain = "example.org"; }; edge = lib.mkHost { name = "edge"; }; };
      deploy.nodes.edge = { hostname = "edge.example.net"; sshUser = "ops"; sshOpts = [ "-p" "2200" ]; };
      ${opts.extra ?? ''}
    };
}
`
}

let repo: FlakeRepo
let base: string

beforeAll(() => {
  repo = makeFlakeRepo({ 'flake.nix': fleetFlake() })
  base = repo.head()
})
afterAll(() => repo?.remove())

const matrixOf = (run: { outputs: Record<string, string> }) =>
  JSON.parse(run.outputs.matrix) as { include: Record<string, unknown>[] }

describe('matrix action', () => {
  it('lists every host with system, target and tags', async () => {
    const run = await runAction({ action: 'matrix', workspace: repo.dir })
    expect(run.failure).toBeUndefined()
    expect(run.exitCode).toBe(0)
    expect(run.outputs.count).toBe('24')
    const include = matrixOf(run).include
    expect(include).toHaveLength(24)
    const byHost = Object.fromEntries(include.map(e => [e.host, e]))
    expect(byHost['web-02']).toEqual({
      host: 'web-02',
      system: 'x86_64-linux',
      target: 'root@web-02',
      tags: ['web', 'prod']
    })
    // colmena's deployment.* options, then networking.fqdn, then deploy-rs's deploy.nodes (first wins).
    expect(byHost['db-03'].target).toBe('deploy@10.0.1.103:2222')
    expect(byHost['gateway'].target).toBe('root@gateway.example.org')
    expect(byHost['edge'].target).toBe('ops@edge.example.net:2200')
    expect(JSON.parse(run.outputs.hosts)).toEqual(include.map(e => e.host))
    expect(JSON.parse(run.outputs.skipped)).toEqual([])
    expect(run.summary).toContain('24 hosts to build')
  })

  it('selects by name, glob and tag', async () => {
    const run = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { on: '@prod, db-0[1]*, gateway' }
    })
    // `[` is not part of colmena's syntax: the selector is refused with the input named.
    expect(run.exitCode).toBe(1)
    expect(run.failure).toMatch(/Input 'on'/)
    const ok = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { on: '@prod db-1* gateway' }
    })
    expect(ok.exitCode).toBe(0)
    expect(JSON.parse(ok.outputs.hosts).sort()).toEqual(
      ['web-02', 'web-04', 'web-06', 'web-08', 'web-10', 'web-12', 'db-10', 'gateway'].sort()
    )
  })

  it('an unknown host in on fails with one line naming it', async () => {
    const run = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { on: 'web-01,web-99' }
    })
    expect(run.exitCode).toBe(1)
    expect(run.failure).toMatch(/web-99/)
    expect(run.failure).toMatch(/Input 'on'/)
    expect(run.failure!.includes('\n')).toBe(false)
  })

  it('leaves out hosts whose toplevel did not change since a revision', async () => {
    // Change only web hosts' site version and add one new host.
    const r2 = makeFlakeRepo({ 'flake.nix': fleetFlake() })
    try {
      const before = r2.head()
      r2.commit({ 'flake.nix': fleetFlake({ webVersion: '1.1', extra: '' }) }, 'bump site')
      const run = await runAction({
        action: 'matrix',
        workspace: r2.dir,
        inputs: { 'changed-since': before, on: '@web, db-01, gateway' }
      })
      expect(run.failure).toBeUndefined()
      const hosts = JSON.parse(run.outputs.hosts) as string[]
      expect(hosts).toHaveLength(12)
      expect(hosts.every(h => h.startsWith('web-'))).toBe(true)
      expect(JSON.parse(run.outputs.skipped).sort()).toEqual(['db-01', 'gateway'])
      // Both evaluations (now and at the revision) are single nix processes, not one per host.
      const evals = run.stdout
        .split('\n')
        .filter(l => /^::debug::\$ nix .*\beval --json\b/.test(l) && l.includes('drvPath'))
      expect(evals).toHaveLength(2)
    } finally {
      r2.remove()
    }
  })

  it('packs hosts into shards when max-jobs is smaller than the fleet', async () => {
    const run = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { 'max-jobs': '5' }
    })
    expect(run.exitCode).toBe(0)
    const include = matrixOf(run).include as { shard: number; hosts: string[] }[]
    expect(include).toHaveLength(5)
    expect(include.map(s => s.shard)).toEqual([1, 2, 3, 4, 5])
    const all = include.flatMap(s => s.hosts)
    expect(all).toHaveLength(24)
    expect(new Set(all).size).toBe(24)
    const sizes = include.map(s => s.hosts.length)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    expect(run.outputs.count).toBe('24')
  })

  it('refuses max-jobs: 0 and a revision that does not exist', async () => {
    const zero = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { 'max-jobs': '0' }
    })
    expect(zero.exitCode).toBe(1)
    expect(zero.failure).toMatch(/Input 'max-jobs'/)
    const rev = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { 'changed-since': 'no-such-branch' }
    })
    expect(rev.exitCode).toBe(1)
    expect(rev.failure).toMatch(/Input 'changed-since'.*no-such-branch/)
    expect(base).toMatch(/^[0-9a-f]{40}$/)
  })

  it('changed-since without a base (all zeros: a new branch; a commit gone after a force-push): every host, with a notice', async () => {
    for (const [rev, says] of [
      ['0'.repeat(40), /all-zeros revision/],
      ['d'.repeat(40), /commit dddddddddddd is not in this repository/]
    ] as const) {
      const run = await runAction({
        action: 'matrix',
        workspace: repo.dir,
        inputs: { 'changed-since': rev, on: '@db' }
      })
      expect(run.failure).toBeUndefined()
      expect(run.exitCode).toBe(0)
      expect(JSON.parse(run.outputs.hosts)).toHaveLength(10)
      expect(JSON.parse(run.outputs.skipped)).toEqual([])
      expect(run.annotations.filter(a => a.level === 'notice').map(a => a.message)).toEqual([
        expect.stringMatching(says)
      ])
    }
    // A name that does not resolve is still a mistake, not a missing base.
    const typo = await runAction({
      action: 'matrix',
      workspace: repo.dir,
      inputs: { 'changed-since': 'origin/mian' }
    })
    expect(typo.failure).toMatch(/Input 'changed-since'.*origin\/mian/)
  })

  it('an unchanged host whose last deploy failed stays in the matrix (environment: its deployment records)', async () => {
    const api = await startGitHubApi()
    try {
      api.addToken('t', { contents: 'read', deployments: 'write' })
      api.addToken('no-deploy-read', { contents: 'read' })
      const record = async (host: string, states: string[]) => {
        const post = (url: string, body: object) =>
          fetch(`${api.url}${url}`, {
            method: 'POST',
            headers: { authorization: 'token t', 'content-type': 'application/json' },
            body: JSON.stringify(body)
          }).then(r => r.json() as Promise<{ id: number }>)
        const d = await post('/repos/octo/fleet/deployments', {
          ref: 'main',
          environment: 'production',
          task: `deploy:${host}`,
          required_contexts: []
        })
        for (const state of states)
          await post(`/repos/octo/fleet/deployments/${d.id}/statuses`, {
            state,
            auto_inactive: false
          })
      }
      await record('db-01', ['in_progress', 'success'])
      await record('db-01', ['in_progress', 'failure']) // the newest record of db-01 failed
      await record('db-02', ['in_progress', 'failure'])
      await record('db-02', ['in_progress', 'success']) // failed once, then deployed
      await record('db-03', ['in_progress']) // a deploy that never finished
      const r2 = makeFlakeRepo({ 'flake.nix': fleetFlake() })
      try {
        const before = r2.head()
        r2.commit({ 'flake.nix': fleetFlake({ webVersion: '1.1', extra: '' }) }, 'bump site')
        const run = await runAction({
          action: 'matrix',
          workspace: r2.dir,
          env: api.env('t'),
          inputs: {
            'changed-since': before,
            on: '@db',
            environment: 'production',
            'github-token': 't'
          }
        })
        expect(run.failure).toBeUndefined()
        expect(JSON.parse(run.outputs.hosts)).toEqual(['db-01', 'db-03'])
        expect(JSON.parse(run.outputs.skipped)).toHaveLength(8)
        expect(run.summary).toContain('its last deploy to production ended in failure')
        expect(api.violations).toEqual([])
        // A token that cannot read the records: a notice, and unchanged hosts are skipped as before.
        const blind = await runAction({
          action: 'matrix',
          workspace: r2.dir,
          env: api.env('no-deploy-read'),
          inputs: {
            'changed-since': before,
            on: '@db',
            environment: 'production',
            'github-token': 'no-deploy-read'
          }
        })
        expect(blind.exitCode).toBe(0)
        expect(JSON.parse(blind.outputs.hosts)).toEqual([])
        expect(
          blind.annotations.some(a => a.level === 'notice' && /deployments: read/.test(a.message))
        ).toBe(true)
      } finally {
        r2.remove()
      }
    } finally {
      await api.close()
    }
  }, 120_000)
})
