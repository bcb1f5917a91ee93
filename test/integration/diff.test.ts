/**
 * The diff bundle with real nix: two store paths, two installables, two git revisions with a
 * host; the sticky comment written by 8 bundles at once against the GitHub API stand-in with
 * latency jitter; an oversized diff that must keep the comment under GitHub's limit; bad inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import { run } from '../../src/core/process.js'
import { COMMENT_MAX_CHARS, parseComment } from '../../src/core/sticky-comment.js'
import { runAction } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'
import { nixEnv } from '../harness/nix-env.js'

const T = 180_000
const BIG = 3000

function flake(next: boolean): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations = {
        web1 = lib.mkHost { name = "web1"; packages = ${next ? '[ pkgs.nginx_1_27 pkgs.curl ]' : '[ pkgs.nginx ]'}; };
        # ${BIG} tiny packages (toolN-1.0, files written at evaluation) that are all upgraded:
        # a diff far over a comment's size.
        big = lib.mkHost {
          name = "big";
          extraPackages = builtins.genList (i: builtins.toFile "tool\${toString i}-${next ? '1.1' : '1.0'}" "tool \${toString i}") ${BIG};
        };
      };
    };
}
`
}

let repo: FlakeRepo
let base: string
let head: string
let web1Before: string
let web1After: string
const PR = 42
const prEvent = {
  name: 'pull_request',
  payload: {
    number: PR,
    pull_request: { number: PR },
    repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
  }
}

async function build(installable: string): Promise<string> {
  const r = await run(['nix', 'build', '--json', '--no-link', installable], {
    timeoutMs: T,
    env: nixEnv()
  })
  return JSON.parse(r.stdout)[0].outputs.out as string
}

beforeAll(async () => {
  repo = makeFlakeRepo({ 'flake.nix': flake(false) })
  base = repo.head()
  web1Before = await build(`${repo.dir}#nixosConfigurations.web1.config.system.build.toplevel`)
  head = repo.commit({ 'flake.nix': flake(true) }, 'upgrade')
  web1After = await build(`${repo.dir}#nixosConfigurations.web1.config.system.build.toplevel`)
}, T)

afterAll(() => repo?.remove())

describe('diff action', () => {
  it(
    'diffs two store paths',
    async () => {
      const r = await runAction({
        action: 'diff',
        workspace: repo.dir,
        inputs: { before: web1Before, after: web1After }
      })
      expect(r.failure).toBeUndefined()
      expect(r.outputs.changed).toBe('true')
      expect(r.outputs['diff-summary']).toMatch(/^1 upgraded, 1 added, \+[\d.]+ KiB$/)
      const json = JSON.parse(fs.readFileSync(r.outputs['diff-json-file'], 'utf8'))
      expect(json).toMatchObject({
        schemaVersion: 1,
        beforePath: web1Before,
        afterPath: web1After,
        rebootRequired: false
      })
      expect(json.host).toBeUndefined()
      // Without a host the files are named after the after path.
      expect(r.outputs['diff-json-file']).toMatch(
        /diff-nixos-system-web1-24\.05\.20240715\.0000000\.json$/
      )
      expect(fs.readFileSync(r.outputs['diff-markdown-file'], 'utf8')).toContain('curl')
      expect(r.summary).toContain(web1Before)

      const same = await runAction({
        action: 'diff',
        workspace: repo.dir,
        inputs: { before: web1After, after: web1After }
      })
      expect(same.outputs.changed).toBe('false')
      expect(same.outputs['diff-summary']).toBe('no changes')
    },
    T
  )

  it(
    'diffs an installable against a git revision of a host',
    async () => {
      const r = await runAction({
        action: 'diff',
        workspace: repo.dir,
        inputs: {
          before: base,
          after: '.#nixosConfigurations.web1.config.system.build.toplevel',
          host: 'web1'
        }
      })
      expect(r.failure).toBeUndefined()
      const json = JSON.parse(fs.readFileSync(r.outputs['diff-json-file'], 'utf8'))
      expect(json.host).toBe('web1')
      expect([json.beforePath, json.afterPath]).toEqual([web1Before, web1After])
      expect(r.summary).toContain(`revision ${base.slice(0, 12)}`)
    },
    T
  )

  it(
    'refuses bad inputs with one sentence',
    async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [
          { before: base, after: 'HEAD' },
          /^Input 'before' is read as a git revision .* needs 'host'/
        ],
        [
          { before: 'main~5', after: 'HEAD', host: 'web1' },
          /^Input 'before': the git revision 'main~5' does not exist/
        ],
        [
          { before: base, after: 'HEAD', host: 'web7' },
          /^Host web7 does not exist at revision [0-9a-f]{12} \(input 'before'\); its hosts there are big, web1\.$/
        ],
        [
          { before: '/nix/store/not-a-store-path', after: web1After },
          /^Input 'before' is not a store path/
        ],
        [
          { before: '.#nixosConfigurations.web1.config.system.build.toplevel', after: '.#nope' },
          /does not provide attribute/
        ],
        [
          { before: web1Before, after: 'a..b', host: 'web1' },
          /^Input 'after' is not a git revision.*range/
        ]
      ]
      const runs = await Promise.all(
        cases.map(([inputs]) => runAction({ action: 'diff', workspace: repo.dir, inputs }))
      )
      runs.forEach((r, i) => {
        expect(r.exitCode).toBe(1)
        expect(r.failure).toMatch(cases[i][1])
        expect(r.failure!.includes('\n')).toBe(false)
      })
    },
    T
  )
})

describe('diff action: pull request comment', () => {
  let api: GitHubApi
  const TOKEN = 'ghs_difftesttoken00000000000001'
  beforeAll(async () => {
    api = await startGitHubApi({ latencyMs: { min: 5, max: 120 } })
    api.addToken(TOKEN, { issues: 'write', pull_requests: 'write' })
    api.addPullRequest('octo/fleet', { number: PR })
  })
  afterAll(async () => {
    await api?.close()
  })

  it(
    '8 bundles writing at once all end up in one comment',
    async () => {
      const hosts = Array.from({ length: 8 }, (_, i) => `host${i + 1}`)
      const runs = await Promise.all(
        hosts.map(host =>
          runAction({
            action: 'diff',
            workspace: repo.dir,
            inputs: { before: web1Before, after: web1After, host, comment: 'true' },
            env: api.env(TOKEN),
            token: TOKEN,
            event: prEvent
          })
        )
      )
      for (const r of runs) {
        expect(r.failure).toBeUndefined()
        expect(r.annotations.filter(a => a.level === 'warning')).toEqual([])
      }
      const comments = api.comments('octo/fleet', PR)
      expect(comments).toHaveLength(1)
      const sections = parseComment(comments[0].body)!.sections
      expect(sections.map(s => s.host)).toEqual(hosts)
      expect(
        sections.every(s => s.kind === 'diff' && s.changed && /1 upgraded, 1 added/.test(s.summary))
      ).toBe(true)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'a later push marks the sections of hosts it did not rebuild stale, naming both commits',
    async () => {
      const pr = PR + 1
      api.addPullRequest('octo/fleet', { number: pr })
      const push = (sha: string) => ({
        name: 'pull_request',
        payload: {
          number: pr,
          pull_request: { number: pr, head: { sha } },
          repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
        }
      })
      const [A, B, C] = ['a', 'b', 'c'].map(c => c.repeat(40))
      const write = async (host: string, sha: string) => {
        const r = await runAction({
          action: 'diff',
          workspace: repo.dir,
          inputs: { before: web1Before, after: web1After, host, comment: 'true' },
          env: api.env(TOKEN),
          token: TOKEN,
          event: push(sha)
        })
        expect(r.failure).toBeUndefined()
        expect(r.annotations.filter(a => a.level === 'warning')).toEqual([])
      }
      const read = () => {
        const comments = api.comments('octo/fleet', pr)
        expect(comments).toHaveLength(1)
        const body = comments[0].body
        const sections = parseComment(body)!.sections
        const block = (host: string) =>
          body.slice(
            body.indexOf(`${host} · diff`),
            body.indexOf('</details>', body.indexOf(`${host} · diff`))
          )
        return { body, sections, block, get: (h: string) => sections.find(s => s.host === h)! }
      }
      // First push: both hosts change and are built for A.
      await Promise.all([write('alpha', A), write('beta', A)])
      let c = read()
      expect(c.sections.map(s => [s.host, s.headSha, s.staleAt])).toEqual([
        ['alpha', A, undefined],
        ['beta', A, undefined]
      ])
      expect(c.body).not.toContain('stale')
      // Second push changes only alpha: the matrix leaves beta out. Its section stays, marked.
      await write('alpha', B)
      c = read()
      expect(c.get('alpha')).toMatchObject({ headSha: B })
      expect(c.get('alpha').staleAt).toBeUndefined()
      expect(c.get('beta')).toMatchObject({ headSha: A, staleAt: B })
      expect(c.block('beta')).toContain(
        `Not rebuilt at \`${B.slice(0, 12)}\`: this host is unchanged by the latest push. It was built for \`${A.slice(0, 12)}\`.`
      )
      expect(c.body).toContain('[stale] beta · diff')
      expect(c.block('alpha')).not.toContain('Not rebuilt')
      expect(c.body).toContain('1 of them is from an earlier push (marked stale)')
      // Third push changes only beta: beta is current again, alpha is now the stale one.
      await write('beta', C)
      c = read()
      expect(c.get('beta')).toMatchObject({ headSha: C })
      expect(c.get('beta').staleAt).toBeUndefined()
      expect(c.get('alpha')).toMatchObject({ headSha: B, staleAt: C })
      expect(c.block('beta')).not.toContain('Not rebuilt')
      expect(c.block('alpha')).toContain(`Not rebuilt at \`${C.slice(0, 12)}\``)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    "10 diff jobs at once lose no section under GitHub's rate-limit answers (the bundles' own clients)",
    async () => {
      const pr = PR + 2
      api.addPullRequest('octo/fleet', { number: pr })
      const event = {
        name: 'pull_request',
        payload: {
          number: pr,
          pull_request: { number: pr, head: { sha: 'd'.repeat(40) } },
          repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
        }
      }
      const from = api.requests.length
      const hosts = Array.from({ length: 10 }, (_, i) => `leg${i}`)
      // 3 content-creating requests per 2 s across all jobs, then 403 with retry-after: 1; the
      // first 2 requests meet an exhausted primary limit.
      api.limitContent({ contentPerWindow: 3, windowMs: 2000, retryAfterS: 1 })
      api.exhaustPrimaryLimit(2, 1)
      try {
        const results = await Promise.all(
          hosts.map(host =>
            runAction({
              action: 'diff',
              workspace: repo.dir,
              inputs: { before: web1Before, after: web1After, host, comment: 'true' },
              env: api.env(TOKEN),
              token: TOKEN,
              event
            })
          )
        )
        for (const r of results) {
          expect(r.failure).toBeUndefined()
          expect(r.annotations.filter(a => a.level === 'warning')).toEqual([])
        }
      } finally {
        api.limitContent(undefined)
      }
      const comments = api.comments('octo/fleet', pr)
      expect(comments).toHaveLength(1)
      expect(
        parseComment(comments[0].body)!
          .sections.map(s => s.host)
          .sort()
      ).toEqual(hosts)
      const answers = api.requests.slice(from)
      expect(answers.filter(r => r.status === 403 && r.method !== 'GET').length).toBeGreaterThan(0)
      expect(answers.filter(r => r.status === 403 && r.method === 'GET')).toHaveLength(2)
      expect(api.violations).toEqual([])
    },
    2 * T
  )

  it(
    'an oversized diff of two git revisions keeps the comment under 65,536 characters',
    async () => {
      // Hosts already in the comment (the 8 of the test before, when it ran) must stay.
      const earlier = api.comments('octo/fleet', PR)
      const earlierHosts = earlier.length
        ? parseComment(earlier[0].body)!.sections.map(s => s.host)
        : []
      const r = await runAction({
        action: 'diff',
        workspace: repo.dir,
        inputs: { before: base, after: head, host: 'big', comment: 'true' },
        env: api.env(TOKEN),
        token: TOKEN,
        event: prEvent
      })
      expect(r.failure).toBeUndefined()
      const json = JSON.parse(fs.readFileSync(r.outputs['diff-json-file'], 'utf8'))
      expect(json.counts.upgraded).toBe(BIG)
      // The full diff (files, summary) is far over the comment's limit...
      expect(fs.readFileSync(r.outputs['diff-markdown-file'], 'utf8').length).toBeGreaterThan(
        COMMENT_MAX_CHARS * 2
      )
      expect(r.summary.length).toBeGreaterThan(COMMENT_MAX_CHARS * 2)
      // ...and the comment holds it collapsed, next to the hosts written before.
      const comments = api.comments('octo/fleet', PR)
      expect(comments).toHaveLength(1)
      expect(comments[0].body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS)
      const sections = parseComment(comments[0].body)!.sections
      expect(sections.map(s => s.host).sort()).toEqual([...earlierHosts, 'big'].sort())
      expect(sections.find(s => s.host === 'big')!.summary).toBe(r.outputs['diff-summary'])
      expect(api.violations).toEqual([])
    },
    T
  )
})
