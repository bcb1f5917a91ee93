/**
 * The fork pattern's second half, through the committed diff bundle: a diff JSON file written by a
 * real `build` run (the first workflow's artifact) is put into the pull request's sticky comment
 * on a `workflow_run` event, against the GitHub API stand-in: the pull request named by the event
 * (same repository), or by the `pull-request` input (a fork: GitHub names none) only when its head
 * is the commit the run built. Malformed or hostile reports fail with one sentence naming the file,
 * or are rendered escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseComment } from '../../src/core/sticky-comment.js'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const T = 180_000
const TOKEN = 'ghs_diffreporttoken00000000001'
const HEAD_SHA = 'a'.repeat(40)
const OTHER_SHA = 'b'.repeat(40)

function flake(next: boolean): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations = {
        web1 = lib.mkHost { name = "web1"; packages = ${next ? '[ pkgs.nginx_1_27 pkgs.htop ]' : '[ pkgs.nginx ]'}; };
        db1 = lib.mkHost { name = "db1"; packages = [ pkgs.postgresql ]; };
      };
    };
}
`
}

let repo: FlakeRepo
let api: GitHubApi
/** The second workflow's workspace: the downloaded artifact is in report/. */
let work: string
const summaries: Record<string, string> = {}
let web1Json: Record<string, unknown>

function workflowRun(pullRequests: number[], headSha = HEAD_SHA) {
  return {
    name: 'workflow_run',
    payload: {
      action: 'completed',
      workflow_run: {
        id: 987654,
        head_sha: headSha,
        event: 'pull_request',
        conclusion: 'success',
        pull_requests: pullRequests.map(n => ({ number: n, head: { sha: headSha } }))
      },
      repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
    }
  }
}

function diffStep(
  inputs: Record<string, string>,
  event = workflowRun([]),
  dir = work
): Promise<ActionRun> {
  return runAction({
    action: 'diff',
    workspace: dir,
    inputs,
    env: api.env(TOKEN),
    token: TOKEN,
    event
  })
}

function warnings(r: ActionRun): string[] {
  return r.annotations.filter(a => a.level === 'warning').map(a => a.message)
}

beforeAll(async () => {
  repo = makeFlakeRepo({ 'flake.nix': flake(false) })
  const base = repo.head()
  repo.commit({ 'flake.nix': flake(true) }, 'upgrade web1')
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-report-'))
  fs.mkdirSync(path.join(work, 'report'))
  // The first workflow: build each host with a diff against the base, no comment.
  for (const host of ['web1', 'db1']) {
    const r = await runAction({
      action: 'build',
      workspace: repo.dir,
      inputs: { host, 'diff-against': base, cache: 'false', comment: 'false' }
    })
    expect(r.failure).toBeUndefined()
    summaries[host] = r.outputs['diff-summary']
    fs.copyFileSync(r.outputs['diff-json-file'], path.join(work, 'report', `diff-${host}.json`))
  }
  web1Json = JSON.parse(fs.readFileSync(path.join(work, 'report', 'diff-web1.json'), 'utf8'))
  api = await startGitHubApi()
  api.addToken(TOKEN, { issues: 'write', pull_requests: 'write' })
  api.addPullRequest('octo/fleet', { number: 31, head: { sha: HEAD_SHA } })
  api.addPullRequest('octo/fleet', {
    number: 32,
    head: { sha: HEAD_SHA, repo: 'someone/fleet' }
  })
  api.addPullRequest('octo/fleet', {
    number: 33,
    head: { sha: OTHER_SHA, repo: 'someone/fleet' }
  })
}, T)

afterAll(async () => {
  repo?.remove()
  if (work) fs.rmSync(work, { recursive: true, force: true })
  await api?.close()
})

