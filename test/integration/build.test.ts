/**
 * The build bundle on fixture hosts, with real nix: the build, its closure size, the diff against
 * the previous commit (an upgrade, an added package, a kernel bump), the diff files, the pull
 * request comment against the GitHub API stand-in, the closure cache against the Actions cache
 * stand-in (save, no second save, restore into a fresh store), and its errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { run } from '../../src/core/process.js'
import { parseComment } from '../../src/core/sticky-comment.js'
import { runAction, type ActionRun } from '../harness/action-runner.js'
import { startCacheService, type CacheService } from '../harness/cache-service.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'
import { nixEnv, readPathInfo } from '../harness/nix-env.js'

const T = 120_000

/** web1 before: nginx 1.26.1, kernel 6.6.40; after: nginx 1.27.0, htop added, kernel 6.6.41. */
function flake(next: boolean): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations = {
        web1 = lib.mkHost {
          name = "web1";
          packages = ${next ? '[ pkgs.nginx_1_27 pkgs.htop ]' : '[ pkgs.nginx ]'};
          kernelVersion = "${next ? '6.6.41' : '6.6.40'}";
        };
        db1 = lib.mkHost { name = "db1"; packages = [ pkgs.postgresql ]; };
        db2 = lib.mkHost { name = "db2"; packages = [ pkgs.postgresql pkgs.redis ]; };
      };
      packages.x86_64-linux.jq = pkgs.jq;
    };
}
`
}

let repo: FlakeRepo
let base: string
let api: GitHubApi
const TOKEN = 'ghs_buildtesttoken000000000001'
const PR = 17
const prEvent = {
  name: 'pull_request',
  payload: {
    number: PR,
    pull_request: { number: PR },
    repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
  }
}

async function nix(argv: string[]): Promise<string> {
  return (await run(argv, { timeoutMs: T, env: nixEnv() })).stdout
}

function warnings(r: ActionRun): string[] {
  return r.annotations.filter(a => a.level === 'warning').map(a => a.message)
}

beforeAll(async () => {
  repo = makeFlakeRepo({ 'flake.nix': flake(false) })
  base = repo.head()
  repo.commit({ 'flake.nix': flake(true) }, 'upgrade web1')
  api = await startGitHubApi()
  api.addToken(TOKEN, { issues: 'write', pull_requests: 'write' })
  api.addPullRequest('octo/fleet', { number: PR })
}, T)

afterAll(async () => {
  repo?.remove()
  await api?.close()
})

describe('build action', () => {
  it(
    'builds a host and diffs it against the previous commit',
    async () => {
      const r = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'web1', 'diff-against': 'HEAD~1' }
      })
      expect(r.failure).toBeUndefined()
      expect(r.exitCode).toBe(0)
      const storePath = r.outputs['store-path']
      expect(storePath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-web1-/)
      expect(fs.existsSync(storePath)).toBe(true)
      expect(r.outputs['drv-path']).toMatch(/\.drv$/)

      // closure-size is the sum of the NAR sizes Nix reports for the closure.
      const info = readPathInfo(await nix(['nix', 'path-info', '-rS', '--json', storePath]))
      const sum = info.reduce((s, p) => s + p.narSize, 0)
      expect(Number(r.outputs['closure-size'])).toBe(sum)
      expect(Number(r.outputs['closure-size'])).toBe(
        info.find(p => p.path === storePath)!.closureSize
      )

      expect(r.outputs.changed).toBe('true')
      // nginx, and the kernel with its initrd (linux-6.6.41-modules counts as linux).
      expect(r.outputs['diff-summary']).toMatch(
        /^3 upgraded, 1 added, \+[\d.]+ KiB, reboot required$/
      )

      const json = JSON.parse(fs.readFileSync(r.outputs['diff-json-file'], 'utf8'))
      expect(json.schemaVersion).toBe(1)
      expect(json.host).toBe('web1')
      expect(json.afterPath).toBe(storePath)
      const nginx = json.packages.find((p: { name: string }) => p.name === 'nginx')
      expect(nginx).toMatchObject({
        kind: 'upgraded',
        removedVersions: ['1.26.1'],
        addedVersions: ['1.27.0'],
        selected: true
      })
      expect(json.packages.find((p: { name: string }) => p.name === 'htop')).toMatchObject({
        kind: 'added'
      })
      const upgraded = json.packages
        .filter((p: { kind: string }) => p.kind === 'upgraded')
        .map((p: { name: string }) => p.name)
      expect(upgraded).toEqual(['initrd-linux', 'linux', 'nginx'])
      expect(json.rebootRequired).toBe(true)
      expect(json.rebootReasons.map((x: { component: string }) => x.component)).toContain('kernel')
      // The old system is the same host at the parent commit, built from the same repository.
      const old = await nix([
        'nix',
        'build',
        '--json',
        '--no-link',
        `git+file://${repo.dir}?rev=${base}#nixosConfigurations.web1.config.system.build.toplevel`
      ])
      expect(json.beforePath).toBe(JSON.parse(old)[0].outputs.out)

      expect(path.dirname(r.outputs['diff-json-file'])).toBe(path.join(r.runnerTemp, 'nix-deploy'))
      const md = fs.readFileSync(r.outputs['diff-markdown-file'], 'utf8')
      expect(md).toContain('nginx')
      expect(md).toContain('htop')
      expect(md).toContain('1.27.0')
      // (Markdown escapes the dots: compare without the backslashes.)
      expect(md.replace(/\\/g, '')).toMatch(/Reboot required:\*\* linux 6\.6\.40 → 6\.6\.41/)

      // The job summary: what was built, and the full diff.
      expect(r.summary).toContain('Build: web1')
      expect(r.summary).toContain(storePath)
      expect(r.summary).toMatch(/Build time \| \d+\.\d s/)
      expect(r.summary).toContain('nginx')
      // The build log is in a group; no cache service here is not a warning.
      expect(r.stdout).toContain('::group::Building web1')
      expect(warnings(r)).toEqual([])
    },
    T
  )

  it(
    'reports no change against the same commit, and no diff outputs without diff-against',
    async () => {
      const same = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db1', 'diff-against': 'HEAD', cache: 'false' }
      })
      expect(same.failure).toBeUndefined()
      expect(same.outputs.changed).toBe('false')
      expect(same.outputs['diff-summary']).toBe('no changes')
      const plain = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { installable: '.#packages.x86_64-linux.jq', cache: 'false' }
      })
      expect(plain.failure).toBeUndefined()
      expect(plain.outputs['store-path']).toMatch(/-jq-1\.7\.1$/)
      expect(plain.outputs.changed).toBe('false')
      expect(plain.outputs['diff-summary']).toBe('')
      expect(plain.outputs['diff-json-file']).toBe('')
      expect(plain.outputs['diff-markdown-file']).toBe('')
    },
    T
  )

  it(
    'a host that is new since the revision has nothing to compare with: changed, no diff files',
    async () => {
      const one = (hosts: string) =>
        `{ outputs = { self }: let lib = import ./lib; in { nixosConfigurations = { ${hosts} }; }; }\n`
      const r2 = makeFlakeRepo({ 'flake.nix': one('a = lib.mkHost { name = "a"; };') })
      try {
        r2.commit({
          'flake.nix': one('a = lib.mkHost { name = "a"; }; b = lib.mkHost { name = "b"; };')
        })
        const r = await runAction({
          action: 'build',
          workspace: r2.dir,
          inputs: { host: 'b', 'diff-against': 'HEAD~1', cache: 'false' }
        })
        expect(r.failure).toBeUndefined()
        expect(r.outputs.changed).toBe('true')
        expect(r.outputs['diff-summary']).toMatch(
          /^new host \(not at revision [0-9a-f]{12} \(HEAD~1\)\)$/
        )
        expect(r.outputs['diff-json-file']).toBe('')
        expect(r.summary).toContain('it is new, so there is nothing to compare with')
      } finally {
        r2.remove()
      }
    },
    T
  )

  it(
    'diffs against a store path and refuses one that is not in the store',
    async () => {
      const db1 = await nix([
        'nix',
        'build',
        '--json',
        '--no-link',
        `${repo.dir}#nixosConfigurations.db1.config.system.build.toplevel`
      ])
      const db1Path = JSON.parse(db1)[0].outputs.out as string
      const r = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db2', 'diff-against': db1Path, cache: 'false' }
      })
      expect(r.failure).toBeUndefined()
      expect(r.outputs.changed).toBe('true')
      const json = JSON.parse(fs.readFileSync(r.outputs['diff-json-file'], 'utf8'))
      expect(json.beforePath).toBe(db1Path)
      expect(json.packages.find((p: { name: string }) => p.name === 'redis')).toMatchObject({
        kind: 'added',
        selected: true
      })
      const missing = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: {
          host: 'db2',
          'diff-against': '/nix/store/00000000000000000000000000000000-nixos-system-db2',
          cache: 'false'
        }
      })
      expect(missing.exitCode).toBe(1)
      expect(missing.failure).toMatch(
        /^Input 'diff-against': the store path \/nix\/store\/0{32}-nixos-system-db2 is not in the local Nix store/
      )
    },
    T
  )

  it(
    'fails with one sentence for bad inputs, before building',
    async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [
          { host: 'web1', installable: '.#packages.x86_64-linux.jq' },
          /^Inputs 'host' and 'installable' are both given/
        ],
        [{}, /^Input 'host' is required/],
        [
          { host: 'web9' },
          /^Host web9 does not exist in the flake '\.'; its hosts are db1, db2, web1\.$/
        ],
        [
          { host: 'web1', 'diff-against': 'no-such-branch' },
          /^Input 'diff-against': the git revision 'no-such-branch' does not exist/
        ],
        [{ host: 'web1', comment: 'yes' }, /^Input 'comment' must be true or false/],
        [{ host: 'web1', 'diff-against': 'deployed' }, /ssh-known-hosts/]
      ]
      const runs = await Promise.all(
        cases.map(([inputs]) =>
          runAction({ action: 'build', workspace: repo.dir, inputs: { cache: 'false', ...inputs } })
        )
      )
      runs.forEach((r, i) => {
        expect(r.exitCode).toBe(1)
        expect(r.failure).toMatch(cases[i][1])
        expect(r.failure!.includes('\n')).toBe(false)
        // Nothing was built: the failure came before the build's log group.
        expect(r.stdout).not.toContain('::group::Building web1')
      })
    },
    T
  )
})

