/**
 * The update bundle with real nix and real git: a fleet flake whose input `pins` is another local
 * flake (a git repository whose revision the test advances), a bare repository as `origin`, and
 * the GitHub API stand-in checking pull requests against the branches of that bare repository.
 * First run: one pull request with web1's closure diff (db1 does not use the input). Second run
 * with nothing new: no commit, no push, no second pull request. After another bump: the same pull
 * request, its branch replaced by one new commit on top of main.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { nodeBinary, repoRoot, runAction, type ActionRun } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'
import { nixEnv } from '../harness/nix-env.js'

const T = 300_000
const BRANCH = 'nix-deploy/flake-update'
const TOKEN = 'update-token'

function pinsFlake(version: string): string {
  return `{ outputs = { self }: { appVersion = "${version}"; }; }\n`
}

function fleetFlake(pinsDir: string): string {
  return `{
  inputs.pins.url = "git+file://${pinsDir}";
  outputs = { self, pins }:
    let lib = import ./lib; in {
      nixosConfigurations = {
        web1 = lib.mkHost {
          name = "web1";
          packages = [ (lib.mkPackage { pname = "app"; version = pins.appVersion; }) ];
        };
        db1 = lib.mkHost { name = "db1"; };
      };
    };
}
`
}

let pins: FlakeRepo
let fleet: FlakeRepo
let origin: string
let api: GitHubApi
const made: string[] = []

function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim()
}

/** A fresh checkout of main, as actions/checkout leaves it: the lock as committed. */
function resetCheckout(): void {
  git(fleet.dir, ['checkout', '--', 'flake.lock'])
}

async function update(inputs: Record<string, string> = {}): Promise<ActionRun> {
  const r = await runAction({
    action: 'update',
    workspace: fleet.dir,
    token: TOKEN,
    inputs: { labels: 'dependencies, nix', ...inputs },
    env: api.env(TOKEN)
  })
  made.push(r.runnerTemp)
  return r
}

beforeAll(async () => {
  api = await startGitHubApi()
  pins = makeFlakeRepo({ 'flake.nix': pinsFlake('1.0') }, { withLib: false, prefix: 'pins-' })
  fleet = makeFlakeRepo({ 'flake.nix': fleetFlake(pins.dir) }, { prefix: 'fleet-' })
  execFileSync('nix', ['flake', 'lock'], { cwd: fleet.dir, env: nixEnv(), stdio: 'ignore' })
  fleet.commit({}, 'lock')
  origin = fs.mkdtempSync(path.join(os.tmpdir(), 'origin-'))
  execFileSync('git', ['clone', '--quiet', '--bare', fleet.dir, origin])
  git(fleet.dir, ['remote', 'add', 'origin', origin])
  api.addRepo('octo/fleet', { git: origin })
  api.addToken(TOKEN, { pull_requests: 'write', issues: 'write', contents: 'write' })
}, T)

afterAll(async () => {
  await api?.close()
  for (const d of [pins?.dir, fleet?.dir, origin, ...made])
    if (d) fs.rmSync(d, { recursive: true, force: true })
})

