/**
 * A fleet past GitHub's 256 matrix jobs, end to end through the bundles: a 300-host fixture flake
 * (280 x86_64-linux, 20 aarch64-linux; tiny fake systems from test/fixtures/lib) packed by the
 * matrix action into shards of one system each, with each shard's runner from `runners`; one
 * shard built whole by the build action (`hosts`), each host with its own diff and its own
 * section of the sticky comment; and that one comment, through the real comment code against the
 * GitHub API stand-in, holding a section for every one of the 300 hosts within 65,536 characters.
 * Only one shard is built (4 hosts, both sides of the diff): the packing is checked to
 * cover all 300 hosts exactly once by evaluation alone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { runAction } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, COMMENT_BODY_LIMIT, type GitHubApi } from '../harness/github-api.js'
import { upsertSection } from '../../src/actions/pr-comment.js'
import { diffLevels } from '../../src/core/build.js'
import { MemoryLogger } from '../../src/core/log.js'
import { escapeMarkdown } from '../../src/core/markdown.js'
import { parseDiffJson } from '../../src/core/render-diff.js'
import {
  fitComment,
  mergeSections,
  parseComment,
  type HostSection
} from '../../src/core/sticky-comment.js'
import { getOctokit } from '@actions/github'

const T = 600_000
const X86 = 280
const ARM = 20
const BUMPED = 3 // node-000 … node-002 change between the base and the head

/** 300 hosts from lists: node-NNN (x86_64-linux, tags @web), arm-NN (aarch64-linux, @edge). */
function fleet(bumped: number): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      pad = w: i: let s = toString i; in builtins.substring 0 (w - builtins.stringLength s) "000" + s;
      site = i: lib.mkPackage { pname = "site"; version = if i < ${bumped} then "2.0" else "1.0"; };
      node = i: { name = "node-\${pad 3 i}"; value = lib.mkHost { name = "node-\${pad 3 i}"; packages = [ (site i) ]; deployment = { tags = [ "web" ]; }; }; };
      arm = i: { name = "arm-\${pad 2 i}"; value = lib.mkHost { name = "arm-\${pad 2 i}"; system = "aarch64-linux"; deployment = { tags = [ "edge" ]; }; }; };
    in {
      nixosConfigurations = builtins.listToAttrs (builtins.genList node ${X86} ++ builtins.genList arm ${ARM});
    };
}
`
}

const names = [
  ...Array.from({ length: X86 }, (_, i) => `node-${String(i).padStart(3, '0')}`),
  ...Array.from({ length: ARM }, (_, i) => `arm-${String(i).padStart(2, '0')}`)
]
const systemOf = (h: string) => (h.startsWith('arm-') ? 'aarch64-linux' : 'x86_64-linux')

const TOKEN = 'ghs_shardstesttoken0000000001'
const REPO = 'octo/fleet'
const PR = 300
const prEvent = {
  name: 'pull_request',
  payload: {
    number: PR,
    pull_request: { number: PR },
    repository: { name: 'fleet', full_name: REPO, owner: { login: 'octo' } }
  }
}

let repo: FlakeRepo
let base: string
let api: GitHubApi

beforeAll(async () => {
  repo = makeFlakeRepo({ 'flake.nix': fleet(0) })
  base = repo.head()
  repo.commit({ 'flake.nix': fleet(BUMPED) }, `bump site on ${BUMPED} hosts`)
  api = await startGitHubApi()
  api.addToken(TOKEN, { issues: 'write', pull_requests: 'write' })
  api.addPullRequest(REPO, { number: PR })
}, T)

afterAll(async () => {
  repo?.remove()
  await api?.close()
})

type Entry = Record<string, unknown>
const matrixOf = (run: { outputs: Record<string, string> }) =>
  (JSON.parse(run.outputs.matrix) as { include: Entry[] }).include

describe('a 300-host fleet', () => {
  let shards: { shard: number; hosts: string[]; system: string; 'runs-on': string }[] = []

  it(
    'matrix packs it into at most 256 shards of one system each, every host exactly once, each on its runner',
    async () => {
      const run = await runAction({
        action: 'matrix',
        workspace: repo.dir,
        inputs: { runners: '{"aarch64-linux":"ubuntu-24.04-arm"}' }
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.count).toBe('300')
      shards = matrixOf(run) as typeof shards
      expect(shards.length).toBeLessThanOrEqual(256)
      expect(shards.map(s => s.shard)).toEqual(shards.map((_, i) => i + 1))
      const all = shards.flatMap(s => s.hosts)
      expect([...all].sort()).toEqual([...names].sort())
      for (const s of shards) {
        expect(s.hosts.length).toBeGreaterThan(0)
        expect(new Set(s.hosts.map(systemOf))).toEqual(new Set([s.system]))
        expect(s['runs-on']).toBe(
          s.system === 'aarch64-linux' ? 'ubuntu-24.04-arm' : 'ubuntu-latest'
        )
      }
      expect(run.summary).toContain(
        'Runners (`runs-on`): `ubuntu-24.04-arm` 20 hosts, `ubuntu-latest` 280 hosts.'
      )
      // The map names no runner for x86_64-linux: those hosts fall back, with a notice.
      expect(run.annotations.filter(a => a.level === 'notice').map(a => a.message)).toEqual([
        expect.stringMatching(
          /^Input 'runners' has no entry for x86_64-linux \(hosts node-000, .* and 275 more\): they build on ubuntu-latest\./
        )
      ])
    },
    T
  )

  it(
    'with fewer hosts than max-jobs, each host entry carries its runs-on; a bad runners map fails in one sentence',
    async () => {
      const run = await runAction({
        action: 'matrix',
        workspace: repo.dir,
        inputs: {
          on: 'node-001 arm-03',
          runners: '{"aarch64-linux":"ubuntu-24.04-arm","*":"ubuntu-24.04"}'
        }
      })
      expect(run.failure).toBeUndefined()
      // In the flake's (alphabetical) host order.
      expect(matrixOf(run)).toEqual([
        {
          host: 'arm-03',
          system: 'aarch64-linux',
          target: 'root@arm-03',
          tags: ['edge'],
          'runs-on': 'ubuntu-24.04-arm'
        },
        {
          host: 'node-001',
          system: 'x86_64-linux',
          target: 'root@node-001',
          tags: ['web'],
          'runs-on': 'ubuntu-24.04'
        }
      ])
      const bad = await runAction({
        action: 'matrix',
        workspace: repo.dir,
        inputs: { runners: '{"aarch64-linux": ["self-hosted", "ARM64"]}' }
      })
      expect(bad.exitCode).toBe(1)
      expect(bad.failure).toMatch(
        /^Input 'runners' gives aarch64-linux an array, not a runner label/
      )
      expect(bad.failure!.includes('\n')).toBe(false)
    },
    T
  )

  it(
    'build refuses a shard naming a host the flake does not have, before building anything, and hosts with host',
    async () => {
      const run = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { hosts: '["node-010","node-999"]', cache: 'false' }
      })
      expect(run.exitCode).toBe(1)
      expect(run.failure).toMatch(/^Host node-999 does not exist in the flake '\.'/)
      expect(run.stdout).not.toMatch(/Building node-010/)
      const both = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { hosts: 'node-010', host: 'node-010', cache: 'false' }
      })
      expect(both.failure).toMatch(/^Inputs 'hosts' and 'host' are both given/)
    },
    T
  )

  it(
    'build takes one shard whole: each host built, diffed and commented; then the one comment holds all 300 hosts',
    async () => {
      // A smaller max-jobs gives shards of several hosts: one holds node-000 … node-002.
      const m = await runAction({
        action: 'matrix',
        workspace: repo.dir,
        inputs: { 'max-jobs': '100', runners: '{"aarch64-linux":"ubuntu-24.04-arm"}' }
      })
      expect(m.failure).toBeUndefined()
      const packed = matrixOf(m) as typeof shards
      expect(packed.length).toBeLessThanOrEqual(100)
      expect(packed.flatMap(s => s.hosts).sort()).toEqual([...names].sort())
      const first = packed.find(s => s.hosts.includes('node-000'))!
      // 280 x86_64 hosts in 93 shards and 20 aarch64 in 7: the first x86_64 shard holds 4, of
      // which node-000 … node-002 changed since the base and node-003 did not.
      expect(first.hosts).toEqual(['node-000', 'node-001', 'node-002', 'node-003'])
      const bumped = first.hosts.slice(0, BUMPED)

      const run = await runAction({
        action: 'build',
        workspace: repo.dir,
        // As the reusable workflow passes it: toJSON(matrix.hosts).
        inputs: {
          hosts: JSON.stringify(first.hosts, null, 2),
          'diff-against': base,
          comment: 'true',
          cache: 'false'
        },
        env: api.env(TOKEN),
        token: TOKEN,
        event: prEvent
      })
      expect(run.failure).toBeUndefined()
      expect(run.exitCode).toBe(0)
      const storePaths = JSON.parse(run.outputs['store-paths']) as Record<string, string>
      expect(Object.keys(storePaths)).toEqual(first.hosts)
      for (const [host, p] of Object.entries(storePaths)) {
        expect(p).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-nixos-system-${host}-`))
        expect(fs.existsSync(p)).toBe(true)
      }
      expect(new Set(Object.values(storePaths)).size).toBe(first.hosts.length)
      // Several hosts: no single store path stands for all of them.
      expect(run.outputs['store-path']).toBe('')
      expect(run.outputs['diff-json-file']).toBe('')
      expect(run.outputs.changed).toBe('true')
      expect(run.outputs['diff-summary']).toBe(
        `${BUMPED} of ${first.hosts.length} hosts changed (${bumped.join(', ')})`
      )
      // The job summary: one build section per host (Markdown escapes the name's '-').
      for (const h of first.hosts)
        expect(run.summary).toContain(`## Build: ${h.replace(/-/g, '\\-')}`)

      // One sticky comment, one section per host of the shard, each with its own diff.
      let comments = api.comments(REPO, PR)
      expect(comments).toHaveLength(1)
      const sections = parseComment(comments[0].body)!.sections
      expect(sections.map(s => s.host).sort()).toEqual(first.hosts)
      for (const s of sections)
        expect({ host: s.host, changed: s.changed, summary: s.summary }).toEqual({
          host: s.host,
          changed: bumped.includes(s.host),
          summary: bumped.includes(s.host)
            ? expect.stringMatching(/^1 upgraded/)
            : expect.any(String)
        })

      // The other 297 hosts' sections, written through the same comment code (their diffs are
      // the shard's own, read back from the build's diff files and named after each host).
      const diffDir = path.join(run.runnerTemp, 'nix-deploy')
      const diffs = fs
        .readdirSync(diffDir)
        .filter(f => f.endsWith('.json'))
        .map(f => parseDiffJson(fs.readFileSync(path.join(diffDir, f), 'utf8'), f))
      expect(diffs).toHaveLength(first.hosts.length)
      // The sections of 296 more hosts are merged and fitted by the comment code itself
      // (mergeSections, fitComment, as upsertSection does) and written in one update: written one
      // by one they would take GitHub's pacing of content-creating requests, a second each. The
      // 300th host then goes through upsertSection against the stand-in, which reads, merges,
      // fits and writes the whole comment again.
      const section = (host: string, i: number): HostSection => {
        const diff = diffs[i % diffs.length]
        return {
          host,
          kind: 'diff',
          changed: diff.changed,
          summary: diff.summary,
          levels: diffLevels(diff),
          updatedAt: new Date().toISOString()
        }
      }
      const others = names.filter(h => !first.hosts.includes(h))
      const before = api.comments(REPO, PR)[0]
      const merged = mergeSections(
        parseComment(before.body)!.sections,
        others.slice(0, -1).map((h, i) => section(h, i))
      )
      await getOctokit(TOKEN, { baseUrl: api.url }).rest.issues.updateComment({
        owner: 'octo',
        repo: 'fleet',
        comment_id: before.id,
        body: fitComment(merged).body
      })
      const last = others[others.length - 1]
      const r = await upsertSection({
        token: TOKEN,
        owner: 'octo',
        repo: 'fleet',
        issue: PR,
        section: section(last, others.length - 1),
        logger: new MemoryLogger(),
        baseUrl: api.url,
        settleMs: 0,
        retryDelayMs: { min: 1, max: 5 }
      })
      expect({ host: last, status: r.status }).toEqual({ host: last, status: 'written' })
      comments = api.comments(REPO, PR)
      expect(comments).toHaveLength(1)
      const body = comments[0].body
      if (process.env.SHARDS_DUMP) fs.writeFileSync(process.env.SHARDS_DUMP, body)
      expect(body.length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT)
      const all = parseComment(body)!.sections
      expect(all.map(s => s.host).sort()).toEqual([...names].sort())
      // Every host is visible in the comment itself, not only in its hidden data.
      const visible = body.replace(/<!--[\s\S]*?-->/g, '')
      expect(visible).not.toMatch(/more sections?: see the/)
      for (const h of names)
        expect({ h, shown: visible.includes(escapeMarkdown(h)) }).toEqual({ h, shown: true })
      expect(api.violations).toEqual([])
    },
    T
  )
})