describe('build action: pull request comment', () => {
  it(
    'writes the host section into the sticky comment, and edits it in place on the next run',
    async () => {
      const first = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'web1', 'diff-against': base, comment: 'true', cache: 'false' },
        env: api.env(TOKEN),
        token: TOKEN,
        event: prEvent
      })
      expect(first.failure).toBeUndefined()
      expect(warnings(first)).toEqual([])
      const comments = api.comments('octo/fleet', PR)
      expect(comments).toHaveLength(1)
      const parsed = parseComment(comments[0].body)!
      expect(parsed.sections.map(s => [s.host, s.kind, s.changed])).toEqual([
        ['web1', 'diff', true]
      ])
      expect(parsed.sections[0].summary).toBe(first.outputs['diff-summary'])
      expect(comments[0].body).toContain('nginx')
      const id = comments[0].id
      const before = comments[0].updated_at

      await new Promise(r => setTimeout(r, 1100)) // GitHub's timestamps have whole seconds
      const second = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db1', 'diff-against': base, comment: 'true', cache: 'false' },
        env: api.env(TOKEN),
        token: TOKEN,
        event: prEvent
      })
      expect(second.failure).toBeUndefined()
      const after = api.comments('octo/fleet', PR)
      expect(after).toHaveLength(1)
      expect(after[0].id).toBe(id)
      expect(after[0].updated_at).not.toBe(before)
      expect(parseComment(after[0].body)!.sections.map(s => [s.host, s.changed])).toEqual([
        ['db1', false],
        ['web1', true]
      ])
      expect(api.violations).toEqual([])
    },
    T
  )

  it(
    'warns (and still succeeds) with an invalid token, and gives a notice outside a pull request',
    async () => {
      const bad = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db1', 'diff-against': 'HEAD', comment: 'true', cache: 'false' },
        env: api.env('ghs_not_a_token'),
        token: 'ghs_not_a_token',
        event: prEvent
      })
      expect(bad.exitCode).toBe(0)
      expect(warnings(bad).join('\n')).toMatch(
        /pull request comment on octo\/fleet#17 was not updated/
      )
      const push = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db1', 'diff-against': 'HEAD', comment: 'true', cache: 'false' },
        env: api.env(TOKEN),
        token: TOKEN
      })
      expect(push.exitCode).toBe(0)
      expect(
        push.annotations
          .filter(a => a.level === 'notice')
          .map(a => a.message)
          .join('\n')
      ).toMatch(/no pull request to comment on/)
    },
    T
  )
})

