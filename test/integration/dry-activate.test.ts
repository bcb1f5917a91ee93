/**
 * The dry-activate bundle, run as GitHub's runner runs it, against a simulated host (real sshd in
 * its own mount namespace, its own Nix store) with real nix builds of a fixture flake.
 *
 * The host runs generation A of web1; the flake's HEAD is generation B, where:
 *   nginx 1.26.1 -> 1.27.0   nginx.service changed (default stopIfChanged)   => stop, then start
 *   redis's config changed   stopIfChanged = false                          => restart
 *   old-worker removed                                                      => stop
 *   new-worker added                                                        => a new unit
 *   systemd 255.9 -> 256.2   systemd-journald.service changed, but it has
 *                            restartIfChanged = false                       => NOT stopped; systemd restarts
 *   linux 6.6.40 -> 6.6.41   kernel, initrd and kernel modules change       => reboot required
 *                            (and the systemd version changed)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { run } from '../../src/core/process.js'
import { parseComment } from '../../src/core/sticky-comment.js'
import { cleanupRun, runAction, type ActionRun } from '../harness/action-runner.js'
import { buildToplevel, nixBuild, startFleet, type Fleet } from '../harness/fleet.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const T = 300_000
const TOKEN = 'ghs_dryactivatetesttoken00000001'
const PR = 23

/** Generation A or B of web1; `address` makes colmena's deployment.targetHost point at the simulated host. */
function flake(next: boolean, address: string): string {
  const web1 = next
    ? `lib.mkHost {
          name = "web1";
          kernelVersion = "6.6.41";
          systemdVersion = "256.2";
          deployment = { targetHost = "${address}"; };
          packages = [ pkgs.nginx_1_27 pkgs.redis ];
          services.nginx = { package = pkgs.nginx_1_27; };
          services.redis = { package = pkgs.redis; config = "maxmemory 2gb"; stopIfChanged = false; };
          services.new-worker = { };
        }`
    : `lib.mkHost {
          name = "web1";
          deployment = { targetHost = "${address}"; };
          packages = [ pkgs.nginx pkgs.redis ];
          services.nginx = { package = pkgs.nginx; };
          services.redis = { package = pkgs.redis; config = "maxmemory 1gb"; stopIfChanged = false; };
          services.old-worker = { };
        }`
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations = {
        web1 = ${web1};
        db1 = lib.mkHost { name = "db1"; };
        app2 = lib.mkHost { name = "app2"; };
      };
      packages.x86_64-linux.htop = pkgs.htop;
    };
}
`
}

let fleet: Fleet
let repo: FlakeRepo
let api: GitHubApi
let genA: string
let genB: string
let address: string
const runs: ActionRun[] = []

function sshInputs(): Record<string, string> {
  return { 'ssh-private-key': fleet.privateKey, 'ssh-known-hosts': fleet.knownHosts }
}

async function dryActivate(
  inputs: Record<string, string>,
  extra: Partial<Parameters<typeof runAction>[0]> = {}
): Promise<ActionRun> {
  const r = await runAction({
    action: 'dry-activate',
    workspace: repo.dir,
    inputs,
    timeoutMs: T,
    ...extra
  })
  runs.push(r)
  return r
}

/** Folders of SSH sessions left in a run's RUNNER_TEMP. */
function sshFolders(r: ActionRun): string[] {
  return fs.readdirSync(r.runnerTemp).filter(n => n.startsWith('nix-deploy-ssh-'))
}

async function hostState() {
  const h = fleet.host('web1')
  return {
    current: await h.currentSystem(),
    profile: await h.profileSystem(),
    generations: await h.generations(),
    boot: await h.bootSystem()
  }
}

beforeAll(async () => {
  fleet = await startFleet({ hosts: ['web1'] })
  address = fleet.host('web1').address
  repo = makeFlakeRepo({ 'flake.nix': flake(false, address) })
  genA = await buildToplevel(`git+file://${repo.dir}`, 'web1')
  await fleet.install('web1', genA)
  repo.commit({ 'flake.nix': flake(true, address) }, 'web1: nginx 1.27, new worker, kernel 6.6.41')
  genB = await buildToplevel(`git+file://${repo.dir}`, 'web1')
  api = await startGitHubApi()
  api.addToken(TOKEN, { issues: 'write', pull_requests: 'write' })
  api.addPullRequest('octo/fleet', { number: PR })
}, T)

afterAll(async () => {
  for (const r of runs) cleanupRun(r)
  await api?.close()
  await fleet?.stop()
  repo?.remove()
}, T)

