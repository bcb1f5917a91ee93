/**
 * `environment`: the deploy records a GitHub deployment per host with statuses (in_progress, then
 * success or failure linking the run), through the GitHub API stand-in. A token that may not
 * write deployments gives a warning, never a failed deploy. Approval on record: the summary and
 * the records name who approved the run; an environment without required reviewers warns, and
 * `require-reviewers: true` refuses it. Statuses never hide other records (auto_inactive: false).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runAction } from '../harness/action-runner.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo
} from '../harness/fleet.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const T = 180_000
const FLAKE = `{
  outputs = { self }:
    let lib = import ./lib; in {
      nixosConfigurations = {
        a = lib.mkHost { name = "web"; };
        b = lib.mkHost { name = "web"; packages = [ lib.pkgs.htop ]; };
        bad = lib.mkHost { name = "web"; health = { mode = "failing"; }; };
      };
    };
}
`
let fleet: Fleet
let repo: FlakeRepo
let api: GitHubApi
const sys: Record<string, string> = {}

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  for (const n of ['a', 'b', 'bad']) sys[n] = await buildToplevel(repo.path, n)
  fleet = await startFleet({ hosts: ['web'] })
  await fleet.install('web', sys.a)
  api = await startGitHubApi()
  api.addToken('deploy-token', { deployments: 'write', contents: 'read', actions: 'read' })
  api.addEnvironment('octo/fleet', 'production', { reviewers: ['alice', 'bob'] })
  api.addEnvironment('octo/fleet', 'staging', { waitTimer: 5 })
  // The runner harness runs every step as run 4242: alice approved it for production.
  api.addRunApproval('octo/fleet', 4242, {
    environments: ['production'],
    state: 'approved',
    login: 'alice',
    comment: 'ship it'
  })
  api.addToken('read-token', { deployments: 'read', contents: 'read' })
}, T)
afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
  await api?.close()
})

function deploy(storePath: string, token: string, extra: Record<string, string> = {}) {
  const h = fleet.host('web')
  return runAction({
    action: 'deploy',
    workspace: repo.path,
    token,
    env: api.env(token),
    inputs: {
      host: 'web',
      target: `root@${h.address}`,
      'store-path': storePath,
      'ssh-private-key': fleet.privateKey,
      'ssh-known-hosts': fleet.knownHosts,
      'health-checks': '- http: http://{target}:8080/health',
      'health-timeout': '5',
      environment: 'production',
      ...extra
    }
  })
}

describe('deploy with environment', () => {
  it(
    'records a deployment with in_progress then success, linking the run',
    async () => {
      const run = await deploy(sys.b, 'deploy-token')
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('deployed')
      const deployments = api.deployments('octo/fleet')
      expect(deployments).toHaveLength(1)
      expect(deployments[0]).toMatchObject({ environment: 'production', task: 'deploy:web' })
      expect(deployments[0].payload).toMatchObject({
        host: 'web',
        storePath: sys.b,
        approvedBy: 'alice',
        run: 'https://github.com/octo/fleet/actions/runs/4242'
      })
      const progress = api
        .statuses('octo/fleet', deployments[0].id)
        .find(s => s.state === 'in_progress')
      expect(progress?.description).toBe('Deploying web, approved by alice')
      expect(progress?.log_url).toBe('https://github.com/octo/fleet/actions/runs/4242')
      expect(run.summary).toContain(
        '**Approved by** @alice (“ship it”) for environment `production`.'
      )
      expect(run.annotations.filter(a => a.level === 'warning')).toEqual([])
      const states = api.statuses('octo/fleet', deployments[0].id).map(s => s.state)
      expect(states.sort()).toEqual(['in_progress', 'success'])
      const success = api.statuses('octo/fleet', deployments[0].id).find(s => s.state === 'success')
      expect(success?.log_url).toBe('https://github.com/octo/fleet/actions/runs/4242')
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'a rolled-back deploy ends with a failure status',
    async () => {
      const run = await deploy(sys.bad, 'deploy-token')
      expect(run.outputs.status).toBe('rolled-back')
      const last = api
        .deployments('octo/fleet')
        .find(d => (d.payload as { storePath?: string }).storePath === sys.bad)
      expect(last).toBeDefined()
      const states = api.statuses('octo/fleet', last!.id).map(s => s.state)
      expect(states).toContain('failure')
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'a token without deployments: write gives a warning, and the deploy still happens',
    async () => {
      await fleet.install('web', sys.a)
      const run = await deploy(sys.b, 'read-token')
      expect(run.exitCode).toBe(0)
      expect(run.outputs.status).toBe('deployed')
      expect(
        run.annotations.some(a => a.level === 'warning' && /deployments: write/.test(a.message))
      ).toBe(true)
      expect(await fleet.host('web').currentSystem()).toBe(sys.b)
    },
    T
  )

  it(
    'statuses keep the other records: no earlier success in a non-production environment turns inactive',
    async () => {
      await fleet.install('web', sys.a)
      // The job's own deployment (GitHub makes one for `environment:`) and another host's record,
      // both successful in the non-production environment `staging`.
      const earlier: number[] = []
      for (const task of ['deploy', 'deploy:db']) {
        const res = await fetch(`${api.url}/repos/octo/fleet/deployments`, {
          method: 'POST',
          headers: { authorization: 'token deploy-token', 'content-type': 'application/json' },
          body: JSON.stringify({ ref: 'main', environment: 'staging', task, required_contexts: [] })
        })
        const id = ((await res.json()) as { id: number }).id
        await fetch(`${api.url}/repos/octo/fleet/deployments/${id}/statuses`, {
          method: 'POST',
          headers: { authorization: 'token deploy-token', 'content-type': 'application/json' },
          body: JSON.stringify({ state: 'success', auto_inactive: false })
        })
        earlier.push(id)
      }
      const run = await deploy(sys.b, 'deploy-token', { environment: 'staging' })
      expect(run.outputs.status).toBe('deployed')
      for (const id of earlier)
        expect(api.statuses('octo/fleet', id).map(s => s.state)).toEqual(['success'])
      const mine = api
        .deployments('octo/fleet')
        .filter(d => d.environment === 'staging' && d.task === 'deploy:web')
      expect(mine).toHaveLength(1)
      expect(
        api
          .statuses('octo/fleet', mine[0].id)
          .map(s => s.state)
          .sort()
      ).toEqual(['in_progress', 'success'])
      // staging has a wait timer but no required reviewers: a warning, and no approver on record.
      expect(
        run.annotations.some(
          a =>
            a.level === 'warning' &&
            /Environment 'staging' has no required reviewers/.test(a.message)
        )
      ).toBe(true)
      expect(run.summary).toContain(
        '**Approval:** none: environment `staging` has no required reviewers.'
      )
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'require-reviewers: true refuses an environment without required reviewers before touching the host',
    async () => {
      await fleet.install('web', sys.a)
      const before = api.deployments('octo/fleet').length
      const run = await deploy(sys.b, 'deploy-token', {
        environment: 'staging',
        'require-reviewers': 'true'
      })
      expect(run.exitCode).not.toBe(0)
      expect(run.failure).toBe(
        "Refusing to deploy: environment 'staging' has no required reviewers, and require-reviewers is true (add them under Settings → Environments → staging)."
      )
      expect(await fleet.host('web').currentSystem()).toBe(sys.a)
      expect(api.deployments('octo/fleet')).toHaveLength(before)
      // With reviewers it deploys.
      const ok = await deploy(sys.b, 'deploy-token', { 'require-reviewers': 'true' })
      expect(ok.outputs.status).toBe('deployed')
      // A token that cannot read the rules: refused too, saying why.
      api.addToken('no-actions', { deployments: 'write', contents: 'read' })
      const blind = await deploy(sys.a, 'no-actions', { 'require-reviewers': 'true' })
      expect(blind.failure).toBe(
        "Refusing to deploy: the protection rules of environment 'production' could not be read, and require-reviewers is true (the token needs actions: read)."
      )
      expect(await fleet.host('web').currentSystem()).toBe(sys.b)
    },
    T
  )
})
