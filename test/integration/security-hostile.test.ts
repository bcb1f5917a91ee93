/**
 * Security (issue 15): hostile pull requests, round two, through the committed bundles.
 *
 * 1. A forged sticky comment: anyone who can comment on a pull request can post a comment that
 *    carries the suite's hidden marker and a forged section. Only the token's own comment counts;
 *    nobody else's comment is edited or deleted; a section read back from a comment is data (its
 *    Markdown made safe again, a date in the future refused). Tested with the forgery older and
 *    newer than the bot's comment.
 * 2. Flake and host text as workflow commands: the runner reads any output line that starts with
 *    `::` (after leading whitespace) as a command. Nix's output, a host's output and flake values
 *    reach the log of check, matrix, build, dry-activate and deploy; none may act as a command.
 * 3. Fields that passed unvalidated: the matrix's `system`, deploy-rs `sshOpts` (`-p 99999`,
 *    `-o ProxyJump=-Fevil`, `-J`, which cannot be pinned), and one bad host, which must not take
 *    the whole matrix down.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  cleanupRun,
  parseWorkflowCommands,
  runAction,
  workflowCommandLines,
  type ActionRun
} from '../harness/action-runner.js'
import { nixBuild, startFleet, type Fleet } from '../harness/fleet.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'
import { parseComment, renderComment, type HostSection } from '../../src/core/sticky-comment.js'

const T = 240_000
const BOT = 'ghs_hostilebottoken00000000000000001'
const MALLORY = 'ghp_mallorytoken0000000000000000000001'
const PR = 9
const prEvent = {
  name: 'pull_request',
  payload: {
    number: PR,
    pull_request: {
      number: PR,
      head: { ref: 'change', repo: { full_name: 'octo/fleet' } },
      base: { ref: 'main', repo: { full_name: 'octo/fleet' } }
    },
    repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
  }
}

function flake(next: boolean): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations.h1 = lib.mkHost { name = "h1"; packages = ${next ? '[ pkgs.nginx pkgs.htop ]' : '[ pkgs.nginx ]'}; };
    };
}
`
}

/** What the forger writes into a section: the attack of issue 15, part 1. */
const FORGED_MARKDOWN = [
  'No changes. ✅ Reviewed and approved by @acme/security-team',
  '',
  '![tracker](https://evil.example/pixel.png)',
  '',
  '[Sign in to see the full diff](https://evil.example/login)',
  '',
  '</details></details>',
  '<img src=x onerror=alert(1)>'
].join('\n')

function forgedSection(host: string, updatedAt: string): HostSection {
  return {
    host,
    kind: 'diff',
    changed: false,
    summary: 'No changes',
    levels: { full: FORGED_MARKDOWN, selected: FORGED_MARKDOWN, summary: FORGED_MARKDOWN },
    updatedAt,
    runUrl: 'https://evil.example/phish'
  }
}

/** The forged comment, as the attacker posts it (the suite's own renderer makes a perfect one). */
function forgedBody(): string {
  return renderComment([
    forgedSection('h1', '2099-01-01T00:00:00.000Z'),
    forgedSection('db9', '2099-01-01T00:00:00.000Z')
  ])
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
  api.addToken(BOT, { contents: 'read', pull_requests: 'write', issues: 'write' })
  // Anyone can comment on a public repository's pull request: a plain user's token.
  api.addToken(MALLORY, { issues: 'write', pull_requests: 'write' }, { login: 'mallory' })
}, T)

afterAll(async () => {
  for (const r of runs) cleanupRun(r)
  repo?.remove()
  await api?.close()
})

async function post(token: string, issue: number, body: string): Promise<number> {
  const res = await fetch(`${api.url}/repos/octo/fleet/issues/${issue}/comments`, {
    method: 'POST',
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body })
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: number }).id
}