describe('build action: closure cache', () => {
  let svc: CacheService
  beforeAll(async () => {
    svc = await startCacheService()
  })
  afterAll(async () => {
    await svc?.close()
  })

  it(
    'saves the signed closure once, and the saved entry restores into a fresh store only with its key',
    async () => {
      const env = { ...svc.env() }
      const secret = (await nix(['nix', 'key', 'generate-secret', '--key-name', 'ci-1'])).trim()
      const pub = (
        await run(['nix', 'key', 'convert-secret-to-public'], {
          timeoutMs: T,
          env: nixEnv(),
          input: secret
        })
      ).stdout.trim()
      // Another key of the same name: its signatures must not pass for ci-1's.
      const other = (await nix(['nix', 'key', 'generate-secret', '--key-name', 'ci-1'])).trim()
      const otherPub = (
        await run(['nix', 'key', 'convert-secret-to-public'], {
          timeoutMs: T,
          env: nixEnv(),
          input: other
        })
      ).stdout.trim()
      // Unsigned, or on a pull request: nothing is saved.
      const unsigned = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db2' },
        env
      })
      expect(unsigned.failure).toBeUndefined()
      expect(unsigned.stdout).toContain('not saved to the Actions cache: give signing-key')
      const pr = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db2', 'signing-key': secret },
        env: { ...env, GITHUB_EVENT_NAME: 'pull_request' }
      })
      expect(pr.failure).toBeUndefined()
      expect(pr.stdout).toContain('not saved to the Actions cache on a pull_request event')
      expect(svc.entries()).toEqual([])
      const first = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db2', 'signing-key': secret },
        env
      })
      expect(first.failure).toBeUndefined()
      expect(warnings(first)).toEqual([])
      const storePath = first.outputs['store-path']
      const key = `nix-deploy-closure-${path.basename(storePath).slice(0, 32)}`
      expect(svc.entries().map(e => [e.key, e.state])).toEqual([[key, 'finalized']])
      expect(first.summary).toContain(`saved as \`${key}\``)

      // A second build of the same system finds the key and uploads nothing.
      const second = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: { host: 'db2', 'signing-key': secret },
        env
      })
      expect(second.failure).toBeUndefined()
      expect(second.stdout).toContain('already in the Actions cache')
      expect(svc.entries()).toHaveLength(1)
      expect(svc.requests.filter(q => q.operation === 'CreateCacheEntry')).toHaveLength(1)
      expect(svc.violations).toEqual([])

      // restoreClosure (what deploy uses) into an empty chroot store, in this process.
      const { restoreClosure } = await import('../../src/actions/actions-cache.js')
      const { MemoryLogger } = await import('../../src/core/log.js')
      const store = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-store-'))
      const saved = { ...process.env }
      // @actions/cache extracts relative to the workspace, as the saving job's was.
      // (nixEnv() removes NIX_REMOTE and NIX_PATH with undefined: process.env would turn them into
      // the string "undefined", a store URL Nix 2.34 aborts on.)
      for (const [k, v] of Object.entries({
        ...svc.env(),
        ...nixEnv(),
        GITHUB_WORKSPACE: repo.dir
      }))
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      // @actions/core writes its ::debug:: lines to stdout: keep them out of the test output.
      const write = process.stdout.write
      process.stdout.write = (() => true) as typeof process.stdout.write
      try {
        const log = new MemoryLogger()
        // Without keys, or with another key of the same name: refused, nothing imported.
        const none = await restoreClosure(storePath, { logger: log, store, trustedKeys: [] })
        expect(none.status).toBe('failed')
        expect(none.message).toMatch(/give trusted-public-keys/)
        const wrong = await restoreClosure(storePath, {
          logger: log,
          store,
          trustedKeys: [otherPub]
        })
        expect(wrong.status).toBe('failed')
        expect(wrong.message).toMatch(/carries no valid signature by a key of trusted-public-keys/)
        expect(
          (
            await run(['nix', 'path-info', '--store', store, storePath], {
              timeoutMs: T,
              env: nixEnv(),
              check: false
            })
          ).exitCode
        ).not.toBe(0)
        log.lines.length = 0
        const restored = await restoreClosure(storePath, { logger: log, store, trustedKeys: [pub] })
        expect(restored).toEqual({ status: 'restored', key })
        const local = readPathInfo(await nix(['nix', 'path-info', '-r', '--json', storePath]))
        const there = readPathInfo(
          await nix(['nix', 'path-info', '-r', '--json', '--store', store, storePath])
        )
        expect(there.map(p => p.path).sort()).toEqual(local.map(p => p.path).sort())
        expect(
          fs.existsSync(path.join(store, storePath.slice(1), 'bin/switch-to-configuration'))
        ).toBe(true)
        // Already there: nothing is downloaded.
        const downloads = svc.requests.filter(q => q.operation === 'GetBlob').length
        expect(await restoreClosure(storePath, { logger: log, store, trustedKeys: [pub] })).toEqual(
          {
            status: 'present',
            key
          }
        )
        expect(svc.requests.filter(q => q.operation === 'GetBlob').length).toBe(downloads)
        // A closure nobody saved is a miss, not an error.
        const other = JSON.parse(
          await nix(['nix', 'build', '--json', '--no-link', `${repo.dir}#packages.x86_64-linux.jq`])
        )[0].outputs.out
        expect(
          (await restoreClosure(other, { logger: log, store, trustedKeys: [pub] })).status
        ).toBe('miss')
        expect(log.lines.filter(l => l.level === 'warning')).toEqual([])
      } finally {
        process.stdout.write = write
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
        Object.assign(process.env, saved)
        await run(['chmod', '-R', 'u+w', store], { timeoutMs: T, check: false })
        fs.rmSync(store, { recursive: true, force: true })
      }
    },
    T
  )

  it(
    'a cache service failure is a warning, not a failed step',
    async () => {
      const down = await runAction({
        action: 'build',
        workspace: repo.dir,
        inputs: {
          host: 'web1',
          'signing-key': (await nix(['nix', 'key', 'generate-secret', '--key-name', 'ci-1'])).trim()
        },
        env: { ...svc.env(), ACTIONS_RUNTIME_TOKEN: 'not-a-runtime-token' }
      })
      expect(down.failure).toBeUndefined()
      expect(down.exitCode).toBe(0)
      expect(down.outputs['store-path']).toMatch(/nixos-system-web1/)
      expect(warnings(down).join('\n')).toMatch(/Actions cache/)
    },
    T
  )
})