describe('update action', () => {
  it(
    'refuses an input the flake does not have, before evaluating anything',
    async () => {
      const r = await update({ inputs: 'pins, nope' })
      expect(r.failure).toBe("Input 'inputs': the flake has no input 'nope'; its inputs are pins.")
      expect(r.outputs).toEqual({})
      expect(git(fleet.dir, ['status', '--porcelain'])).toBe('')
    },
    T
  )

  it(
    'opens one pull request with the input that moved and the closure diff of the host it changes',
    async () => {
      const nothing = await update()
      expect(nothing.failure).toBeUndefined()
      expect(nothing.outputs).toMatchObject({
        changed: 'false',
        'pull-request-number': '',
        'inputs-changed': '[]',
        'pull-request-operation': 'none'
      })
      expect(git(origin, ['branch', '--list', BRANCH])).toBe('')
      expect(api.pullRequests('octo/fleet')).toHaveLength(0)

      const oldRev = pins.head()
      const newRev = pins.commit({ 'flake.nix': pinsFlake('1.1') }, 'app 1.1')
      const r = await update()
      expect(r.failure).toBeUndefined()
      expect(r.outputs).toMatchObject({
        changed: 'true',
        'inputs-changed': '["pins"]',
        'pull-request-operation': 'created'
      })
      const prs = api.pullRequests('octo/fleet')
      expect(prs).toHaveLength(1)
      const pr = prs[0]
      expect(r.outputs['pull-request-number']).toBe(String(pr.number))
      expect(r.outputs['pull-request-url']).toBe(`https://github.com/octo/fleet/pull/${pr.number}`)
      expect(pr).toMatchObject({ head: { ref: BRANCH }, base: { ref: 'main' }, state: 'open' })
      expect(pr.labels).toEqual(['dependencies', 'nix'])
      const body = pr.body ?? ''
      expect(body).toContain(oldRev.slice(0, 12))
      expect(body).toContain(newRev.slice(0, 12))
      expect(body).toContain('(2026-01-01)')
      expect(body).toMatch(/#### web1/)
      expect(body).toMatch(/app.*upgraded.*1\.0.*1\.1/)
      expect(body).not.toMatch(/#### db1/)
      expect(body).toContain('Unchanged: `db1`')
      // The branch: one commit on top of main, changing flake.lock only, to the new revision.
      expect(git(origin, ['rev-list', '--count', `main..${BRANCH}`])).toBe('1')
      expect(git(origin, ['diff', '--name-only', 'main', BRANCH])).toBe('flake.lock')
      const lock = JSON.parse(git(origin, ['show', `${BRANCH}:flake.lock`]))
      expect(lock.nodes.pins.locked.rev).toBe(newRev)
      // Opened with the workflow's own token (the stand-in's bot): the summary says what that means.
      expect(r.summary).toMatch(
        /default `GITHUB_TOKEN`: pull requests and pushes made with it start no workflows/
      )
      expect(r.summary).toMatch(/app.*upgraded/)
      expect(api.violations).toEqual([])
      const logged = r.stdout
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
      expect(logged).not.toContain(TOKEN)
      expect(logged).toContain('AUTHORIZATION: basic ***')
      expect(r.masks).toEqual(
        expect.arrayContaining([TOKEN, Buffer.from(`x-access-token:${TOKEN}`).toString('base64')])
      )
    },
    T
  )

  it(
    'changes nothing when nothing new moved: no commit, no push, no second pull request',
    async () => {
      resetCheckout()
      const before = git(origin, ['rev-parse', BRANCH])
      const [pr] = api.pullRequests('octo/fleet')
      const bodyBefore = pr.body
      const writes = api.requests.filter(q => q.method !== 'GET').length
      const r = await update()
      expect(r.failure).toBeUndefined()
      expect(r.outputs).toMatchObject({
        changed: 'true',
        'pull-request-number': String(pr.number),
        'pull-request-operation': 'unchanged'
      })
      expect(git(origin, ['rev-parse', BRANCH])).toBe(before)
      expect(api.pullRequests('octo/fleet')).toHaveLength(1)
      expect(api.pullRequests('octo/fleet')[0].body).toBe(bodyBefore)
      expect(api.requests.filter(q => q.method !== 'GET').length).toBe(writes)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'after another bump, replaces the branch with one new commit and updates the same pull request',
    async () => {
      resetCheckout()
      const before = git(origin, ['rev-parse', BRANCH])
      const newRev = pins.commit({ 'flake.nix': pinsFlake('1.2') }, 'app 1.2')
      const r = await update()
      expect(r.failure).toBeUndefined()
      const prs = api.pullRequests('octo/fleet')
      expect(prs).toHaveLength(1)
      expect(r.outputs).toMatchObject({
        changed: 'true',
        'pull-request-number': String(prs[0].number),
        'pull-request-operation': 'updated'
      })
      const after = git(origin, ['rev-parse', BRANCH])
      expect(after).not.toBe(before)
      expect(git(origin, ['rev-list', '--count', `main..${BRANCH}`])).toBe('1')
      expect(JSON.parse(git(origin, ['show', `${BRANCH}:flake.lock`])).nodes.pins.locked.rev).toBe(
        newRev
      )
      expect(prs[0].body).toContain(newRev.slice(0, 12))
      expect(prs[0].body).toMatch(/app.*upgraded.*1\.0.*1\.2/)
      expect(prs[0].labels).toEqual(['dependencies', 'nix'])
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'a base that origin lacks fails the step with one sentence, after writing the diffs to the summary',
    async () => {
      resetCheckout()
      const branch = git(origin, ['rev-parse', BRANCH])
      const r = await update({ base: 'release-24.05' })
      expect(r.failure).toMatch(
        /^Could not fetch the branch 'release-24\.05' from origin \(input 'base'\)/
      )
      expect(r.outputs.changed).toBe('true')
      expect(r.summary).toMatch(/app.*upgraded/)
      expect(git(origin, ['rev-parse', BRANCH])).toBe(branch)
      expect(api.pullRequests('octo/fleet')).toHaveLength(1)
    },
    T
  )

  it(
    'from a terminal: updates the lock in place and prints what moved, pushing nothing',
    async () => {
      resetCheckout()
      const branch = git(origin, ['rev-parse', BRANCH])
      const newRev = pins.commit({ 'flake.nix': pinsFlake('1.3') }, 'app 1.3')
      const out = execFileSync(
        nodeBinary(),
        [path.join(repoRoot, 'dist/cli.js'), 'update', '--inputs', 'pins', '--json'],
        { cwd: fleet.dir, encoding: 'utf8', env: { ...process.env, ...nixEnv() } }
      )
      const report = JSON.parse(out)
      expect(report).toMatchObject({ changed: true, unchangedHosts: ['db1'] })
      expect(report.inputs).toEqual([
        expect.objectContaining({ input: 'pins', after: expect.objectContaining({ rev: newRev }) })
      ])
      expect(report.hosts).toEqual([expect.objectContaining({ host: 'web1', state: 'changed' })])
      expect(
        JSON.parse(fs.readFileSync(path.join(fleet.dir, 'flake.lock'), 'utf8')).nodes.pins.locked
          .rev
      ).toBe(newRev)
      expect(git(origin, ['rev-parse', BRANCH])).toBe(branch)
    },
    T
  )
})