async function build(issue: number, inputs: Record<string, string> = {}): Promise<ActionRun> {
  const run = await runAction({
    action: 'build',
    workspace: repo.dir,
    inputs: { host: 'h1', 'diff-against': base, comment: 'true', cache: 'false', ...inputs },
    env: api.env(BOT),
    token: BOT,
    event: {
      ...prEvent,
      payload: {
        ...prEvent.payload,
        number: issue,
        pull_request: { ...prEvent.payload.pull_request, number: issue }
      }
    }
  })
  runs.push(run)
  return run
}

/** What the forgery must never achieve in the bot's comment. */
function expectNoForgery(body: string): void {
  const section = parseComment(body)!.sections.find(s => s.host === 'h1')!
  expect(section).toBeDefined()
  expect(section.changed).toBe(true)
  expect(section.updatedAt < '2098').toBe(true)
  expect(body).not.toMatch(/Reviewed and approved/)
  expect(body).not.toMatch(/@acme/)
  expect(body).not.toMatch(/evil\.example/)
  expect(body).not.toMatch(/db9/)
}

function requestsOn(commentId: number, method: string) {
  return api.requests.filter(
    r => r.method === method && r.path.endsWith(`/issues/comments/${commentId}`)
  )
}

describe('a forged sticky comment (issue 15, part 1)', () => {
  it(
    'older than the bot comment: ignored with a warning, never edited; the bot writes its own',
    async () => {
      const issue = PR
      api.addPullRequest('octo/fleet', { number: issue })
      const forged = forgedBody()
      const forgery = await post(MALLORY, issue, forged)
      const run = await build(issue)
      expect(run.failure).toBeUndefined()
      const comments = api.comments('octo/fleet', issue)
      expect(comments.map(c => c.user.login)).toEqual(['mallory', 'github-actions[bot]'])
      // The attacker's comment is untouched: not edited, not deleted.
      expect(comments[0].id).toBe(forgery)
      expect(comments[0].body).toBe(forged)
      expect(requestsOn(forgery, 'PATCH')).toEqual([])
      expect(requestsOn(forgery, 'DELETE')).toEqual([])
      expectNoForgery(comments[1].body)
      const warnings = run.annotations.filter(a => a.level === 'warning').map(a => a.message)
      expect(warnings.join('\n')).toMatch(
        new RegExp(`Comment ${forgery} .* written by "mallory", not "github-actions\\[bot\\]"`)
      )
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'newer than the bot comment: the bot edits only its own, merges nothing from the forgery, deletes nothing',
    async () => {
      const issue = PR + 1
      api.addPullRequest('octo/fleet', { number: issue })
      const first = await build(issue)
      expect(first.failure).toBeUndefined()
      const mine = api.comments('octo/fleet', issue)[0]
      expect(mine.user.login).toBe('github-actions[bot]')
      const forged = forgedBody()
      const forgery = await post(MALLORY, issue, forged)
      await new Promise(r => setTimeout(r, 1100)) // a later updatedAt than the first run's
      const second = await build(issue)
      expect(second.failure).toBeUndefined()
      const comments = api.comments('octo/fleet', issue)
      expect(comments.map(c => [c.id, c.user.login])).toEqual([
        [mine.id, 'github-actions[bot]'],
        [forgery, 'mallory']
      ])
      expect(comments[1].body).toBe(forged)
      expect(requestsOn(forgery, 'PATCH')).toEqual([])
      expect(requestsOn(forgery, 'DELETE')).toEqual([])
      expectNoForgery(comments[0].body)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    "a section in the bot's own comment is data: its Markdown made safe again, a future date refused",
    async () => {
      // The same identity writes for every workflow of the repository (GITHUB_TOKEN), so a
      // comment by github-actions[bot] may still hold sections this suite did not write.
      const issue = PR + 2
      api.addPullRequest('octo/fleet', { number: issue })
      const planted = await post(BOT, issue, forgedBody())
      const run = await build(issue)
      expect(run.failure).toBeUndefined()
      const comments = api.comments('octo/fleet', issue)
      expect(comments.map(c => c.id)).toEqual([planted])
      const body = comments[0].body
      // The future-dated sections are refused: h1 is the real one, db9 is gone.
      expectNoForgery(body)
      expect(api.violations).toEqual([])

      // Sections dated in the past keep their place, but render as data.
      const issue2 = PR + 3
      api.addPullRequest('octo/fleet', { number: issue2 })
      await post(BOT, issue2, renderComment([forgedSection('db9', '2020-01-01T00:00:00.000Z')]))
      const again = await build(issue2)
      expect(again.failure).toBeUndefined()
      const body2 = api.comments('octo/fleet', issue2)[0].body
      const visible = body2.slice(0, body2.indexOf('<!-- nix-deploy-action:data -->'))
      expect(visible).toMatch(/db9/)
      expect(visible).not.toMatch(/@acme/) // the mention is defused (a zero-width space after @)
      // Links and images are broken even with the zero-width spaces taken out.
      const plain = visible.replace(/\u200B/g, '')
      expect(plain).not.toMatch(/!\[tracker\]/)
      expect(plain).not.toMatch(/\]\(https:\/\/evil/)
      expect(visible).not.toMatch(/<img/)
      expect(visible).not.toMatch(/evil\.example\/phish/)
      const open = (visible.match(/<details[\s>]/g) ?? []).length
      const close = (visible.match(/<\/details>/g) ?? []).length
      expect(open).toBe(close)
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    "comment-author names an App token's identity; the default warns when the token writes as someone else",
    async () => {
      const APP = 'ghs_apptoken000000000000000000000001'
      api.addToken(
        APP,
        { contents: 'read', pull_requests: 'write', issues: 'write' },
        { login: 'fleet-bot[bot]', type: 'Bot' }
      )
      const issue = PR + 4
      api.addPullRequest('octo/fleet', { number: issue })
      const run = (author?: string) =>
        runAction({
          action: 'build',
          workspace: repo.dir,
          inputs: {
            host: 'h1',
            'diff-against': base,
            comment: 'true',
            cache: 'false',
            ...(author ? { 'comment-author': author } : {})
          },
          env: api.env(APP),
          token: APP,
          event: {
            ...prEvent,
            payload: {
              ...prEvent.payload,
              number: issue,
              pull_request: { ...prEvent.payload.pull_request, number: issue }
            }
          }
        }).then(r => (runs.push(r), r))
      const first = await run()
      expect(first.failure).toBeUndefined()
      expect(first.annotations.map(a => a.message).join('\n')).toMatch(
        /writes comments as "fleet-bot\[bot\]".*set input 'comment-author'/
      )
      const second = await run('fleet-bot[bot]')
      expect(second.failure).toBeUndefined()
      expect(second.annotations.filter(a => a.level === 'warning')).toEqual([])
      expect(api.comments('octo/fleet', issue).map(c => c.user.login)).toEqual(['fleet-bot[bot]'])
      expect(api.violations).toEqual([])
    },
    T
  )
})

/** Lines a hostile flake or host prints: commands, indented ones, the old `##[` form. */
const COMMANDS = [
  '::add-mask::web-01',
  '  ::error file=README.md,line=1,title=Security review::This PR is approved',
  '\t::warning::PWNED-WARNING',
  '::stop-commands::tok',
  '##[add-mask]PWNED-V1',
  'trailing text'
].join('\n')

function nixString(s: string): string {
  return JSON.stringify(s).replace(/\$\{/g, '\\${')
}

const COMMAND_FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      payload = ${nixString(COMMANDS)};
      payloadFile = builtins.toFile "payload" payload;
    in {
      # Evaluation prints the text as a trace and fails with it.
      nixosConfigurations = builtins.trace payload (throw payload);
      packages.x86_64-linux = {
        # A build that prints the text and fails.
        failing = lib.mkDerivation { name = "failing"; script = "cat \${payloadFile}; cat \${payloadFile} >&2; exit 1"; };
        # A system whose switch-to-configuration prints the text and fails (dry-activate, switch).
        system = lib.mkDerivation {
          name = "nixos-system-h1-evil";
          script = ''
            mkdir -p $out/bin
            { echo '#!/bin/sh'; echo 'cat \${payloadFile}; cat \${payloadFile} >&2; exit 1'; } > $out/bin/switch-to-configuration
            chmod +x $out/bin/switch-to-configuration
          '';
        };
      };
    };
}
`

/** Nothing the flake or host printed acted as a workflow command, yet it is in the log. */
function expectInert(run: ActionRun, what: string): void {
  const output = `${run.stdout}\n${run.stderr}`
  // It reached the log (so this check could fail)...
  expect({ what, shown: output.includes('This PR is approved') }).toEqual({ what, shown: true })
  // ...but as text: no line the runner reads as a command is one of the flake's lines (the
  // action's own annotations may quote them, escaped, as their message).
  const injected = COMMANDS.split('\n')
    .map(l => l.trim())
    .filter(l => l.startsWith('::'))
  const commands = workflowCommandLines(output)
  expect({ what, injected: commands.filter(c => injected.some(l => c.startsWith(l))) }).toEqual({
    what,
    injected: []
  })
  expect({ what, v1: /##\[/.test(output) }).toEqual({ what, v1: false })
  const parsed = parseWorkflowCommands(run.stdout)
  expect(parsed.masks).not.toContain('web-01')
  expect(
    parsed.annotations.filter(
      a =>
        a.file === 'README.md' ||
        a.title === 'Security review' ||
        /^(This PR is approved|PWNED)/.test(a.message)
    )
  ).toEqual([])
  // stop-commands was never obeyed: the action's own failure annotation is still read.
  expect(commands.some(c => c.startsWith('::stop-commands::'))).toBe(false)
  // The action's own failure is still there, as its last error annotation.
  expect(run.failure).toBeDefined()
}

describe('flake and host text as workflow commands (issue 15, part 2)', () => {
  let evil: FlakeRepo
  let fleet: Fleet
  let system: string
  beforeAll(async () => {
    evil = makeFlakeRepo({ 'flake.nix': COMMAND_FLAKE })
    system = await nixBuild(`git+file://${evil.dir}#system`)
    fleet = await startFleet({ hosts: ['h1'] })
  }, T)
  afterAll(async () => {
    await fleet?.stop()
    evil?.remove()
  })
  const ssh = () => ({
    target: `root@${fleet.host('h1').address}`,
    'ssh-private-key': fleet.privateKey,
    'ssh-known-hosts': fleet.knownHosts
  })
  const act = async (action: string, inputs: Record<string, string>) => {
    const run = await runAction({ action, workspace: evil.dir, inputs })
    runs.push(run)
    return run
  }

  it(
    'check and matrix: an evaluation error and a trace',
    async () => {
      expectInert(await act('check', { 'lock-max-age-days': '0' }), 'check')
      expectInert(await act('matrix', {}), 'matrix')
    },
    T
  )

  it(
    'build: a failing build log',
    async () => {
      expectInert(await act('build', { installable: '.#failing', cache: 'false' }), 'build')
    },
    T
  )

  it(
    "dry-activate and deploy: what the host's switch-to-configuration prints",
    async () => {
      expectInert(
        await act('dry-activate', { host: 'h1', 'store-path': system, ...ssh() }),
        'dry-activate'
      )
      expectInert(await act('deploy', { host: 'h1', 'store-path': system, ...ssh() }), 'deploy')
    },
    T
  )
})

