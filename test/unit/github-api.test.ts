/**
 * The GitHub REST API stand-in, exercised through the real @actions/github Octokit client.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { getOctokit } from '@actions/github'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startGitHubApi, type GitHubApi, COMMENT_BODY_LIMIT } from '../harness/github-api.js'

const REPO = 'octo/fleet'
const [owner, repo] = REPO.split('/')

let api: GitHubApi
let gh: ReturnType<typeof getOctokit>
let fork: ReturnType<typeof getOctokit>

beforeAll(async () => {
  api = await startGitHubApi()
  api.addToken('write-token', {
    issues: 'write',
    pull_requests: 'write',
    deployments: 'write',
    contents: 'read'
  })
  api.addToken('read-token', {
    issues: 'read',
    pull_requests: 'read',
    deployments: 'read',
    contents: 'read'
  })
  api.addPullRequest(REPO, {
    number: 7,
    title: 'Bump nginx',
    head: { ref: 'bump', sha: 'a'.repeat(40) },
    base: { ref: 'main', sha: 'b'.repeat(40) }
  })
  api.addPullRequest(REPO, { number: 8 })
  api.addPullRequest(REPO, { number: 9 })
  gh = getOctokit('write-token', { baseUrl: api.url })
  fork = getOctokit('read-token', { baseUrl: api.url })
}, 30_000)

afterAll(async () => {
  await api.close()
})

/** Octokit's error status for a rejected promise. */
async function statusOf(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p
  } catch (err) {
    const e = err as { status: number; message: string }
    return { status: e.status, message: e.message }
  }
  throw new Error('the request succeeded')
}

