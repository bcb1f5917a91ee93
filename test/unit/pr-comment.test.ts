/**
 * The sticky comment over the GitHub REST API stand-in (test/harness/github-api.ts), through the
 * real @actions/github client: create, edit in place, many writers at once, pagination, a
 * read-only token, the size limit, and event payloads.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from '@jest/globals'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getOctokit } from '@actions/github'
import { startGitHubApi, type GitHubApi, COMMENT_BODY_LIMIT } from '../harness/github-api.js'
import { MemoryLogger } from '../../src/core/log.js'
import { escapeTableCell, table } from '../../src/core/markdown.js'
import { commentMarker, parseComment, type HostSection } from '../../src/core/sticky-comment.js'
import {
  pullRequestFromEvent,
  runSummaryUrl,
  upsertSection,
  type UpsertOptions
} from '../../src/actions/pr-comment.js'

const REPO = 'octo/fleet'
const [owner, repo] = REPO.split('/')
const SUMMARY_URL = 'https://github.com/octo/fleet/actions/runs/42'

let api: GitHubApi
let nextPr = 100

beforeAll(async () => {
  // Latency with jitter, so concurrent writers really interleave.
  api = await startGitHubApi({ latencyMs: { min: 5, max: 60 } })
  api.addToken('write-token', { issues: 'write', pull_requests: 'write' })
  api.addToken('read-token', { issues: 'read', pull_requests: 'read' })
}, 30_000)

afterAll(async () => {
  await api?.close()
})

afterEach(() => {
  expect(api.violations).toEqual([])
})

function newPr(): number {
  const number = nextPr++
  api.addPullRequest(REPO, { number })
  return number
}

function section(host: string, over: Partial<HostSection> = {}): HostSection {
  return {
    host,
    kind: 'diff',
    changed: true,
    summary: `${host}: 1 package changes`,
    levels: { full: `full ${host}`, selected: `selected ${host}`, summary: `summary ${host}` },
    updatedAt: new Date().toISOString(),
    runUrl: `${SUMMARY_URL}/job/1`,
    ...over
  }
}

function options(
  issue: number,
  s: HostSection,
  over: Partial<UpsertOptions> = {}
): UpsertOptions & { logger: MemoryLogger } {
  return {
    token: 'write-token',
    owner,
    repo,
    issue,
    section: s,
    summaryUrl: SUMMARY_URL,
    logger: new MemoryLogger(),
    baseUrl: api.url,
    retryDelayMs: { min: 50, max: 400 },
    retryBaseMs: 20,
    secondaryBackoffCapS: 4,
    freshMs: 1500,
    settleMs: 250,
    // Each writer plays a job of its own: its own client queue, as on separate runners.
    queue: `${s.host}/${s.kind}`,
    ...over
  } as UpsertOptions & { logger: MemoryLogger }
}

function sticky(issue: number, id?: string) {
  return api.comments(REPO, issue).filter(c => parseComment(c.body, { id }) !== null)
}

describe('upsertSection', () => {
  it('creates the comment on the first write and edits it in place on the second', async () => {
    const pr = newPr()
    const first = await upsertSection(options(pr, section('web1')))
    expect(first.status).toBe('written')
    const created = sticky(pr)
    expect(created).toHaveLength(1)
    expect(first.commentUrl).toBe(
      `https://github.com/${REPO}/pull/${pr}#issuecomment-${created[0].id}`
    )
    expect(created[0].body.startsWith(commentMarker())).toBe(true)

    const web1Again = section('web1', {
      summary: 'web1: 3 packages change',
      updatedAt: new Date(Date.now() + 1000).toISOString()
    })
    const second = await upsertSection(options(pr, web1Again))
    const third = await upsertSection(options(pr, section('db1', { changed: false })))
    expect([second.status, third.status]).toEqual(['written', 'written'])
    const after = sticky(pr)
    expect(after).toHaveLength(1)
    expect(after[0].id).toBe(created[0].id)
    const sections = parseComment(after[0].body)!.sections
    expect(sections.map(s => s.host)).toEqual(['db1', 'web1'])
    expect(sections.find(s => s.host === 'web1')).toEqual(web1Again)
    expect(after[0].body).toContain('**1 of 2 hosts changes.**')
  }, 30_000)

  it('keeps every section when 8 writers write at once: one comment, 8 sections', async () => {
    const pr = newPr()
    const hosts = Array.from({ length: 8 }, (_, i) => `web${i + 1}`)
    const sections = hosts.map(h => section(h))
    // Separate clients (each call makes its own Octokit), all started together.
    const results = await Promise.all(sections.map(s => upsertSection(options(pr, s))))
    for (const r of results) expect(r).toMatchObject({ status: 'written' })
    const comments = sticky(pr)
    expect(comments).toHaveLength(1)
    const parsed = parseComment(comments[0].body)!.sections
    expect(parsed.map(s => s.host).sort()).toEqual([...hosts].sort())
    for (const s of sections) expect(parsed).toContainEqual(s)
    // They really raced: several writers had read the (empty) list before the first write.
    const mine = api.requests.filter(r => r.path.startsWith(`/repos/${REPO}/issues/${pr}/comments`))
    const firstWrite = mine.findIndex(r => r.method === 'POST')
    expect(mine.slice(0, firstWrite).filter(r => r.method === 'GET').length).toBeGreaterThan(1)
  }, 120_000)

  it('keeps every section with 8 writers and the default settle time and delays', async () => {
    const pr = newPr()
    const sections = Array.from({ length: 8 }, (_, i) =>
      section(`db${i}`, { kind: i % 2 ? 'dry-activate' : 'diff' })
    )
    const results = await Promise.all(
      sections.map(s =>
        upsertSection({ ...options(pr, s), retryDelayMs: undefined, settleMs: undefined })
      )
    )
    expect(results.map(r => r.status)).toEqual(Array(8).fill('written'))
    const comments = sticky(pr)
    expect(comments).toHaveLength(1)
    expect(parseComment(comments[0].body)!.sections).toHaveLength(8)
  }, 120_000)

  it("loses nothing with 10 writers under GitHub's rate-limit answers (secondary 403 with retry-after, primary with x-ratelimit-reset)", async () => {
    const pr = newPr()
    const from = api.requests.length
    const hosts = Array.from({ length: 10 }, (_, i) => `rl${i}`)
    // 3 content-creating requests per 2 s across all writers, then 403 with retry-after: 1; the
    // first 3 requests of all meet an exhausted primary limit (reset in 1 s).
    api.limitContent({ contentPerWindow: 3, windowMs: 2000, retryAfterS: 1 })
    api.exhaustPrimaryLimit(3, 1)
    let results
    try {
      results = await Promise.all(hosts.map(h => upsertSection(options(pr, section(h)))))
    } finally {
      api.limitContent(undefined)
    }
    expect(results.filter(r => r.status !== 'written').map(r => r.message)).toEqual([])
    const comments = sticky(pr)
    expect(comments).toHaveLength(1)
    expect(
      parseComment(comments[0].body)!
        .sections.map(s => s.host)
        .sort()
    ).toEqual(hosts)
    const answers = api.requests.slice(from)
    // GitHub's answers really came: both kinds.
    expect(answers.filter(r => r.status === 403 && r.method === 'GET').length).toBe(3)
    expect(answers.filter(r => r.status === 403 && r.method !== 'GET').length).toBeGreaterThan(0)
    expect(api.violations).toEqual([])
  }, 180_000)

  it('loses nothing with 8 writers under secondary limits answered with 429', async () => {
    const pr = newPr()
    const from = api.requests.length
    const hosts = Array.from({ length: 8 }, (_, i) => `rq${i}`)
    api.limitContent({ contentPerWindow: 3, windowMs: 2000, retryAfterS: 1, status: 429 })
    let results
    try {
      results = await Promise.all(hosts.map(h => upsertSection(options(pr, section(h)))))
    } finally {
      api.limitContent(undefined)
    }
    expect(results.filter(r => r.status !== 'written').map(r => r.message)).toEqual([])
    expect(
      parseComment(sticky(pr)[0].body)!
        .sections.map(s => s.host)
        .sort()
    ).toEqual(hosts)
    expect(api.requests.slice(from).filter(r => r.status === 429).length).toBeGreaterThan(0)
  }, 180_000)

  it('does not send a write merged from a read older than freshMs: after a long retry-after it reads again', async () => {
    const pr = newPr()
    expect((await upsertSection(options(pr, section('old')))).status).toBe('written')
    const from = api.requests.length
    // A's update is refused once with retry-after: 3 s, longer than B takes to write and check.
    api.secondaryLimitNext(1, 3, m => m === 'PATCH')
    const a = upsertSection(options(pr, section('a')))
    for (let i = 0; i < 200; i++) {
      if (api.requests.slice(from).some(r => r.method === 'PATCH' && r.status === 403)) break
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    // B writes and confirms while A waits. A's waiting write, merged from a read without B,
    // would drop B's section after B has checked it: A reads again instead.
    const b = await upsertSection(options(pr, section('b')))
    expect(b.status).toBe('written')
    expect((await a).status).toBe('written')
    expect(
      parseComment(sticky(pr)[0].body)!
        .sections.map(s => s.host)
        .sort()
    ).toEqual(['a', 'b', 'old'])
  }, 60_000)

  it('writes its section again when a writer that read before it overwrites it', async () => {
    const pr = newPr()
    const { renderComment } = await import('../../src/core/sticky-comment.js')
    const x = section('x')
    expect((await upsertSection(options(pr, x))).status).toBe('written')
    const [comment] = sticky(pr)
    const staleBody = comment.body // what a slow writer read, before A's write
    const gh = getOctokit('write-token', { baseUrl: api.url })
    const from = api.requests.length
    const opts = options(pr, section('a'), { settleMs: 600 })
    const pending = upsertSection(opts)
    // As soon as A's write is answered, the slow writer lands its stale write (x and its own y).
    while (
      !api.requests
        .slice(from)
        .some(r => r.operationId === 'issues/update-comment' && r.status === 200)
    ) {
      await new Promise(r => setTimeout(r, 5))
    }
    const y = section('y')
    await gh.rest.issues.updateComment({
      owner,
      repo,
      comment_id: comment.id,
      body: renderComment([...parseComment(staleBody)!.sections, y])
    })
    const result = await pending
    expect(result.status).toBe('written')
    expect(opts.logger.lines.some(l => /another job overwrote the section/.test(l.message))).toBe(
      true
    )
    expect(parseComment(sticky(pr)[0].body)!.sections.map(s => s.host)).toEqual(['a', 'x', 'y'])
  }, 30_000)

  it('finds its comment among 150 others (pagination) and edits it', async () => {
    const pr = newPr()
    const gh = getOctokit('write-token', { baseUrl: api.url })
    await gh.rest.issues.createComment({ owner, repo, issue_number: pr, body: 'first!' })
    expect((await upsertSection(options(pr, section('web1')))).status).toBe('written')
    const id = sticky(pr)[0].id
    // Others' comments, some quoting the marker (not on their first line: not sticky comments).
    for (let batch = 0; batch < 150; batch += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          gh.rest.issues.createComment({
            owner,
            repo,
            issue_number: pr,
            body: `comment ${batch + i} mentioning ${commentMarker()} in the middle`
          })
        )
      )
    }
    expect(api.comments(REPO, pr).length).toBe(152)
    const result = await upsertSection(options(pr, section('web2')))
    expect(result.status).toBe('written')
    expect(sticky(pr).map(c => c.id)).toEqual([id])
    expect(parseComment(sticky(pr)[0].body)!.sections.map(s => s.host)).toEqual(['web1', 'web2'])
    // It read past the first page, with 100 per page.
    const pages = api.requests.filter(
      r => r.operationId === 'issues/list-comments' && r.path.includes(`/issues/${pr}/`)
    )
    expect(pages.some(r => /[?&]page=2/.test(r.path) && /per_page=100/.test(r.path))).toBe(true)
  }, 60_000)

  it('merges duplicate sticky comments into the oldest and deletes the others', async () => {
    const pr = newPr()
    const gh = getOctokit('write-token', { baseUrl: api.url })
    const { renderComment } = await import('../../src/core/sticky-comment.js')
    const a = section('a')
    const b = section('b')
    const older = await gh.rest.issues.createComment({
      owner,
      repo,
      issue_number: pr,
      body: renderComment([a])
    })
    await gh.rest.issues.createComment({ owner, repo, issue_number: pr, body: renderComment([b]) })
    const result = await upsertSection(options(pr, section('c')))
    expect(result.status).toBe('written')
    const left = sticky(pr)
    expect(left.map(c => c.id)).toEqual([older.data.id])
    expect(parseComment(left[0].body)!.sections.map(s => s.host)).toEqual(['a', 'b', 'c'])
  }, 30_000)

  it('keeps a separate comment per comment id', async () => {
    const pr = newPr()
    expect((await upsertSection(options(pr, section('web1')))).status).toBe('written')
    expect(
      (await upsertSection(options(pr, section('web1'), { commentId: 'nightly' }))).status
    ).toBe('written')
    expect(sticky(pr)).toHaveLength(1)
    expect(sticky(pr, 'nightly')).toHaveLength(1)
    expect(api.comments(REPO, pr)).toHaveLength(2)
  }, 30_000)

  it('fails at once, without a request, for a comment id that cannot be a marker', async () => {
    const pr = newPr()
    const from = api.requests.length
    const result = await upsertSection(options(pr, section('web1'), { commentId: 'a -->' }))
    expect(result.status).toBe('failed')
    expect(result.message).toMatch(/comment-id/)
    expect(api.requests.length).toBe(from)
  })

  it('gives skipped-no-permission and a warning, not a throw, with a read-only token', async () => {
    const pr = newPr()
    const opts = options(pr, section('web1'), { token: 'read-token' })
    const result = await upsertSection(opts)
    expect(result.status).toBe('skipped-no-permission')
    expect(result.message).toMatch(/Resource not accessible by integration/)
    const warnings = opts.logger.lines.filter(l => l.level === 'warning').map(l => l.message)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/job summary/)
    expect(warnings[0]).toMatch(/workflow_run/)
    expect(api.comments(REPO, pr)).toHaveLength(0)
  }, 30_000)

  it('retries through server errors, and reports failed (never throws) when they persist', async () => {
    const pr = newPr()
    api.failNext(2, 502)
    expect((await upsertSection(options(pr, section('web1')))).status).toBe('written')
    // Only this pull request's requests fail, from now on.
    api.failNext(1_000_000, 503, (_m, path) => path.includes(`/issues/${pr}/`))
    const opts = options(pr, section('web2'), { retries: 2 })
    const result = await upsertSection(opts)
    expect(result.status).toBe('failed')
    // The client (plugin-retry) sent the request 3 times: the first try and 2 retries.
    expect(result.message).toMatch(/gave up: 503 .*\(after 3 attempts\)/)
    expect(opts.logger.lines.filter(l => l.level === 'warning')).toHaveLength(1)
  }, 60_000)

  it('stays under 65,536 characters with an oversized set of sections (the stand-in refuses more)', async () => {
    const pr = newPr()
    const big = (host: string): HostSection => {
      const rows = Array.from({ length: 1500 }, (_, i) => [
        escapeTableCell(`${host}-package-${i}-${(i * 104729).toString(36)}`),
        `1.${i}`,
        `2.${i}`
      ])
      return section(host, {
        levels: {
          full: table(['Package', 'Before', 'After'], rows),
          selected: table(['Package', 'Before', 'After'], rows.slice(0, 300)),
          summary: '1500 packages change'
        }
      })
    }
    const hosts = Array.from({ length: 12 }, (_, i) => `big${i}`)
    for (const h of hosts) expect((await upsertSection(options(pr, big(h)))).status).toBe('written')
    const [comment] = sticky(pr)
    expect([...comment.body].length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT)
    expect(comment.body).toContain(`[job summary](${SUMMARY_URL})`)
    expect(
      parseComment(comment.body)!
        .sections.map(s => s.host)
        .sort()
    ).toEqual([...hosts].sort())
  }, 120_000)
})

describe('pullRequestFromEvent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pr-event-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const event = (name: string, payload: unknown) => {
    const file = join(dir, `${name}-${Math.random()}.json`)
    writeFileSync(file, typeof payload === 'string' ? payload : JSON.stringify(payload))
    return file
  }
  const repository = { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }

  it('reads pull request events', () => {
    const file = event('pr', { number: 7, pull_request: { number: 7 }, repository })
    expect(pullRequestFromEvent(file, 'pull_request')).toEqual({
      owner: 'octo',
      repo: 'fleet',
      number: 7
    })
    expect(pullRequestFromEvent(file, 'pull_request_target')).toEqual({
      owner: 'octo',
      repo: 'fleet',
      number: 7
    })
  })

  it('reads workflow_run events from their pull_requests', () => {
    const file = event('wr', {
      workflow_run: { pull_requests: [{ number: 12, base: { repo: { name: 'fleet' } } }] },
      repository
    })
    expect(pullRequestFromEvent(file, 'workflow_run')).toEqual({
      owner: 'octo',
      repo: 'fleet',
      number: 12
    })
    const fork = event('wr-fork', { workflow_run: { pull_requests: [] }, repository })
    expect(pullRequestFromEvent(fork, 'workflow_run')).toBeNull()
  })

  it('is null for other events and malformed payloads, without throwing', () => {
    expect(
      pullRequestFromEvent(event('push', { ref: 'refs/heads/main', repository }), 'push')
    ).toBeNull()
    expect(pullRequestFromEvent(event('bad', '{not json'), 'pull_request')).toBeNull()
    expect(pullRequestFromEvent(event('null', 'null'), 'pull_request')).toBeNull()
    expect(
      pullRequestFromEvent(
        event('str', { pull_request: { number: '7' }, repository }),
        'pull_request'
      )
    ).toBeNull()
    expect(
      pullRequestFromEvent(event('norepo', { pull_request: { number: 7 } }), 'pull_request')
    ).toBeNull()
    expect(
      pullRequestFromEvent(
        event('wr-bad', { workflow_run: { pull_requests: 'x' }, repository }),
        'workflow_run'
      )
    ).toBeNull()
    expect(pullRequestFromEvent(join(dir, 'missing.json'), 'pull_request')).toBeNull()
    const issue = event('ic', { issue: { number: 3, pull_request: { url: 'x' } }, repository })
    expect(pullRequestFromEvent(issue, 'issue_comment')).toEqual({
      owner: 'octo',
      repo: 'fleet',
      number: 3
    })
    expect(
      pullRequestFromEvent(event('ic2', { issue: { number: 3 }, repository }), 'issue_comment')
    ).toBeNull()
  })

  it('builds the run URL where the job summaries are', () => {
    expect(
      runSummaryUrl({
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'octo/fleet',
        GITHUB_RUN_ID: '42'
      })
    ).toBe(SUMMARY_URL)
    expect(
      runSummaryUrl({
        GITHUB_REPOSITORY: 'octo/fleet',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '2'
      })
    ).toBe(`${SUMMARY_URL}/attempts/2`)
    expect(runSummaryUrl({})).toBeUndefined()
  })
})
