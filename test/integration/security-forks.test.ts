/**
 * Security (issue 6, part 5): pull requests from forks, and event payloads that are not what an
 * action expects.
 *
 * A fork's pull request gets a read-only token and no secrets. check, matrix, build and diff still
 * do their work and report it in the job summary (a comment that the token cannot write is a
 * warning, not a failure); deploy, dry-activate and rollback refuse to start and say why. An event
 * payload without a pull request, or one that is not JSON at all, never crashes an action.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanupRun, runAction, type ActionRun } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const T = 180_000
const READ_ONLY = 'ghs_forkreadonlytoken000000000000001'
const PR = 7

function flake(next: boolean): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations.web1 = lib.mkHost { name = "web1"; packages = ${next ? '[ pkgs.nginx pkgs.htop ]' : '[ pkgs.nginx ]'}; };
    };
}
`
}

/** A pull request from a fork, as GitHub sends it: the head repository is another one. */
function forkEvent(name = 'pull_request') {
  return {
    name,
    payload: {
      number: PR,
      pull_request: {
        number: PR,
        head: { ref: 'patch-1', repo: { full_name: 'mallory/fleet', fork: true } },
        base: { ref: 'main', repo: { full_name: 'octo/fleet' } }
      },
      repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
    }
  }
}

let repo: FlakeRepo
let base: string
let api: GitHubApi
const runs: ActionRun[] = []

beforeAll(async () => {
  repo = makeFlakeRepo({ 'flake.nix': flake(false) })
  base = repo.head()
  repo.commit({ 'flake.nix': flake(true) }, 'add htop')
  api = await startGitHubApi()
  api.addToken(READ_ONLY, { contents: 'read', pull_requests: 'read', issues: 'read' })
  api.addPullRequest('octo/fleet', { number: PR })
}, T)

afterAll(async () => {
  for (const r of runs) cleanupRun(r)
  repo?.remove()
  await api?.close()
})

async function forkRun(
  action: string,
  inputs: Record<string, string>,
  event: { name: string; payload: Record<string, unknown> } = forkEvent()
): Promise<ActionRun> {
  const run = await runAction({
    action,
    workspace: repo.dir,
    inputs,
    event,
    token: READ_ONLY,
    env: api.env(READ_ONLY)
  })
  runs.push(run)
  return run
}

describe("a fork's pull request (read-only token, no secrets)", () => {
  it(
    'check, matrix, build and diff do their work and report in the summary',
    async () => {
      const check = await forkRun('check', { 'lock-max-age-days': '0' })
      expect(check.failure).toBeUndefined()
      expect(check.outputs.result).toBe('passed')
      expect(check.summary).not.toBe('')

      const matrix = await forkRun('matrix', {})
      expect(matrix.failure).toBeUndefined()
      expect(JSON.parse(matrix.outputs.hosts)).toEqual(['web1'])
      expect(matrix.summary).toContain('web1')

      // comment: true with a token that cannot write: a warning; the diff is in the summary.
      const build = await forkRun('build', {
        host: 'web1',
        'diff-against': base,
        comment: 'true',
        cache: 'false'
      })
      expect(build.exitCode).toBe(0)
      expect(build.failure).toBeUndefined()
      expect(build.outputs.changed).toBe('true')
      expect(build.summary).toContain('htop')
      expect(api.comments('octo/fleet', PR)).toEqual([])
      const buildWarnings = build.annotations.filter(a => a.level === 'warning').map(a => a.message)
      expect(buildWarnings.join('\n')).toMatch(/comment/i)

      const diff = await forkRun('diff', {
        before: base,
        after: 'HEAD',
        host: 'web1',
        comment: 'true'
      })
      expect(diff.exitCode).toBe(0)
      expect(diff.outputs.changed).toBe('true')
      expect(diff.summary).toContain('htop')
      expect(api.comments('octo/fleet', PR)).toEqual([])
    },
    T
  )

  it(
    'deploy, dry-activate and rollback refuse to start and say why (pull_request and pull_request_target)',
    async () => {
      const ssh = {
        target: 'root@127.0.0.1',
        'ssh-known-hosts':
          '127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
      }
      for (const event of [forkEvent('pull_request'), forkEvent('pull_request_target')]) {
        for (const [action, inputs] of [
          ['deploy', { host: 'web1', ...ssh }],
          ['.', { host: 'web1', ...ssh }],
          ['dry-activate', { host: 'web1', ...ssh }],
          ['rollback', { host: 'web1', ...ssh }]
        ] as const) {
          const run = await forkRun(action, inputs, event)
          expect(run.exitCode).toBe(1)
          expect(run.failure).toMatch(/fork/)
          expect(run.failure).toMatch(/secret|does not run|refuses/)
          expect(run.failure).not.toContain('\n')
          // Refused before anything else: no build, no SSH folder.
          expect(run.stdout).not.toMatch(/nix-deploy-ssh-/)
          expect(run.state['ssh-dir']).toBeUndefined()
        }
      }
    },
    T
  )
})

