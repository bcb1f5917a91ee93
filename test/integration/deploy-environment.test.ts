/**
 * `environment`: the deploy records a GitHub deployment per host with statuses (in_progress, then
 * success or failure linking the run), through the GitHub API stand-in. A token that may not
 * write deployments gives a warning, never a failed deploy.
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
  api.addToken('deploy-token', { deployments: 'write', contents: 'read' })
  api.addToken('read-token', { deployments: 'read', contents: 'read' })
}, T)
afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
  await api?.close()
})

function deploy(storePath: string, token: string) {
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
      environment: 'production'
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
      expect(deployments[0]).toMatchObject({ environment: 'production', task: 'deploy' })
      expect(deployments[0].payload).toMatchObject({ host: 'web', storePath: sys.b })
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
})
