/**
 * Security (issue 6, part 1): hostile values cannot get in.
 *
 * Every action's inputs, and the values a pull request controls in the flake (host names, targets,
 * users, deploy-rs sshOpts, attribute names), carry shell and ssh-option syntax whose only effect,
 * if anything ever interpreted them, would be to create a canary file. Each value is either
 * refused with one line naming the input (or the host and where the value came from) or passed
 * on as inert data; the canary never appears, on the runner or inside a simulated host.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanupRun, runAction, type ActionRun } from '../harness/action-runner.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo,
  type SimHost
} from '../harness/fleet.js'

const T = 240_000

/** A fresh canary folder: an injection anywhere would create a file in it. */
const CANARY = fs.mkdtempSync(path.join(os.tmpdir(), 'nda-canary-'))
let serial = 0
function canary(): string {
  return path.join(CANARY, `c${++serial}`)
}

/** Payloads for free-text inputs: each, if interpreted by a shell or by ssh, creates a canary. */
function payloads(): string[] {
  return [
    `$(touch ${canary()})`,
    `\`touch ${canary()}\``,
    `;touch ${canary()}`,
    `x\ntouch ${canary()}`,
    `-oProxyCommand=touch ${canary()}`,
    `' "x" ; touch ${canary()} #`,
    `a|touch ${canary()}&&b`
  ]
}
/** Payloads for numbers, booleans and enums: a shell payload and an option. */
function shortPayloads(): string[] {
  return [`$(touch ${canary()})`, `-oProxyCommand=touch ${canary()}`]
}
/** Odd but harmless-looking values: they must be refused or taken literally, never crash. */
const ODD = ['../../../etc/passwd', 'x'.repeat(5000), 'wéb☃', ' padded name ']

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
    in {
      nixosConfigurations.web = lib.mkHost { name = "web"; packages = [ pkgs.nginx ]; };
      nixosConfigurations.web2 = lib.mkHost { name = "web"; packages = [ pkgs.nginx pkgs.curl ]; };
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let host: SimHost
let webSystem: string
let web2System: string

beforeAll(async () => {
  repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  webSystem = await buildToplevel(repo.path, 'web')
  web2System = await buildToplevel(repo.path, 'web2')
  fleet = await startFleet({ hosts: ['h1'] })
  host = fleet.host('h1')
  await fleet.install(host, webSystem)
}, T)

afterAll(async () => {
  await fleet?.stop()
  await repo?.remove()
  fs.rmSync(CANARY, { recursive: true, force: true })
})

/** No canary on the runner, nor inside the host (whose /nix, /run, /root are its own). */
async function expectNoCanary(): Promise<void> {
  expect(fs.readdirSync(CANARY)).toEqual([])
  if (host) {
    for (let i = 1; i <= serial; i++) {
      const p = path.join(CANARY, `c${i}`)
      expect((await host.exec(['test', '-e', p])).code).toBe(1)
    }
    const ls = await host.exec(['ls', '-A', CANARY])
    expect(ls.stdout.trim()).toBe('')
  }
}

interface Case {
  action: string
  input: string
  value: string
  inputs: Record<string, string>
}

/** Runs cases a few at a time (each is its own node process, most stop at input validation). */
async function runAll(cases: Case[], concurrency = 10): Promise<{ c: Case; run: ActionRun }[]> {
  const out: { c: Case; run: ActionRun }[] = []
  let next = 0
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]
      const run = await runAction({
        action: c.action,
        workspace: repo.path,
        inputs: c.inputs,
        timeoutMs: 120_000
      })
      out.push({ c, run })
      cleanupRun(run)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return out
}

/** Inputs that make each action reach the input under test (a reachable host for SSH actions). */
function baseInputs(action: string): Record<string, string> {
  const ssh = {
    'ssh-private-key': fleet.privateKey,
    'ssh-known-hosts': fleet.knownHosts,
    target: `root@${host.address}`
  }
  switch (action) {
    case 'build':
      return { host: 'web', cache: 'false', 'diff-against': 'deployed', ...ssh }
    case 'diff':
      return { before: 'HEAD', after: webSystem, host: 'web' }
    case 'dry-activate':
      return { host: 'web', 'store-path': webSystem, ...ssh }
    case 'deploy':
      return { host: 'web', 'store-path': webSystem, 'health-checks': '', ...ssh }
    case 'rollback':
      return { host: 'web', ...ssh }
    default:
      return {}
  }
}