describe('flake fields that passed unvalidated (issue 15, part 3)', () => {
  const SYSTEM = 'x86_64-linux\n::error::injected`<b>x</b>`'
  const FIELDS_FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      host = name: args: lib.mkHost ({ inherit name; } // args);
    in {
      nixosConfigurations = {
        web = host "web" { };
        sys = host "sys" { system = ${nixString(SYSTEM)}; };
        p1 = host "p1" { };
        pj = host "pj" { };
        jj = host "jj" { };
      };
      deploy.nodes = {
        p1 = { hostname = "127.0.0.1"; sshOpts = [ "-p" "99999" ]; };
        pj = { hostname = "127.0.0.1"; sshOpts = [ "-o" "ProxyJump=-Fevil" ]; };
        jj = { hostname = "127.0.0.1"; sshOpts = [ "-J" "root@bastion" ]; };
      };
    };
}
`
  let fields: FlakeRepo
  beforeAll(() => {
    fields = makeFlakeRepo({ 'flake.nix': FIELDS_FLAKE })
  }, T)
  afterAll(() => fields?.remove())

  it(
    'with no selector, each bad host is left out with a warning naming it and why; the good host stays',
    async () => {
      const run = await runAction({ action: 'matrix', workspace: fields.dir, inputs: {} })
      runs.push(run)
      expect(run.failure).toBeUndefined()
      expect(JSON.parse(run.outputs.hosts)).toEqual(['web'])
      const matrix = JSON.parse(run.outputs.matrix) as { include: Record<string, unknown>[] }
      expect(matrix.include).toEqual([
        {
          host: 'web',
          system: 'x86_64-linux',
          target: 'root@web',
          tags: [],
          'runs-on': 'ubuntu-latest'
        }
      ])
      expect(run.outputs.matrix).not.toMatch(/injected|::|`|<b>/)
      const warnings = run.annotations.filter(a => a.level === 'warning').map(a => a.message)
      const about = (host: string) => warnings.filter(w => w.includes(`host ${host} is left out`))
      expect(about('sys').join('\n')).toMatch(
        /Host sys's nixpkgs\.hostPlatform\.system .* not a Nix system name/
      )
      expect(about('p1').join('\n')).toMatch(/'-p 99999'.*port must be a number from 1 to 65535/)
      expect(about('pj').join('\n')).toMatch(/ProxyJump=-Fevil.*not allowed from flake data/)
      expect(about('jj').join('\n')).toMatch(
        /'-J'.*jump host would be reached without the pinned key/
      )
      // The injected system never became a command either.
      expect(
        workflowCommandLines(run.stdout).filter(l => l.startsWith('::error::injected'))
      ).toEqual([])
    },
    T
  )

  it(
    "a selector that names only bad hosts fails the step with the first one's sentence",
    async () => {
      const run = await runAction({ action: 'matrix', workspace: fields.dir, inputs: { on: 'p1' } })
      runs.push(run)
      expect(run.exitCode).toBe(1)
      expect(run.failure).toMatch(/^Host p1: deploy\.nodes\.p1\.sshOpts .*'-p 99999'/)
    },
    T
  )
})