describe('which pull requests come from a fork (issue 11, item 1)', () => {
  // A repository that is itself a fork: GitHub marks its own repository `fork: true`, so a pull
  // request between two of its branches has `head.repo.fork: true` and gets the secrets.
  function pullRequest(head: unknown, name = 'pull_request') {
    return {
      name,
      payload: {
        number: PR,
        pull_request: {
          number: PR,
          head: { ref: 'patch-1', repo: head },
          base: { ref: 'main', repo: { full_name: 'octo/fleet', fork: true } }
        },
        repository: { name: 'fleet', full_name: 'octo/fleet', fork: true, owner: { login: 'octo' } }
      }
    }
  }
  it(
    'a same-repository pull request in a forked repository runs; a deleted fork is still refused',
    async () => {
      for (const action of ['deploy', 'dry-activate', 'rollback']) {
        const inputs: Record<string, string> =
          action === 'rollback'
            ? { host: 'web1', 'health-timeout': 'soon' }
            : { host: 'web1', 'store-path': 'not-a-path' }
        const same = await forkRun(
          action,
          inputs,
          pullRequest({ full_name: 'Octo/Fleet', fork: true })
        )
        // Not refused as a fork: it gets as far as reading its inputs.
        expect(same.failure).toBeDefined()
        expect(same.failure).not.toMatch(/fork/)
        expect(same.failure).toMatch(/^Input '[a-z-]+'/)
        // The head repository is gone (GitHub sends null once the fork is deleted): refused.
        for (const name of ['pull_request', 'pull_request_target']) {
          const gone = await forkRun(action, inputs, pullRequest(null, name))
          expect(gone.exitCode).toBe(1)
          expect(gone.failure).toMatch(/from a fork/)
        }
      }
    },
    T
  )
})

describe('event payloads an action does not expect', () => {
  it(
    'a pull_request event without a pull request: a notice, no crash',
    async () => {
      {
        const cases: {
          event?: { name: string; payload: Record<string, unknown> }
          env?: Record<string, string>
        }[] = [
          { event: { name: 'pull_request', payload: { repository: { full_name: 'octo/fleet' } } } },
          { event: { name: 'pull_request', payload: { pull_request: null, number: 'seven' } } }
        ]
        for (const c of cases) {
          const build = await runAction({
            action: 'build',
            workspace: repo.dir,
            inputs: { host: 'web1', 'diff-against': base, comment: 'true', cache: 'false' },
            event: c.event,
            token: READ_ONLY,
            env: { ...api.env(READ_ONLY), ...(c.env ?? {}) }
          })
          runs.push(build)
          expect(build.failure).toBeUndefined()
          expect(build.exitCode).toBe(0)
          expect(build.stdout + build.stderr).not.toMatch(/\n\s+at .*:\d+:\d+|internal error/i)
          expect(build.annotations.map(a => a.message).join('\n')).toMatch(
            /no pull request|not.*pull request/i
          )
          // deploy reads the payload to refuse forks: a broken one is not a fork, and no crash.
          const deploy = await runAction({
            action: 'deploy',
            workspace: repo.dir,
            inputs: { host: 'web1', 'store-path': 'not-a-path' },
            event: c.event,
            env: c.env
          })
          runs.push(deploy)
          expect(deploy.exitCode).toBe(1)
          expect(deploy.failure).toMatch(/^Input '[a-z-]+'/)
        }
      }
    },
    T
  )

  // @actions/github parses GITHUB_EVENT_PATH when it is first imported: the suite loads it lazily
  // (src/actions/octokit.ts), so a broken event file cannot crash an action at load time.
  it(
    'an event file that is not JSON: the action still runs (or fails with one sentence)',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nda-event-'))
      const garbage = path.join(dir, 'event.json')
      fs.writeFileSync(garbage, '{"pull_request": {"number": 7,')
      try {
        const run = await runAction({
          action: 'check',
          workspace: repo.dir,
          inputs: { 'lock-max-age-days': '0' },
          env: { GITHUB_EVENT_PATH: garbage }
        })
        runs.push(run)
        expect(run.stderr).not.toMatch(/SyntaxError|\n\s+at .*:\d+:\d+/)
        expect(run.exitCode === 0 || Boolean(run.failure)).toBe(true)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    T
  )
})