/** Removes the inputs that conflict with the one under test (host vs hosts vs on). */
function withInput(action: string, input: string, value: string): Record<string, string> {
  const inputs = baseInputs(action)
  if (input === 'hosts' || input === 'on' || input === 'installable') delete inputs.host
  // A shard's hosts each take their destination from the flake, and dry-activate builds each.
  if (input === 'hosts' && (action === 'build' || action === 'dry-activate')) {
    delete inputs.target
    delete inputs['store-path']
  }
  inputs[input] = value
  return inputs
}

const FREE_TEXT: Record<string, string[]> = {
  check: ['flake'],
  matrix: ['flake', 'on', 'changed-since', 'runners'],
  build: ['flake', 'host', 'hosts', 'installable', 'diff-against', 'target'],
  diff: ['before', 'after', 'host', 'flake'],
  'dry-activate': ['flake', 'host', 'hosts', 'store-path', 'target'],
  deploy: ['flake', 'host', 'hosts', 'on', 'store-path', 'target'],
  rollback: ['host', 'hosts', 'target', 'to', 'on']
}
const SCALARS: Record<string, string[]> = {
  check: ['lock-max-age-days', 'format'],
  matrix: ['max-jobs'],
  build: ['comment', 'cache'],
  'dry-activate': ['activation-timeout', 'sudo', 'substitute-on-target'],
  deploy: [
    'mode',
    'health-timeout',
    'confirm-timeout',
    'max-parallel',
    'strategy',
    'rollback',
    'sudo'
  ],
  rollback: ['health-timeout', 'max-parallel']
}

describe('hostile inputs, every action', () => {
  it(
    'are refused with one line naming the input, and nothing they carry ever runs',
    async () => {
      // Each free-text input gets the option payload and two shell payloads (rotating through all
      // of them across inputs); each number, boolean or enum gets one (rotating): every action and
      // every input is covered, in a few hundred node processes fewer than the full product.
      const cases: Case[] = []
      let turn = 0
      for (const [action, names] of Object.entries(FREE_TEXT))
        for (const input of names) {
          const all = payloads()
          const picked = [all[4], all[turn++ % 4], all[[0, 1, 2, 3, 5, 6][turn % 6]]]
          for (const value of picked)
            cases.push({ action, input, value, inputs: withInput(action, input, value) })
        }
      for (const [action, names] of Object.entries(SCALARS))
        for (const input of names) {
          const value = shortPayloads()[turn++ % 2]
          cases.push({ action, input, value, inputs: withInput(action, input, value) })
        }
      const results = await runAll(cases)
      const problems: string[] = []
      for (const { c, run } of results) {
        const where = `${c.action} ${c.input}=${JSON.stringify(c.value)}`
        if (run.exitCode !== 1) problems.push(`${where}: exit code ${run.exitCode}`)
        else if (!run.failure) problems.push(`${where}: no error annotation`)
        else {
          if (run.failure.includes('\n'))
            problems.push(`${where}: a message of several lines: ${run.failure}`)
          if (!run.failure.includes(`'${c.input}'`))
            problems.push(`${where}: the message does not name the input: ${run.failure}`)
          if (/\n\s+at .*:\d+:\d+/.test(run.stdout + run.stderr))
            problems.push(`${where}: a stack trace`)
        }
      }
      expect(problems).toEqual([])
      await expectNoCanary()
    },
    T
  )

  it(
    'odd values (paths with .., very long, non-ASCII, spaces) are refused or read literally, without a crash',
    async () => {
      const cases: Case[] = []
      let turn = 0
      for (const [action, names] of Object.entries(FREE_TEXT))
        for (const input of names) {
          const value = ODD[turn++ % ODD.length]
          const inputs = withInput(action, input, value)
          // With a store path and a target, deploy and dry-activate never read the flake.
          if (input === 'flake') delete inputs['store-path']
          cases.push({ action, input, value, inputs })
        }
      const results = await runAll(cases)
      const problems: string[] = []
      for (const { c, run } of results) {
        const where = `${c.action} ${c.input}=${JSON.stringify(c.value.slice(0, 40))}`
        // Every one of these is wrong for every input here: a failure, one line, no stack trace.
        if (run.exitCode !== 1 || !run.failure)
          problems.push(`${where}: exit ${run.exitCode}, failure ${run.failure}`)
        else if (run.failure.includes('\n')) problems.push(`${where}: several lines`)
        else if (run.failure.length > 1000)
          problems.push(`${where}: a message of ${run.failure.length} characters`)
        if (/internal error|\n\s+at .*:\d+:\d+/i.test(run.stdout + run.stderr))
          problems.push(`${where}: internal error or stack trace`)
      }
      expect(problems).toEqual([])
      await expectNoCanary()
    },
    T
  )
})

