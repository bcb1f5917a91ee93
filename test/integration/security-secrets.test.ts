/**
 * Security (issue 6, part 2): secrets never leak.
 *
 * deploy (with a GitHub environment), dry-activate and build (diff against the deployed system)
 * run with a real ed25519 private key and a token registered on the GitHub API stand-in; so do
 * failing runs whose ssh errors echo what ssh was given. Everything a run leaves behind is then
 * searched for the key's material and the token: stdout (except the `::add-mask::` commands, which
 * the runner consumes: they are how masking works), stderr, outputs, state, the summary,
 * annotations, the post step's output, every file under RUNNER_TEMP, and the comments,
 * deployments and statuses on the stand-in. The key folder is gone after the post step, after a
 * failure and after a cancel (SIGTERM).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { cleanupRun, runAction, type ActionRun } from '../harness/action-runner.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo,
  type SimHost
} from '../harness/fleet.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const T = 240_000
const TOKEN = 'ghs_SecretTokenForTheSecurityTest0123456789'
const PR = 41
const prEvent = {
  name: 'pull_request',
  payload: {
    number: PR,
    pull_request: {
      number: PR,
      head: { repo: { full_name: 'octo/fleet', fork: false } },
      base: { repo: { full_name: 'octo/fleet' } }
    },
    repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
  }
}

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations = {
        web = lib.mkHost { name = "web"; packages = [ pkgs.nginx ]; };
        web2 = lib.mkHost { name = "web"; packages = [ pkgs.nginx pkgs.curl ]; };
      };
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let api: GitHubApi
let h1: SimHost
let h2: SimHost
const sys: Record<string, string> = {}
const runs: ActionRun[] = []

/** The secret strings to look for: the token, the whole key, and each line of its base64 body. */
function needles(): string[] {
  const body = fleet.privateKey
    .split('\n')
    .map(l => l.trim())
    .filter(l => l && !l.startsWith('-----'))
  expect(body.length).toBeGreaterThan(2)
  return [TOKEN, fleet.privateKey.trim(), ...body]
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

/** Everything a run captured, labelled, with the runner's own ::add-mask:: commands left out. */
function captured(run: ActionRun): [string, string][] {
  const visible = (s: string) =>
    s
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
  const parts: [string, string][] = [
    ['stdout', visible(run.stdout)],
    ['stderr', run.stderr],
    ['outputs', JSON.stringify(run.outputs)],
    ['state', JSON.stringify(run.state)],
    ['env', JSON.stringify(run.env)],
    ['summary', run.summary],
    ['annotations', JSON.stringify(run.annotations)],
    ['failure', run.failure ?? '']
  ]
  if (run.post) {
    parts.push(
      ['post stdout', visible(run.post.stdout)],
      ['post stderr', run.post.stderr],
      ['post summary', run.post.summary]
    )
  }
  for (const f of walk(run.runnerTemp))
    parts.push([`file ${path.relative(run.runnerTemp, f)}`, fs.readFileSync(f, 'latin1')])
  return parts
}

function leaks(run: ActionRun, label: string): string[] {
  const found: string[] = []
  for (const [where, text] of captured(run))
    for (const n of needles())
      if (text.includes(n))
        found.push(`${label}: ${where} contains ${n === TOKEN ? 'the token' : 'key material'}`)
  return found
}

/** The SSH folders a run left under RUNNER_TEMP (none, once the post step ran). */
function sshFolders(run: ActionRun): string[] {
  return walk(run.runnerTemp)
    .concat(fs.existsSync(run.runnerTemp) ? [] : [])
    .map(f => path.relative(run.runnerTemp, f))
    .filter(f => /nix-deploy-ssh-/.test(f))
}

function ssh(host: SimHost): Record<string, string> {
  return {
    target: `root@${host.address}`,
    'ssh-private-key': fleet.privateKey,
    'ssh-known-hosts': fleet.knownHosts
  }
}

async function track(p: Promise<ActionRun>): Promise<ActionRun> {
  const run = await p
  runs.push(run)
  return run
}

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  sys.web = await buildToplevel(repo.path, 'web')
  sys.web2 = await buildToplevel(repo.path, 'web2')
  fleet = await startFleet({ hosts: ['h1', 'h2'] })
  h1 = fleet.host('h1')
  h2 = fleet.host('h2')
  await fleet.install(h1, sys.web)
  await fleet.install(h2, sys.web)
  api = await startGitHubApi()
  api.addToken(TOKEN, {
    issues: 'write',
    pull_requests: 'write',
    deployments: 'write',
    contents: 'read'
  })
  api.addPullRequest('octo/fleet', { number: PR })
}, T)

afterAll(async () => {
  for (const r of runs) cleanupRun(r)
  await fleet?.stop()
  await repo?.remove()
  await api?.close()
})