describe('invisible and bidirectional characters (issue 15, part 3)', () => {
  it(
    "are shown as <U+XXXX> in the check's summary and annotations, never passed through",
    async () => {
      const text = 'approved \u202Eexe.txt\u202C and\u200Bhidden \u2066x\u2069'
      const bidi = makeFlakeRepo({
        'flake.nix': `{ outputs = { self }: { nixosConfigurations = throw ${nixString(text)}; }; }\n`
      })
      try {
        const run = await runAction({
          action: 'check',
          workspace: bidi.dir,
          inputs: { 'lock-max-age-days': '0' }
        })
        runs.push(run)
        expect(run.failure).toBeDefined()
        expect(run.summary).toMatch(/U\\?\+202E/)
        expect(run.summary).toMatch(/U\\?\+2066/)
        const raw = /[\u202A-\u202E\u2066-\u2069]/
        expect(run.summary).not.toMatch(raw)
        // Markdown's own defusing uses U+200B after '@' and '#' only: never the flake's.
        expect(run.summary).not.toMatch(/and\u200Bhidden/)
        const annotations = run.annotations.map(a => a.message).join('\n')
        expect(annotations).toMatch(/approved/)
        expect(annotations).not.toMatch(raw)
      } finally {
        bidi.remove()
      }
    },
    T
  )
})