describe('hostile health checks', () => {
  it(
    "an http check's URL is data: a payload in it is requested, not run; a command check runs as written on the host",
    async () => {
      const inUrl = canary()
      const run = await runAction({
        action: 'deploy',
        workspace: repo.path,
        inputs: {
          ...baseInputs('deploy'),
          'store-path': web2System,
          'health-checks': [
            `- http: "http://{target}:8080/health?q=$(touch\${IFS}${inUrl})&r=\`touch\${IFS}${inUrl}\`"`,
            '  status: 200',
            // The user's own command, on their host: it runs as written, {host} substituted.
            '- command: "echo {host} > /run/nda-health-{host}"'
          ].join('\n'),
          'health-timeout': '10'
        }
      })
      expect(run.failure).toBeUndefined()
      expect(run.outputs.status).toBe('deployed')
      expect((await host.exec(['cat', '/run/nda-health-web'])).stdout.trim()).toBe('web')
      await expectNoCanary()
      cleanupRun(run)
    },
    T
  )

  it(
    'a malformed health-checks input is refused naming the item, before any connection',
    async () => {
      const cases: [string, RegExp][] = [
        ['command: true', /health-checks/],
        ['- command: true\n  shell: bash', /health-checks.*(item 1|1st|#1)|unknown/i],
        ['- http: 42', /health-checks/],
        [`- tcp: "$(touch ${canary()})"`, /health-checks/]
      ]
      for (const [yaml, pattern] of cases) {
        const run = await runAction({
          action: 'deploy',
          workspace: repo.path,
          inputs: { ...baseInputs('deploy'), 'health-checks': yaml }
        })
        expect(run.exitCode).toBe(1)
        expect(run.failure).toMatch(pattern)
        expect(run.failure).not.toContain('\n')
        cleanupRun(run)
      }
      await expectNoCanary()
    },
    T
  )
})

describe('hostile flake data', () => {
  /** Hosts whose flake-provided connection settings carry payloads. */
  function hostileFlake(address: string): string {
    const c = () => canary()
    return `{
  outputs = { self }:
    let
      lib = import ./lib;
      host = name: args: lib.mkHost ({ inherit name; } // args);
    in {
      nixosConfigurations = {
        web = host "web" { };
        hn1 = host "hn1" { hostName = "$(touch ${c()})"; };
        hn2 = host "hn2" { hostName = "-oProxyCommand=touch ${c()}"; };
        th1 = host "th1" { deployment = { targetHost = "\`touch ${c()}\`"; }; };
        th2 = host "th2" { deployment = { targetHost = "${address}"; targetUser = "root;touch ${c()}"; }; };
        th3 = host "th3" { deployment = { targetHost = "-oProxyCommand=touch ${c()}"; }; };
        dr1 = host "dr1" { };
        dr2 = host "dr2" { };
        dr3 = host "dr3" { };
        dr4 = host "dr4" { };
        dr5 = host "dr5" { };
      };
      deploy.nodes = {
        dr1 = { hostname = "${address}"; sshUser = "$(touch ${c()})"; };
        dr2 = { hostname = "${address}"; sshOpts = [ "-oProxyCommand=touch ${c()}" ]; };
        dr3 = { hostname = "${address}"; sshOpts = [ "-o" "LocalCommand=touch ${c()}" "-o" "PermitLocalCommand=yes" ]; };
        dr4 = { hostname = "${address}"; sshOpts = [ "-F" "/dev/null" "-o" "ProxyJump=-oProxyCommand=x" ]; };
        dr5 = { hostname = "${address}\\ntouch ${c()}"; };
      };
    };
}
`
  }

  let evil: FlakeRepo
  beforeAll(async () => {
    evil = await makeFlakeRepo({ 'flake.nix': hostileFlake(host.address) })
  }, T)
  afterAll(async () => {
    await evil?.remove()
  })

  it(
    'matrix lists the good host; deploy to each hostile host fails naming the host and the flake value, before connecting',
    async () => {
      const matrix = await runAction({
        action: 'matrix',
        workspace: evil.path,
        inputs: { on: 'web' }
      })
      expect(matrix.failure).toBeUndefined()
      expect(JSON.parse(matrix.outputs.hosts)).toEqual(['web'])
      cleanupRun(matrix)

      const expected: Record<string, RegExp> = {
        hn1: /hn1.*networking\.hostName.*invalid SSH destination/,
        hn2: /hn2.*networking\.hostName.*starts with '-'/,
        th1: /th1.*deployment\.targetHost.*invalid SSH destination/,
        th2: /th2.*deployment\.targetHost.*invalid SSH destination 'root;touch/,
        th3: /th3.*deployment\.targetHost.*invalid SSH destination 'root@-oProxyCommand/,
        dr1: /dr1.*deploy\.nodes\.dr1\.hostname.*invalid SSH destination '\$\(touch/,
        dr2: /dr2.*deploy\.nodes\.dr2\.sshOpts.*ProxyCommand.*not allowed from flake data/,
        dr3: /dr3.*deploy\.nodes\.dr3\.sshOpts.*LocalCommand.*not allowed from flake data/,
        dr4: /dr4.*deploy\.nodes\.dr4\.sshOpts.*'-F'.*not allowed from flake data/,
        dr5: /dr5.*deploy\.nodes\.dr5\.hostname.*invalid SSH destination/
      }
      const gens = await host.generations()
      const results = await Promise.all(
        Object.keys(expected).map(h =>
          runAction({
            action: 'deploy',
            workspace: evil.path,
            inputs: {
              host: h,
              'store-path': webSystem,
              'ssh-private-key': fleet.privateKey,
              'ssh-known-hosts': fleet.knownHosts,
              'health-checks': ''
            }
          })
        )
      )
      const problems: string[] = []
      Object.keys(expected).forEach((h, i) => {
        const run = results[i]
        if (run.exitCode !== 1 || !run.failure) problems.push(`${h}: exit ${run.exitCode}`)
        else if (!expected[h].test(run.failure)) problems.push(`${h}: ${run.failure}`)
        else if (run.failure.includes('\n')) problems.push(`${h}: several lines`)
        cleanupRun(run)
      })
      expect(problems).toEqual([])
      // Nothing reached the host.
      expect(await host.generations()).toEqual(gens)
      await expectNoCanary()
    },
    T
  )

  it(
    'an attribute name with shell syntax is refused naming it; a Nix string with a payload stays data in a build',
    async () => {
      const c = canary()
      const odd = await makeFlakeRepo({
        'flake.nix': `{
  outputs = { self }: let lib = import ./lib; in {
    nixosConfigurations = { web = lib.mkHost { name = "web"; }; "a;touch ${c}" = lib.mkHost { name = "odd"; }; };
  };
}
`
      })
      try {
        const matrix = await runAction({ action: 'matrix', workspace: odd.path })
        expect(matrix.exitCode).toBe(1)
        expect(matrix.failure).toMatch(
          /nixosConfigurations attribute name .*invalid host name 'a;touch/
        )
        expect(matrix.failure).not.toContain('\n')
        cleanupRun(matrix)
        const build = await runAction({
          action: 'build',
          workspace: odd.path,
          inputs: { host: 'a;touch', cache: 'false' }
        })
        expect(build.exitCode).toBe(1)
        expect(build.failure).toMatch(/Input 'host' has an invalid host name/)
        cleanupRun(build)
      } finally {
        await odd.remove()
      }
      await expectNoCanary()
    },
    T
  )
})