describe('secrets', () => {
  it(
    'deploy, dry-activate and build with a real key and token: neither appears anywhere, and the key folder is gone',
    async () => {
      const common = { workspace: repo.path, token: TOKEN, env: api.env(TOKEN) }
      const dry = await track(
        runAction({
          action: 'dry-activate',
          ...common,
          event: prEvent,
          inputs: { host: 'web', 'store-path': sys.web2, comment: 'true', ...ssh(h1) }
        })
      )
      expect(dry.failure).toBeUndefined()
      const build = await track(
        runAction({
          action: 'build',
          ...common,
          event: prEvent,
          inputs: {
            host: 'web2',
            'diff-against': 'deployed',
            comment: 'true',
            cache: 'false',
            ...ssh(h1)
          }
        })
      )
      expect(build.failure).toBeUndefined()
      expect(build.outputs.changed).toBe('true')
      const deploy = await track(
        runAction({
          action: 'deploy',
          ...common,
          inputs: {
            host: 'web',
            'store-path': sys.web2,
            environment: 'production',
            'health-checks': '- command: "true"',
            ...ssh(h1)
          }
        })
      )
      expect(deploy.failure).toBeUndefined()
      expect(deploy.outputs.status).toBe('deployed')

      // The comment and the deployment were written with the token.
      expect(api.comments('octo/fleet', PR)).toHaveLength(1)
      expect(api.deployments('octo/fleet')).toHaveLength(1)

      const found: string[] = []
      for (const [label, run] of [
        ['dry-activate', dry],
        ['build', build],
        ['deploy', deploy]
      ] as const) {
        found.push(...leaks(run, label))
        // The secrets were registered for masking: the runner hides them in its own log.
        expect(run.masks).toContain(TOKEN)
        expect(run.masks.some(m => m.includes(needles()[2]))).toBe(true)
        expect(sshFolders(run)).toEqual([])
      }
      const stored = JSON.stringify({
        comments: api.comments('octo/fleet', PR),
        deployments: api.deployments('octo/fleet'),
        statuses: api.deployments('octo/fleet').map(d => api.statuses('octo/fleet', d.id))
      })
      for (const n of needles())
        if (stored.includes(n)) found.push('the GitHub stand-in holds a secret')
      expect(found).toEqual([])
    },
    T
  )

  it(
    'failing runs (host down, host key mismatch, a bad key) echo no secret, and leave no key folder',
    async () => {
      const other = fleet.knownHosts
        .split('\n')
        .filter(l => l.startsWith(`${h1.address} `))
        .map(l => l.replace(h1.address, h2.address))
        .join('\n')
      const common = { workspace: repo.path, token: TOKEN, env: api.env(TOKEN) }
      const wrongKey = await track(
        runAction({
          action: 'deploy',
          ...common,
          inputs: {
            host: 'web',
            'store-path': sys.web2,
            'health-checks': '',
            ...ssh(h2),
            'ssh-known-hosts': other
          }
        })
      )
      expect(wrongKey.failure).toMatch(/host key/)
      // A key that is not a private key: the error names the input, not the value.
      const notAKey = await track(
        runAction({
          action: 'dry-activate',
          ...common,
          inputs: {
            host: 'web',
            'store-path': sys.web2,
            ...ssh(h2),
            'ssh-private-key': `${TOKEN}\nnot a key at all ${TOKEN}`
          }
        })
      )
      expect(notAKey.failure).toMatch(/Input 'ssh-private-key' is not a private key/)
      await h2.stopSsh()
      let down: ActionRun
      try {
        down = await track(
          runAction({
            action: 'rollback',
            ...common,
            inputs: { host: 'web', 'health-checks': '', ...ssh(h2) }
          })
        )
      } finally {
        await h2.startSsh()
      }
      expect(down.failure).toMatch(/could not connect: connection refused/)
      const found: string[] = []
      for (const [label, run] of [
        ['deploy (host key)', wrongKey],
        ['dry-activate (bad key)', notAKey],
        ['rollback (host down)', down]
      ] as const) {
        expect(run.exitCode).toBe(1)
        found.push(...leaks(run, label))
        expect(sshFolders(run)).toEqual([])
        expect(run.post?.exitCode).toBe(0)
      }
      expect(found).toEqual([])
    },
    T
  )

  it(
    'a cancelled deploy (SIGTERM mid-run) removes the key folder: at once in main, and again in the post step',
    async () => {
      const common = { workspace: repo.path, token: TOKEN, env: api.env(TOKEN) }
      const inputs = {
        host: 'web',
        'store-path': sys.web2,
        'health-checks': '- command: sleep 5',
        'health-timeout': '30',
        'confirm-timeout': '6',
        ...ssh(h2)
      }
      // Without the post step: main itself removes the folder when the runner cancels it.
      const cancelled = await track(
        runAction({
          action: 'deploy',
          ...common,
          inputs,
          post: false,
          interrupt: { signal: 'SIGTERM', when: l => l.includes('web: verify') }
        })
      )
      expect(cancelled.signal === 'SIGTERM' || cancelled.exitCode !== 0).toBe(true)
      expect(cancelled.state['ssh-dir']).toMatch(/nix-deploy-ssh-/)
      expect(fs.existsSync(cancelled.state['ssh-dir'])).toBe(false)
      expect(leaks(cancelled, 'cancelled deploy')).toEqual([])
      // The host's watchdog returns it to the previous system; wait for that before the next run.
      const deadline = Date.now() + 60_000
      while ((await h2.currentSystem()) !== sys.web && Date.now() < deadline)
        await new Promise(r => setTimeout(r, 500))
      expect(await h2.currentSystem()).toBe(sys.web)

      // With the post step (GitHub runs post steps after a cancelled main): the folder is gone.
      const again = await track(
        runAction({
          action: 'deploy',
          ...common,
          inputs,
          interrupt: {
            signal: 'SIGTERM',
            when: l => l.includes('web: copy') || l.includes('web: verify')
          }
        })
      )
      expect(again.exitCode).not.toBe(0)
      expect(again.post?.exitCode).toBe(0)
      expect(fs.existsSync(again.state['ssh-dir'])).toBe(false)
      expect(sshFolders(again)).toEqual([])
      expect(leaks(again, 'cancelled deploy with post')).toEqual([])
    },
    T
  )
})