describe('dry-activate action: refusals before any change', () => {
  it(
    'without ssh-known-hosts, fails naming the input',
    async () => {
      const r = await dryActivate({
        host: 'web1',
        'store-path': genB,
        'ssh-private-key': fleet.privateKey
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(/Input 'ssh-known-hosts' is required/)
      expect(await fleet.host('web1').hasPath(genB)).toBe(false)
    },
    T
  )

  it(
    'with a host key that is not the host\u2019s, fails saying so, and copies nothing',
    async () => {
      const keyFile = path.join(fleet.dir, 'other_host_key')
      await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', keyFile], {
        timeoutMs: 30_000
      })
      const otherKey = fs
        .readFileSync(`${keyFile}.pub`, 'utf8')
        .trim()
        .split(/\s+/)
        .slice(0, 2)
        .join(' ')
      const before = await hostState()
      const r = await dryActivate({
        host: 'web1',
        'store-path': genB,
        ...sshInputs(),
        'ssh-known-hosts': `${address} ${otherKey}\n`
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(/^Host web1\b.*phase probe: .*host key/)
      expect(r.failure).toMatch(/does not match the pinned key/)
      expect(await fleet.host('web1').hasPath(genB)).toBe(false)
      expect(await hostState()).toEqual(before)
      expect(sshFolders(r)).toEqual([])
    },
    T
  )

  it(
    'refuses a pull request from a fork in one sentence, before connecting',
    async () => {
      const r = await dryActivate(
        { host: 'web1', 'store-path': genB, ...sshInputs() },
        {
          event: {
            name: 'pull_request',
            payload: {
              number: PR,
              pull_request: {
                number: PR,
                head: { repo: { full_name: 'mallory/fleet', fork: true } },
                base: { repo: { full_name: 'octo/fleet', fork: false } }
              },
              repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
            }
          }
        }
      )
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(/secrets .* pull requests from forks/)
      expect(await fleet.host('web1').hasPath(genB)).toBe(false)
    },
    T
  )

  it(
    'a host that is not in the flake fails listing hosts that are',
    async () => {
      const r = await dryActivate({ host: 'web9', ...sshInputs() })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(
        /Host web9 does not exist in the flake '\.'; its hosts are app2, db1, web1\./
      )
    },
    T
  )
})

describe('dry-activate action on a host', () => {
  it(
    'builds the new system, copies it, reports what activation would do, and changes nothing',
    async () => {
      const before = await hostState()
      expect(before.current).toBe(genA)
      const r = await dryActivate({ host: 'web1', ...sshInputs() })
      expect(r.failure).toBeUndefined()
      expect(r.exitCode).toBe(0)
      const o = r.outputs
      expect(o['store-path']).toBe(genB)
      expect(o['current-system']).toBe(genA)
      expect(JSON.parse(o['units-stop'])).toEqual(['nginx.service', 'old-worker.service'])
      expect(JSON.parse(o['units-restart'])).toEqual(['redis.service'])
      expect(JSON.parse(o['units-reload'])).toEqual([])
      expect(JSON.parse(o['units-start'])).toEqual(['nginx.service'])
      expect(JSON.parse(o['units-new'])).toEqual(['new-worker.service'])
      expect(JSON.parse(o['units-not-restarted'])).toEqual(['systemd-journald.service'])
      expect(o['restart-systemd']).toBe('true')
      expect(o['reboot-required']).toBe('true')

      // The report file holds the record, with the reasons for the reboot.
      expect(path.dirname(o['report-file'])).toBe(path.join(r.runnerTemp, 'nix-deploy'))
      const report = JSON.parse(fs.readFileSync(o['report-file'], 'utf8'))
      expect(report).toMatchObject({
        host: 'web1',
        target: `root@${address}`,
        storePath: genB,
        currentSystem: genA,
        copied: true
      })
      expect(
        report.rebootReasons.map((x: { component: string; detail: string }) => [
          x.component,
          x.detail
        ])
      ).toEqual([
        ['kernel', 'linux 6.6.40 → 6.6.41'],
        ['initrd', 'initrd changed'],
        ['kernel-modules', 'kernel modules 6.6.40 → 6.6.41'],
        ['systemd', 'systemd 255.9 → 256.2']
      ])

      // The summary names the units and the reason.
      expect(r.summary).toContain('## Dry\\-activate: web1')
      expect(r.summary).toContain(`| Running system | \`${genA}\` (generation 1) |`)
      for (const u of [
        'nginx.service',
        'old-worker.service',
        'redis.service',
        'new-worker.service',
        'systemd-journald.service'
      ]) {
        expect(r.summary).toContain(`\`${u}\``)
      }
      expect(r.summary).toContain('- **Would stop** (2): `nginx.service`, `old-worker.service`')
      expect(r.summary).toContain('**systemd** would be re-executed')
      expect(r.summary).toMatch(/Reboot required \| yes: linux 6\\\.6\\\.40 → 6\\\.6\\\.41/)

      // The closure is on the host now; nothing else changed there.
      expect(await fleet.host('web1').hasPath(genB)).toBe(true)
      expect(await hostState()).toEqual(before)
      // The post step ran, and no SSH key folder is left.
      expect(r.post?.exitCode).toBe(0)
      expect(sshFolders(r)).toEqual([])
    },
    T
  )

  it(
    'with store-path and comment: true on a pull request, writes the host\u2019s dry-activate section',
    async () => {
      const r = await dryActivate(
        {
          host: 'web1',
          'store-path': genB,
          target: `root@${address}`,
          comment: 'true',
          ...sshInputs()
        },
        {
          env: api.env(TOKEN),
          token: TOKEN,
          event: {
            name: 'pull_request',
            payload: {
              number: PR,
              pull_request: {
                number: PR,
                head: { repo: { full_name: 'octo/fleet', fork: false } },
                base: { repo: { full_name: 'octo/fleet', fork: false } }
              },
              repository: { name: 'fleet', full_name: 'octo/fleet', owner: { login: 'octo' } }
            }
          }
        }
      )
      expect(r.failure).toBeUndefined()
      expect(r.annotations.filter(a => a.level === 'warning')).toEqual([])
      // Already copied by the previous test.
      expect(JSON.parse(fs.readFileSync(r.outputs['report-file'], 'utf8')).copied).toBe(false)
      const comments = api.comments('octo/fleet', PR)
      expect(comments).toHaveLength(1)
      const parsed = parseComment(comments[0].body)!
      expect(parsed.sections.map(s => [s.host, s.kind, s.changed])).toEqual([
        ['web1', 'dry-activate', true]
      ])
      expect(parsed.sections[0].summary).toBe(
        'stop 2, restart 1, start 1, not restarted 1, 1 new; systemd restarts; reboot required (linux 6.6.40 → 6.6.41; initrd changed; kernel modules 6.6.40 → 6.6.41; systemd 255.9 → 256.2)'
      )
      expect(comments[0].body).toContain('`old-worker.service`')
      expect(api.violations).toEqual([])
      expect(await fleet.host('web1').currentSystem()).toBe(genA)
    },
    T
  )

  it(
    'after a crash of the main step, the post step removes the SSH key folder',
    async () => {
      const r = await dryActivate(
        { host: 'web1', 'store-path': genB, target: `root@${address}`, ...sshInputs() },
        { interrupt: { signal: 'SIGKILL', when: line => line.includes('Dry-activating') } }
      )
      expect(r.signal).toBe('SIGKILL')
      const saved = r.state['ssh-dir']
      expect(path.dirname(saved)).toBe(r.runnerTemp)
      expect(path.basename(saved)).toMatch(/^nix-deploy-ssh-/)
      expect(r.post?.exitCode).toBe(0)
      expect(r.post?.stdout).toContain(`Removed the SSH key folder.`)
      expect(fs.existsSync(saved)).toBe(false)
    },
    T
  )

  it(
    'a system whose dry-activate fails fails the step naming the host and the phase',
    async () => {
      const htop = await nixBuild(`git+file://${repo.dir}#htop`)
      const r = await dryActivate({
        host: 'web1',
        'store-path': htop,
        target: `root@${address}`,
        ...sshInputs()
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(
        /^Host web1, phase dry-activate: switch-to-configuration dry-activate exited with code 127/
      )
      expect(r.summary).toContain('**Failed:**')
      expect(await fleet.host('web1').currentSystem()).toBe(genA)
      expect(sshFolders(r)).toEqual([])
    },
    T
  )
})

describe('dry-activate action on a shard (hosts)', () => {
  it(
    'dry-activates each host in turn; one that fails does not stop the others, and the step names it',
    async () => {
      const before = await hostState()
      // db1's target is its name, which does not resolve here: it fails at the connection.
      const r = await dryActivate({ hosts: '[\n  "db1",\n  "web1"\n]', ...sshInputs() })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(/^1 of 2 hosts failed to dry-activate: Host db1\b/)
      expect(r.failure!.includes('\n')).toBe(false)
      // web1 went through all the same: its units are in the outputs, its report in the summary.
      expect(JSON.parse(r.outputs['units-stop'])).toEqual(['nginx.service', 'old-worker.service'])
      expect(r.outputs['reboot-required']).toBe('true')
      expect(r.outputs['report-file']).toBe('')
      expect(r.summary).toContain('## Dry\\-activate: web1')
      expect(r.summary).toContain('## Dry\\-activate: db1')
      expect(fs.existsSync(path.join(r.runnerTemp, 'nix-deploy', 'dry-activate-web1.json'))).toBe(
        true
      )
      expect(await hostState()).toEqual(before)
      expect(sshFolders(r)).toEqual([])
      // hosts with host (or store-path, target) is refused before anything.
      const both = await dryActivate({ hosts: 'web1', host: 'web1', ...sshInputs() })
      expect(both.failure).toMatch(/^Inputs 'hosts' and 'host' are both given/)
    },
    T
  )
})
