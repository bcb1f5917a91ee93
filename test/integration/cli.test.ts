/**
 * The terminal command as users run it: `node dist/cli.js …` (the committed bundle), with real
 * nix on a temporary flake repository, and deploy/rollback against a simulated host (a real sshd
 * with its own /nix). Checks exit codes, what goes to stdout (the result) and stderr (progress
 * and the one-sentence error), and what the host runs afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { repoRoot } from '../harness/action-runner.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo
} from '../harness/fleet.js'
import { nixEnv } from '../harness/nix-env.js'

const T = 240_000
const CLI = path.join(repoRoot, 'dist/cli.js')
const HEALTH = '- http: http://{target}:8080/health\n  status: 200\n  body: ok\n'

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      web = args: lib.mkHost ({ name = "web"; packages = [ pkgs.nginx ]; deployment = { tags = [ "prod" ]; }; } // args);
    in {
      nixosConfigurations = {
        web = web { };
        web2 = web { packages = [ pkgs.nginx pkgs.curl ]; };
        unhealthy = web { health = { mode = "failing"; }; };
        db = lib.mkHost { name = "db"; deployment = { targetHost = "10.0.0.5"; targetUser = "deploy"; targetPort = 2222; tags = [ "db" ]; }; };
      };
    };
}
`

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], cwd: string = repoRoot): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, ...nixEnv(), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

let repo: FlakeRepo
let fleet: Fleet
const sys: Record<string, string> = {}

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  for (const name of ['web', 'web2', 'unhealthy']) sys[name] = await buildToplevel(repo.path, name)
  fleet = await startFleet({ hosts: ['c1'] })
}, T)

afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
})

describe('nix-deploy (dist/cli.js)', () => {
  it('--help lists every action as a command, on stdout, exit 0', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const c of [
      'check',
      'matrix',
      'build',
      'diff',
      'dry-activate',
      'deploy',
      'rollback',
      'drift',
      'update'
    ])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'))
    expect(r.stdout).toContain('--ssh-private-key-file')
    const sub = await cli(['deploy', '--help'])
    expect(sub.code).toBe(0)
    expect(sub.stdout).toContain('--confirm-timeout')
  })

  it('no command: the usage and exit 2; an unknown command or option: one line on stderr, exit 2', async () => {
    const none = await cli([])
    expect(none.code).toBe(2)
    expect(none.stdout).toContain('usage: nix-deploy')

    const unknownCommand = await cli(['deploy-all'])
    expect(unknownCommand.code).toBe(2)
    expect(unknownCommand.stderr.split('\n')[0]).toBe("error: unknown command 'deploy-all'")

    const unknownOption = await cli(['matrix', '--hosts', 'web'], repo.path)
    expect(unknownOption.code).toBe(2)
    expect(unknownOption.stdout).toBe('')
    const lines = unknownOption.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^error: Unknown option '--hosts' for 'matrix' \(it takes --flake, --on, /
    )

    // Approval belongs to a GitHub environment: the terminal refuses to pretend it has one.
    const approval = await cli(['deploy', '--host', 'web', '--require-reviewers', 'true'])
    expect(approval.code).toBe(1)
    expect(approval.stderr.trim()).toMatch(
      /^error: require-reviewers is true, but a deploy from a terminal runs in no GitHub environment/
    )

    const missing = await cli(['deploy', '--host'])
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe("error: Option '--host' needs a value.")
  })

  it(
    'matrix on a flake repository: the JSON matrix on stdout, a selector narrows it',
    async () => {
      const all = await cli(['matrix', '--json'], repo.path)
      expect(all.stderr).not.toMatch(/^error/m)
      expect(all.code).toBe(0)
      const matrix = JSON.parse(all.stdout) as { include: Record<string, unknown>[] }
      expect(matrix.include.map(e => e.host).sort()).toEqual(['db', 'unhealthy', 'web', 'web2'])
      expect(matrix.include.find(e => e.host === 'db')).toEqual({
        host: 'db',
        system: 'x86_64-linux',
        target: 'deploy@10.0.0.5:2222',
        tags: ['db']
      })

      const db = await cli(['matrix', '--on', '@db', '--json'], repo.path)
      expect(db.code).toBe(0)
      expect((JSON.parse(db.stdout) as { include: unknown[] }).include).toHaveLength(1)

      const text = await cli(['matrix', '--on', 'web*'], repo.path)
      expect(text.code).toBe(0)
      expect(text.stdout).toContain('web2')
      expect(text.stdout).not.toContain('db')

      const bad = await cli(['matrix', '--max-jobs', '300'], repo.path)
      expect(bad.code).toBe(1)
      expect(bad.stderr.trim().split('\n').pop()).toMatch(/^error: Input 'max-jobs' /)
    },
    T
  )

  it(
    'deploys to a host, refuses a broken system (rolled back), and rolls back on request',
    async () => {
      const h = fleet.host('c1')
      await fleet.install(h, sys.web)
      const knownHosts = fs.readFileSync(fleet.knownHostsPath, 'utf8')
      const key = fs.readFileSync(fleet.privateKeyPath, 'utf8')
      const common = ['--host', 'web', '--target', `root@${h.address}`]
      const health = ['--health-checks', HEALTH, '--health-timeout', '8', '--confirm-timeout', '6']

      // The key and known_hosts as values, as the brief's one-liner passes them.
      const ok = await cli(
        [
          'deploy',
          ...common,
          '--store-path',
          sys.web2,
          '--ssh-known-hosts',
          knownHosts,
          '--ssh-private-key',
          key,
          ...health
        ],
        repo.path
      )
      expect(ok.stderr).not.toMatch(/^error/m)
      expect(ok.code).toBe(0)
      expect(ok.stdout).toMatch(/^web\s+deployed\s/m)
      expect(ok.stdout).toContain('status: deployed')
      expect(ok.stderr).toContain('== Deploying web') // progress on stderr
      expect(ok.stdout).not.toContain(key.trim().split('\n')[1])
      expect(await h.currentSystem()).toBe(sys.web2)
      expect(await h.profileSystem()).toBe(sys.web2)

      // The same system again: unchanged, nothing activated.
      const again = await cli(
        [
          'deploy',
          ...common,
          '--store-path',
          sys.web2,
          '--ssh-known-hosts-file',
          fleet.knownHostsPath,
          '--ssh-private-key-file',
          fleet.privateKeyPath,
          '--json',
          ...health
        ],
        repo.path
      )
      expect(again.code).toBe(0)
      const parsed = JSON.parse(again.stdout) as {
        status: string
        results: Record<string, unknown>[]
      }
      expect(parsed.status).toBe('unchanged')
      expect(parsed.results[0]['previous-store-path']).toBe(sys.web2)

      // An unhealthy system: rolled back, exit 1, one error line naming the host and the phase.
      const bad = await cli(
        [
          'deploy',
          ...common,
          '--store-path',
          sys.unhealthy,
          '--ssh-known-hosts-file',
          fleet.knownHostsPath,
          '--ssh-private-key-file',
          fleet.privateKeyPath,
          ...health
        ],
        repo.path
      )
      expect(bad.code).toBe(1)
      expect(bad.stdout).toMatch(/^web\s+rolled-back\s/m)
      const last = bad.stderr.trim().split('\n').pop() as string
      expect(last).toMatch(/^error: deploy: .*web.*health/i)
      expect(await h.currentSystem()).toBe(sys.web2)
      expect(await h.profileSystem()).toBe(sys.web2)

      // rollback --to previous: back to the first system.
      const back = await cli(
        [
          'rollback',
          ...common,
          '--ssh-known-hosts-file',
          fleet.knownHostsPath,
          '--ssh-private-key-file',
          fleet.privateKeyPath,
          '--health-checks',
          HEALTH,
          '--health-timeout',
          '8'
        ],
        repo.path
      )
      expect(back.stderr).not.toMatch(/^error/m)
      expect(back.code).toBe(0)
      expect(back.stdout).toContain('status: rolled-back')
      expect(await h.currentSystem()).toBe(sys.web)

      // drift --expected flake: the host runs what the flake evaluates to; JSON on stdout.
      const drift = await cli(
        [
          'drift',
          ...common,
          '--expected',
          'flake',
          '--ssh-known-hosts-file',
          fleet.knownHostsPath,
          '--ssh-private-key-file',
          fleet.privateKeyPath,
          '--json'
        ],
        repo.path
      )
      expect(drift.stderr).not.toMatch(/^error/m)
      expect(drift.code).toBe(0)
      expect(JSON.parse(drift.stdout)).toMatchObject([
        { host: 'web', state: 'in-sync', expected: sys.web, running: sys.web }
      ])
    },
    T
  )

  it(
    'refuses a key given twice, an unreadable key file, and a host without known_hosts lines it cannot check',
    async () => {
      const h = fleet.host('c1')
      const both = await cli(
        [
          'deploy',
          '--host',
          'web',
          '--target',
          `root@${h.address}`,
          '--store-path',
          sys.web,
          '--ssh-private-key',
          'x',
          '--ssh-private-key-file',
          fleet.privateKeyPath
        ],
        repo.path
      )
      expect(both.code).toBe(2)
      expect(both.stderr.trim()).toBe(
        "error: Give one of '--ssh-private-key' and '--ssh-private-key-file', not both."
      )

      const missing = await cli(
        [
          'deploy',
          '--host',
          'web',
          '--target',
          `root@${h.address}`,
          '--store-path',
          sys.web,
          '--ssh-private-key-file',
          '/nonexistent/key'
        ],
        repo.path
      )
      expect(missing.code).toBe(2)
      expect(missing.stderr.trim()).toBe(
        "error: Option '--ssh-private-key-file': cannot read '/nonexistent/key' (ENOENT)."
      )

      // No known_hosts given and the host is not in ~/.ssh/known_hosts: ssh refuses, the host is untouched.
      const before = await h.currentSystem()
      const home = fs.mkdtempSync(path.join(fleet.dir, 'home-'))
      const unknown = await new Promise<CliRun>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            CLI,
            'deploy',
            '--host',
            'web',
            '--target',
            `root@${h.address}`,
            '--store-path',
            sys.web2,
            '--ssh-private-key-file',
            fleet.privateKeyPath
          ],
          {
            cwd: repo.path,
            env: { ...process.env, ...nixEnv(), HOME: home, NODE_OPTIONS: '' },
            stdio: ['ignore', 'pipe', 'pipe']
          }
        )
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', d => (stdout += d))
        child.stderr.on('data', d => (stderr += d))
        child.on('error', reject)
        child.on('close', code => resolve({ code, stdout, stderr }))
      })
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toMatch(/^error: .*web/m)
      expect(await h.currentSystem()).toBe(before)
    },
    T
  )
})