describe('diff action: report', () => {
  it(
    "comments a real build's report on the pull request a workflow_run event names",
    async () => {
      const r = await diffStep({ report: 'report', comment: 'true' }, workflowRun([31]))
      expect(r.failure).toBeUndefined()
      expect(r.exitCode).toBe(0)
      expect(warnings(r)).toEqual([])
      expect(summaries.web1).toMatch(/upgraded/)
      expect(r.outputs.changed).toBe('true')
      expect(r.outputs['diff-summary']).toBe('1 of 2 hosts change')
      const comments = api.comments('octo/fleet', 31)
      expect(comments).toHaveLength(1)
      const sections = parseComment(comments[0].body)!.sections
      expect(sections.map(s => [s.host, s.kind, s.changed, s.summary])).toEqual([
        ['db1', 'diff', false, summaries.db1],
        ['web1', 'diff', true, summaries.web1]
      ])
      expect(comments[0].body).toContain('nginx')
      expect(comments[0].body).toContain('htop')
      // The job summary has each host's full diff.
      expect(r.summary).toContain('Closure diff: web1')
      expect(r.summary).toContain('Closure diff: db1')
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    "comments a fork's report on the pull request named by 'pull-request' only when its head is the run's commit",
    async () => {
      const one = await diffStep({
        report: 'report/diff-web1.json',
        'pull-request': '32',
        comment: 'true'
      })
      expect(one.failure).toBeUndefined()
      expect(warnings(one)).toEqual([])
      expect(one.outputs['diff-summary']).toBe(summaries.web1)
      expect(fs.readFileSync(one.outputs['diff-json-file'], 'utf8')).toBe(
        fs.readFileSync(path.join(work, 'report/diff-web1.json'), 'utf8')
      )
      const comments = api.comments('octo/fleet', 32)
      expect(comments).toHaveLength(1)
      expect(parseComment(comments[0].body)!.sections.map(s => s.host)).toEqual(['web1'])

      // Pull request 33's head is another commit: a report cannot be directed into it.
      const other = await diffStep({
        report: 'report/diff-web1.json',
        'pull-request': '33',
        comment: 'true'
      })
      expect(other.exitCode).toBe(0)
      expect(warnings(other).join('\n')).toMatch(
        /^Pull request octo\/fleet#33 \(input 'pull-request'\) has head commit bbbbbbbbbbbb, not the commit aaaaaaaaaaaa the workflow run built, so the comment was not written/
      )
      expect(api.comments('octo/fleet', 33)).toEqual([])

      // A number that disagrees with the event's pull request is refused.
      const mismatch = await diffStep(
        { report: 'report', 'pull-request': '32', comment: 'true' },
        workflowRun([31])
      )
      expect(mismatch.exitCode).toBe(1)
      expect(mismatch.failure).toBe(
        "Input 'pull-request' is 32, but this run's event is about pull request #31."
      )

      // Without a number a fork's run has nothing to comment on: a notice that says what to do.
      const none = await diffStep({ report: 'report', comment: 'true' })
      expect(none.exitCode).toBe(0)
      expect(
        none.annotations
          .filter(a => a.level === 'notice')
          .map(a => a.message)
          .join('\n')
      ).toMatch(/pass its number in 'pull-request'/)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    "diff-summary is made from the report's numbers, one line, never the fork's text (issue 15)",
    async () => {
      fs.mkdirSync(path.join(work, 'forged'), { recursive: true })
      fs.writeFileSync(
        path.join(work, 'forged', 'diff-web1.json'),
        JSON.stringify({
          ...web1Json,
          summary: 'no changes \u2705 approved\n::error::forged\nline3 \u202e'
        })
      )
      const r = await diffStep({ report: 'forged' })
      expect(r.failure).toBeUndefined()
      expect(r.outputs['diff-summary']).toBe(summaries.web1)
      expect(r.outputs['diff-summary']).not.toMatch(/[\n\r\u2028\u2029\u202e]|approved|::/)
      expect(r.stdout).not.toMatch(/approved/)
    },
    T
  )

  it(
    'fails with one sentence naming the file for a malformed report, and the inputs it cannot take',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-report-bad-'))
      try {
        const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text)
        write('truncated.json', JSON.stringify(web1Json).slice(0, 200))
        write('v2.json', JSON.stringify({ ...web1Json, schemaVersion: 2 }))
        write(
          'badkind.json',
          JSON.stringify({
            ...web1Json,
            packages: [{ ...(web1Json.packages as object[])[0], kind: 'exploded' }]
          })
        )
        write('badhost.json', JSON.stringify({ ...web1Json, host: 'web1\n::error::forged' }))
        write('badpath.json', JSON.stringify({ ...web1Json, afterPath: '/etc/passwd' }))
        write('array.json', '[]')
        const cases: [Record<string, string>, string | RegExp][] = [
          [{ report: 'truncated.json' }, /^The diff report 'truncated\.json' is not JSON \(/],
          [
            { report: 'v2.json' },
            "The diff report 'v2.json' has schemaVersion '2', but this version of the action reads schemaVersion 1 (docs/diff-schema.md)."
          ],
          [
            { report: 'badkind.json' },
            "The diff report 'badkind.json' is not a valid closure diff (schema version 1): packages[0].kind must be one of added, removed, upgraded, downgraded, changed, size-only."
          ],
          [
            { report: 'badhost.json' },
            "The diff report 'badhost.json' is not a valid closure diff (schema version 1): host is not a valid host name ('web1\\n::error::forged')."
          ],
          [
            { report: 'badpath.json' },
            "The diff report 'badpath.json' is not a valid closure diff (schema version 1): afterPath is not a store path ('/etc/passwd')."
          ],
          [
            { report: 'array.json' },
            "The diff report 'array.json' is not a valid closure diff (schema version 1): the document must be an object."
          ],
          [{ report: 'missing.json' }, "Input 'report': 'missing.json' does not exist."],
          [
            { report: 'v2.json', before: '/nix/store/x' },
            "Inputs 'report' and 'before' are both given; with 'report' the diffs come from the report files."
          ],
          [
            { report: 'v2.json', 'pull-request': '12abc' },
            "Input 'pull-request' must be a positive whole number, not '12abc'"
          ],
          [
            { before: '/nix/store/x', after: '/nix/store/y', 'pull-request': '3' },
            "Input 'pull-request' is only read with 'report'; otherwise the pull request is the event's."
          ]
        ]
        const runs = await Promise.all(
          cases.map(([inputs]) => diffStep({ comment: 'true', ...inputs }, workflowRun([31]), dir))
        )
        runs.forEach((r, i) => {
          expect({ i, exitCode: r.exitCode }).toEqual({ i, exitCode: 1 })
          const want = cases[i][1]
          if (typeof want === 'string') expect(r.failure).toMatch(new RegExp(`^${escapeRe(want)}`))
          else expect(r.failure).toMatch(want)
          expect(r.failure!.includes('\n')).toBe(false)
          expect(r.failure).not.toMatch(/internal error/i)
        })
        // Nothing reached the comment.
        expect(parseComment(api.comments('octo/fleet', 31)[0].body)!.sections).toHaveLength(2)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    T
  )

  it(
    'renders hostile strings in a valid report as text: no HTML, no mentions, no workflow commands',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-report-hostile-'))
      try {
        const pkg = (web1Json.packages as Record<string, unknown>[])[0]
        const hostile = {
          ...web1Json,
          host: 'evil1',
          summary: '<img src=x onerror=alert(1)> @everyone\n::error::forged annotation',
          packages: [
            {
              ...pkg,
              name: '</details><script>alert(1)</script>',
              addedVersions: ['`](javascript:alert(1))'],
              removedVersions: ['<!-- nix-deploy:section v1 AAAA -->']
            }
          ]
        }
        fs.writeFileSync(path.join(dir, 'evil.json'), JSON.stringify(hostile))
        const r = await diffStep({ report: 'evil.json', comment: 'true' }, workflowRun([31]), dir)
        expect(r.failure).toBeUndefined()
        // The summary could not start a line of its own in the log.
        expect(r.stdout).not.toMatch(/^::error::forged/m)
        expect(r.annotations.map(a => a.message)).not.toContain('forged annotation')
        const body = api.comments('octo/fleet', 31)[0].body
        expect(body).not.toContain('<script>')
        expect(body).not.toContain('<img')
        expect(body).not.toContain('@everyone')
        const parsed = parseComment(body)!
        // The forged section marker did not become a section.
        expect(parsed.sections.map(s => s.host)).toEqual(['db1', 'evil1', 'web1'])
        expect(r.summary).not.toContain('<script>')
        expect(api.violations).toEqual([])
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    T
  )
})

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