describe('build action: diff-against deployed', () => {
  it(
    "reads the host's running system over SSH and diffs against it without copying anything",
    async () => {
      const { startFleet } = await import('../harness/fleet.js')
      const fleet = await startFleet({ hosts: ['web1'] })
      try {
        const host = fleet.host('web1')
        const old = JSON.parse(
          await nix([
            'nix',
            'build',
            '--json',
            '--no-link',
            `git+file://${repo.dir}?rev=${base}#nixosConfigurations.web1.config.system.build.toplevel`
          ])
        )[0].outputs.out as string
        await fleet.install(host, old)
        expect(await host.currentSystem()).toBe(old)
        const r = await runAction({
          action: 'build',
          workspace: repo.dir,
          inputs: {
            host: 'web1',
            'diff-against': 'deployed',
            target: `root@${host.address}`,
            'ssh-private-key': fleet.privateKey,
            'ssh-known-hosts': fleet.knownHosts,
            cache: 'false'
          }
        })
        expect(r.failure).toBeUndefined()
        const json = JSON.parse(fs.readFileSync(r.outputs['diff-json-file'], 'utf8'))
        expect(json.beforePath).toBe(old)
        expect(json.afterPath).toBe(r.outputs['store-path'])
        expect(r.outputs['diff-summary']).toMatch(/^3 upgraded, 1 added, .*reboot required$/)
        expect(r.summary).toContain('deployed on web1')
        // The new system was compared, not copied: the host's store does not have it.
        expect(await host.hasPath(r.outputs['store-path'])).toBe(false)
        // The key was masked and its folder removed.
        expect(r.masks.length).toBeGreaterThan(0)
        expect(fs.readdirSync(r.runnerTemp).filter(f => f.startsWith('nix-deploy-ssh-'))).toEqual(
          []
        )
        // The post step knows the folder (for a cancelled step) and ran cleanly.
        expect(r.state['ssh-dir']).toMatch(/\/nix-deploy-ssh-[A-Za-z0-9]+$/)
        expect(r.post?.exitCode).toBe(0)

        // An unknown host key is refused with the host and the phase named.
        const strange = await runAction({
          action: 'build',
          workspace: repo.dir,
          inputs: {
            host: 'web1',
            'diff-against': 'deployed',
            target: `root@${host.address}`,
            'ssh-private-key': fleet.privateKey,
            'ssh-known-hosts': `${host.address} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`,
            cache: 'false'
          }
        })
        expect(strange.exitCode).toBe(1)
        expect(strange.failure).toMatch(
          /^Host web1 .*phase diff: reading \/run\/current-system could not connect: .*host key/
        )
      } finally {
        await fleet.stop()
      }
    },
    T
  )
})
