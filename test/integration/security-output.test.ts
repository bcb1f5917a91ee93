/**
 * Security (issue 6, part 3): hostile content in what the suite writes.
 *
 * Nix error text, package names and versions, and what a host prints (a health check's output)
 * end up in job summaries, pull request comments and annotations. Written by a pull request (or a
 * compromised host), they must not break out of a table or a code block, close a `<details>`,
 * inject HTML, or mention a user or a team. The check below reads the Markdown as GitHub would:
 * code blocks and code spans are literal (GitHub links nothing there), everything else must carry
 * no raw mention, no raw HTML tag beyond the suite's own, balanced `<details>`, and tables whose
 * rows have as many cells as their header.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
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
const TOKEN = 'ghs_outputtesttoken0000000000000001'
const PR = 5
const prEvent = {
  name: 'pull_request',
  payload: {
    number: PR,
    pull_request: { number: PR },
    repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
  }
}

/** What a hostile pull request or host would print. */
const PAYLOAD =
  '</details> @octo/admins @mallory #1 GH-2 | x | ``` <img src=x onerror=alert(1)> <!-- [l](https://evil.example) www.evil.example'

/** Markdown with code blocks and code spans removed (their content is literal on GitHub). */
function outsideCode(md: string): string {
  const lines = md.split('\n')
  const kept: string[] = []
  let fence: string | null = null
  for (const line of lines) {
    const m = /^\s*(`{3,})/.exec(line)
    if (fence) {
      if (m && m[1].length >= fence.length && line.trim() === m[1]) fence = null
      continue
    }
    if (m) {
      fence = m[1]
      continue
    }
    kept.push(line)
  }
  return (
    kept
      // The suite's own hidden markers (the sticky comment's id and data) are its HTML comments.
      .filter(l => !/^<!-- nix-deploy[a-z-]*:[a-z-]+( [A-Za-z0-9+/= .]*)? -->$/.test(l))
      .join('\n')
      // Backslash-escaped backticks are text, not code delimiters.
      .replace(/\\`/g, 'BT')
      // Inline code spans (within a line): a run of N backticks up to the next run of exactly N.
      .replace(/(?<!`)(`+)(?!`)([^\n]*?[^`\n])\1(?!`)/g, ' CODE ')
  )
}

/** Problems GitHub's renderer would turn into markup, mentions or broken tables. */
function renderProblems(md: string, where: string): string[] {
  const text = outsideCode(md)
  const problems: string[] = []
  if (/@(?:octo|mallory)\b/.test(text)) problems.push(`${where}: a raw mention`)
  if (/(^|[^\\])#1\b|GH-2/.test(text)) problems.push(`${where}: a raw issue reference`)
  if (/https:\/\/evil|www\.evil/.test(text)) problems.push(`${where}: a raw link`)
  if (/<img|<!--/i.test(text)) problems.push(`${where}: raw HTML`)
  const open = (text.match(/<details[\s>]/g) ?? []).length
  const close = (text.match(/<\/details>/g) ?? []).length
  if (open !== close) problems.push(`${where}: ${open} <details> but ${close} </details>`)
  // Tables: every row has the header's number of cells (escaped pipes do not count).
  const lines = md.split('\n')
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^\|.*\|$/.test(lines[i]) || !/^\|\s*:?-+/.test(lines[i + 1])) continue
    const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length
    const want = cells(lines[i])
    for (let j = i + 2; j < lines.length && /^\|/.test(lines[j]); j++)
      if (cells(lines[j]) !== want)
        problems.push(
          `${where}: table row ${JSON.stringify(lines[j].slice(0, 80))} has a different number of cells`
        )
  }
  return problems
}

function nixString(s: string): string {
  return JSON.stringify(s).replace(/\$\{/g, '\\${')
}

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      # The strangest package names and versions a derivation name allows.
      odd = lib.mkPackage { pname = "__init__"; version = "1.0_rc+1=?"; };
      odd2 = lib.mkPackage { pname = "a+b_=c"; version = "2.0"; };
    in {
      nixosConfigurations = {
        web = lib.mkHost { name = "web"; packages = [ pkgs.nginx ]; };
        web2 = lib.mkHost { name = "web"; packages = [ pkgs.nginx odd odd2 ]; };
      };
    };
}
`

let repo: FlakeRepo
let api: GitHubApi
let fleet: Fleet
let host: SimHost
const sys: Record<string, string> = {}
const runs: ActionRun[] = []

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  sys.web = await buildToplevel(repo.path, 'web')
  sys.web2 = await buildToplevel(repo.path, 'web2')
  api = await startGitHubApi()
  api.addToken(TOKEN, { issues: 'write', pull_requests: 'write' })
  api.addPullRequest('octo/fleet', { number: PR })
  fleet = await startFleet({ hosts: ['h1'] })
  host = fleet.host('h1')
  await fleet.install(host, sys.web)
}, T)

afterAll(async () => {
  for (const r of runs) cleanupRun(r)
  await fleet?.stop()
  await repo?.remove()
  await api?.close()
})

describe('hostile content in summaries, comments and annotations', () => {
  it(
    'a Nix evaluation error carrying Markdown and HTML: the check summary and annotations stay inert',
    async () => {
      const bad = await makeFlakeRepo({
        'flake.nix': `{
  outputs = { self }: let lib = import ./lib; in {
    nixosConfigurations.web = lib.mkHost { name = "web"; } // { config = throw ${nixString(PAYLOAD)}; };
  };
}
`
      })
      try {
        const run = await runAction({
          action: 'check',
          workspace: bad.path,
          inputs: { 'lock-max-age-days': '0' }
        })
        runs.push(run)
        expect(run.exitCode).toBe(1)
        expect(run.outputs.result).toBe('failed')
        // The error's text is shown (people need it) ...
        expect(run.summary).toMatch(/octo/)
        // ... but inertly.
        expect(renderProblems(run.summary, 'check summary')).toEqual([])
        for (const a of run.annotations) {
          expect(a.message).not.toMatch(/^::/m)
          expect(a.title ?? '').not.toContain('\n')
        }
      } finally {
        await bad.remove()
      }
    },
    T
  )

  it(
    'odd package names and versions in the build diff: the comment and the summary keep their tables',
    async () => {
      const run = await runAction({
        action: 'build',
        workspace: repo.path,
        inputs: { host: 'web2', 'diff-against': sys.web, comment: 'true', cache: 'false' },
        env: api.env(TOKEN),
        token: TOKEN,
        event: prEvent
      })
      runs.push(run)
      expect(run.failure).toBeUndefined()
      expect(run.summary).toContain('init')
      const comments = api.comments('octo/fleet', PR)
      expect(comments).toHaveLength(1)
      expect(comments[0].body).toContain('init')
      expect(renderProblems(run.summary, 'build summary')).toEqual([])
      expect(renderProblems(comments[0].body, 'comment')).toEqual([])
      // `__init__` must not render as bold: outside code it is escaped.
      expect(outsideCode(comments[0].body)).not.toMatch(/(^|[^\\])__init__/)
    },
    T
  )

  it(
    "what a host prints (a failing health check's output) is inert in the deploy summary and the failure",
    async () => {
      const run = await runAction({
        action: 'deploy',
        workspace: repo.path,
        inputs: {
          host: 'web',
          target: `root@${host.address}`,
          'store-path': sys.web2,
          'ssh-private-key': fleet.privateKey,
          'ssh-known-hosts': fleet.knownHosts,
          'health-checks': `- command: ${JSON.stringify(`printf '%s\\n' ${shq(PAYLOAD)} >&2; printf '%s\\n' ${shq(PAYLOAD)}; exit 1`)}`,
          'health-timeout': '3'
        }
      })
      runs.push(run)
      expect(run.exitCode).toBe(1)
      expect(run.outputs.status).toBe('rolled-back')
      expect(await host.currentSystem()).toBe(sys.web)
      expect(renderProblems(run.summary, 'deploy summary')).toEqual([])
      expect(run.failure ?? '').not.toContain('\n')
      expect(JSON.parse(run.outputs.results)[0].error).not.toContain('\n')
    },
    T
  )
})

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