describe('GitHub API stand-in', () => {
  it('creates, lists, gets, updates and deletes issue comments', async () => {
    const created = await gh.rest.issues.createComment({
      owner,
      repo,
      issue_number: 7,
      body: '<!-- marker -->\nhello'
    })
    expect(created.status).toBe(201)
    expect(created.data.body).toBe('<!-- marker -->\nhello')
    expect(created.data.user?.login).toBe('github-actions[bot]')
    expect(created.data.html_url).toBe(
      `https://github.com/${REPO}/pull/7#issuecomment-${created.data.id}`
    )

    const got = await gh.rest.issues.getComment({ owner, repo, comment_id: created.data.id })
    expect(got.data.id).toBe(created.data.id)

    const updated = await gh.rest.issues.updateComment({
      owner,
      repo,
      comment_id: created.data.id,
      body: '<!-- marker -->\nbye'
    })
    expect(updated.data.body).toBe('<!-- marker -->\nbye')
    expect(api.comments(REPO, 7).map(c => c.body)).toEqual(['<!-- marker -->\nbye'])

    const del = await gh.rest.issues.deleteComment({ owner, repo, comment_id: created.data.id })
    expect(del.status).toBe(204)
    expect(api.comments(REPO, 7)).toEqual([])
    expect(
      (await statusOf(gh.rest.issues.getComment({ owner, repo, comment_id: created.data.id })))
        .status
    ).toBe(404)
    expect(api.violations).toEqual([])
  })

  it('paginates more than 100 comments with a GitHub Link header', async () => {
    for (let i = 0; i < 230; i++)
      await gh.rest.issues.createComment({ owner, repo, issue_number: 8, body: `comment ${i}` })
    const first = await gh.rest.issues.listComments({ owner, repo, issue_number: 8, per_page: 100 })
    expect(first.data).toHaveLength(100)
    expect(first.headers.link).toBe(
      `<${api.url}/repos/${REPO}/issues/8/comments?per_page=100&page=2>; rel="next", ` +
        `<${api.url}/repos/${REPO}/issues/8/comments?per_page=100&page=3>; rel="last"`
    )
    const all = await gh.paginate(gh.rest.issues.listComments, {
      owner,
      repo,
      issue_number: 8,
      per_page: 100
    })
    expect(all.map(c => c.body)).toEqual(Array.from({ length: 230 }, (_, i) => `comment ${i}`))
    // GitHub caps per_page at 100 rather than failing; the default is 30.
    expect(
      (await gh.rest.issues.listComments({ owner, repo, issue_number: 8, per_page: 500 })).data
    ).toHaveLength(100)
    expect((await gh.rest.issues.listComments({ owner, repo, issue_number: 8 })).data).toHaveLength(
      30
    )
    const lastPage = await gh.rest.issues.listComments({
      owner,
      repo,
      issue_number: 8,
      per_page: 100,
      page: 3
    })
    expect(lastPage.data).toHaveLength(30)
    expect(lastPage.headers.link).toContain('rel="prev"')
    expect(lastPage.headers.link).not.toContain('rel="next"')
    expect(api.violations).toEqual([])
  }, 60_000)

  it('refuses a write with a read-only token, as a fork pull request gets', async () => {
    const r = await statusOf(
      fork.rest.issues.createComment({ owner, repo, issue_number: 7, body: 'x' })
    )
    expect(r.status).toBe(403)
    expect(r.message).toContain('Resource not accessible by integration')
    // Reading works with the same token.
    expect((await fork.rest.issues.listComments({ owner, repo, issue_number: 7 })).status).toBe(200)
    expect(
      (await statusOf(fork.rest.repos.createDeployment({ owner, repo, ref: 'main' }))).status
    ).toBe(403)
    expect(api.comments(REPO, 7)).toEqual([])
  })

  it('refuses an unknown token', async () => {
    const bad = getOctokit('nope', { baseUrl: api.url })
    const r = await statusOf(bad.rest.repos.get({ owner, repo }))
    expect(r.status).toBe(401)
    expect(r.message).toContain('Bad credentials')
    expect(api.violations.splice(0).map(v => v.kind)).toEqual(['bad-credentials'])
  })

  it('refuses a body over 65,536 characters with GitHub answer, and accepts one at the limit', async () => {
    const r = await statusOf(
      gh.rest.issues.createComment({
        owner,
        repo,
        issue_number: 9,
        body: 'x'.repeat(COMMENT_BODY_LIMIT + 1)
      })
    )
    expect(r.status).toBe(422)
    expect(r.message).toContain('Body is too long (maximum is 65536 characters)')
    const ok = await gh.rest.issues.createComment({
      owner,
      repo,
      issue_number: 9,
      body: 'é'.repeat(COMMENT_BODY_LIMIT)
    })
    expect(ok.status).toBe(201)
    const r2 = await statusOf(
      gh.rest.issues.updateComment({
        owner,
        repo,
        comment_id: ok.data.id,
        body: 'y'.repeat(COMMENT_BODY_LIMIT + 1)
      })
    )
    expect(r2.status).toBe(422)
    expect(api.violations.splice(0).map(v => v.kind)).toEqual([
      'validation-failed',
      'validation-failed'
    ])
  })

  it('refuses an invalid body against the REST description', async () => {
    const r = await statusOf(
      gh.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: 9,
        body: 5 as unknown as string
      })
    )
    expect(r.status).toBe(422)
    expect(r.message).toContain("For 'properties/body', 5 is not a string.")
    const r2 = await statusOf(
      gh.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
        owner,
        repo,
        deployment_id: 1,
        state: 'done' as 'success'
      })
    )
    expect(r2.status).toBe(422)
    const r3 = await statusOf(
      gh.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: 9
      } as unknown as { owner: string; repo: string; issue_number: number; body: string })
    )
    expect(r3.status).toBe(422)
    expect(r3.message).toContain(`"body" wasn't supplied.`)
    expect(api.violations.splice(0).map(v => v.kind)).toEqual([
      'invalid-body',
      'invalid-body',
      'invalid-body'
    ])
  })

  it('answers 404 to a route GitHub does not have, 501 to one the stand-in lacks', async () => {
    const r = await statusOf(
      gh.request('GET /repos/{owner}/{repo}/sticky-comments', { owner, repo })
    )
    expect(r.status).toBe(404)
    const r2 = await statusOf(
      gh.request('PUT /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: 7
      })
    )
    expect(r2.status).toBe(404)
    const r3 = await statusOf(gh.rest.issues.listLabelsOnIssue({ owner, repo, issue_number: 7 }))
    expect(r3.status).toBe(501)
    expect(api.violations.splice(0).map(v => v.kind)).toEqual([
      'unknown-route',
      'unknown-route',
      'not-implemented'
    ])
  })

  it('serves a seeded pull request and the repository', async () => {
    const pr = await gh.rest.pulls.get({ owner, repo, pull_number: 7 })
    expect(pr.data.head.sha).toBe('a'.repeat(40))
    expect(pr.data.base.ref).toBe('main')
    expect(pr.data.head.repo?.full_name).toBe(REPO)
    expect(pr.data.title).toBe('Bump nginx')
    expect((await statusOf(gh.rest.pulls.get({ owner, repo, pull_number: 99 }))).status).toBe(404)
    const r = await gh.rest.repos.get({ owner, repo })
    expect(r.data.full_name).toBe(REPO)
    expect(r.data.default_branch).toBe('main')
    expect(api.violations).toEqual([])
  })

  it('records deployments and statuses, with auto_inactive', async () => {
    const d1 = await gh.rest.repos.createDeployment({
      owner,
      repo,
      ref: 'main',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { host: 'web1' }
    })
    expect(d1.status).toBe(201)
    const id1 = (d1.data as { id: number }).id
    await gh.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: id1,
      state: 'in_progress'
    })
    await gh.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: id1,
      state: 'success',
      environment_url: 'http://web1'
    })
    const d2 = await gh.rest.repos.createDeployment({
      owner,
      repo,
      ref: 'main',
      environment: 'staging',
      required_contexts: []
    })
    const id2 = (d2.data as { id: number }).id
    await gh.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: id2,
      state: 'success'
    })
    expect(api.statuses(REPO, id1).map(s => s.state)).toEqual([
      'in_progress',
      'success',
      'inactive'
    ])
    const listed = await gh.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: id1 })
    expect(listed.data.map(s => s.state)).toEqual(['inactive', 'success', 'in_progress'])
    const deps = await gh.rest.repos.listDeployments({ owner, repo, environment: 'staging' })
    expect(deps.data.map(d => d.id)).toEqual([id2, id1])
    expect(deps.data[1].payload).toEqual({ host: 'web1' })
    expect(api.deployments(REPO)).toHaveLength(2)
    const long = await statusOf(
      gh.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: id2,
        state: 'failure',
        description: 'x'.repeat(141)
      })
    )
    expect(long.status).toBe(422)
    expect(api.violations.splice(0).map(v => v.kind)).toEqual(['validation-failed'])
  })

  it('fails the next requests on demand, and interleaves concurrent writers with latency', async () => {
    api.failNext(1, 503)
    expect((await statusOf(gh.rest.repos.get({ owner, repo }))).status).toBe(503)
    expect((await gh.rest.repos.get({ owner, repo })).status).toBe(200)

    const slow = await startGitHubApi({ latencyMs: { min: 0, max: 40 } })
    try {
      slow.addToken('t', { issues: 'write' })
      slow.addIssue(REPO, 1)
      const o = getOctokit('t', { baseUrl: slow.url })
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          o.rest.issues.createComment({ owner, repo, issue_number: 1, body: String(i) })
        )
      )
      const order = slow.comments(REPO, 1).map(c => Number(c.body))
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(order).not.toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(slow.violations).toEqual([])
    } finally {
      await slow.close()
    }
  })

  it('gives the environment a bundle needs', () => {
    const env = api.env('write-token')
    expect(env.GITHUB_API_URL).toBe(api.url)
    expect(env.GITHUB_SERVER_URL).toBe('https://github.com')
    expect(env.GITHUB_GRAPHQL_URL).toBe(`${api.url}/graphql`)
  })

  it('opens, lists by head, updates and labels pull requests, refusing what GitHub refuses', async () => {
    // A repository whose branches the stand-in reads: main, `update` one commit ahead, `same` not.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pulls-'))
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', dir, ...args], {
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.invalid',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.invalid'
        }
      }).trim()
    try {
      git('init', '-q', '-b', 'main')
      git('commit', '-q', '--allow-empty', '-m', 'base')
      git('branch', 'same')
      git('checkout', '-q', '-b', 'update')
      git('commit', '-q', '--allow-empty', '-m', 'lock')
      const R = 'octo/pulls'
      api.addRepo(R, { git: dir })
      const o = { owner: 'octo', repo: 'pulls' }
      const created = await gh.rest.pulls.create({
        ...o,
        title: 'T',
        head: 'update',
        base: 'main',
        body: 'b'
      })
      expect(created.status).toBe(201)
      expect(created.data.head.sha).toBe(git('rev-parse', 'update'))
      expect(created.data.user?.login).toBe('github-actions[bot]')
      // The same head and base again; a head with nothing new; a head that does not exist.
      for (const [head, message] of [
        ['update', /A pull request already exists for octo:update/],
        ['same', /No commits between main and same/],
        ['missing', /head invalid/]
      ] as const) {
        const e = await statusOf(gh.rest.pulls.create({ ...o, title: 'T', head, base: 'main' }))
        expect(e.status).toBe(422)
        expect(e.message).toMatch(message)
      }
      const listed = await gh.rest.pulls.list({ ...o, head: 'octo:update', state: 'open' })
      expect(listed.data.map(p => p.number)).toEqual([created.data.number])
      expect((await gh.rest.pulls.list({ ...o, head: 'octo:same' })).data).toEqual([])
      const updated = await gh.rest.pulls.update({
        ...o,
        pull_number: created.data.number,
        body: 'new'
      })
      expect(updated.data.body).toBe('new')
      const long = await statusOf(
        gh.rest.pulls.update({
          ...o,
          pull_number: created.data.number,
          body: 'x'.repeat(COMMENT_BODY_LIMIT + 1)
        })
      )
      expect(long.status).toBe(422)
      const labels = await gh.rest.issues.addLabels({
        ...o,
        issue_number: created.data.number,
        labels: ['nix']
      })
      expect(labels.data.map(l => l.name)).toEqual(['nix'])
      expect(api.pullRequests(R)[0].labels).toEqual(['nix'])
      const denied = await statusOf(
        fork.rest.pulls.create({ ...o, title: 'T', head: 'update', base: 'main' })
      )
      expect(denied.status).toBe(403)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
