/**
 * `npm run demo`: the whole pipeline on a simulated fleet of three hosts, through the real
 * bundles run the way GitHub's runner runs them: check, matrix, build with a diff against what
 * the hosts run, dry-activate, a healthy deploy in waves, then a deploy whose health check fails
 * and rolls back. Prints what a user would see and where the full reports are.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction, type ActionRun } from '../test/harness/action-runner.js'
import {
  buildToplevel,
  makeFlakeRepo,
  startFleet,
  type Fleet,
  type FlakeRepo
} from '../test/harness/fleet.js'

const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-deploy-demo-'))
const tty = process.stdout.isTTY
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s)
let step = 0

function show(title: string, run: ActionRun, opts: { outputs?: string[] } = {}): void {
  step++
  const ok = run.exitCode === 0
  console.log(
    `\n${bold(`━━ ${step}. ${title} ━━`)}  ${ok ? 'step succeeded' : `step FAILED: ${run.failure ?? `exit ${run.exitCode}`}`}`
  )
  for (const a of run.annotations)
    console.log(`  [${a.level}] ${a.file ? `${a.file}:${a.line ?? ''} ` : ''}${a.message}`)
  for (const [k, v] of Object.entries(run.outputs)) {
    if (opts.outputs && !opts.outputs.includes(k)) continue
    console.log(dim(`  output ${k} = ${v.length > 140 ? `${v.slice(0, 137)}...` : v}`))
  }
  const file = path.join(
    reportDir,
    `${String(step).padStart(2, '0')}-${title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.md`
  )
  fs.writeFileSync(file, run.summary)
  const lines = run.summary.trim().split('\n')
  const shown = lines.slice(0, 40)
  console.log(shown.map(l => `  │ ${l}`).join('\n'))
  if (lines.length > shown.length)
    console.log(dim(`  │ … ${lines.length - shown.length} more lines in ${file}`))
}

function flakeText(fleet: Fleet, opts: { webVersion: string; broken: string[] }): string {
  const host = (name: string, tags: string[], extra: string) =>
    `${name} = lib.mkHost { name = "${name}"; deployment = { targetHost = "${fleet.host(name).address}"; tags = [ ${tags.map(t => `"${t}"`).join(' ')} ]; }; ${extra} ${opts.broken.includes(name) ? 'health = { mode = "failing"; };' : ''} };`
  return `{
  description = "A demo fleet (no nixpkgs: the test suite's NixOS-like host library)";
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      site = lib.mkPackage { pname = "site"; version = "${opts.webVersion}"; size = 20000; };
    in {
      nixosConfigurations = {
        ${host('web1', ['web', 'prod'], 'packages = [ pkgs.nginx site ]; services.nginx = { package = pkgs.nginx; }; services.site = { package = site; };')}
        ${host('web2', ['web', 'prod'], 'packages = [ pkgs.nginx site ]; services.nginx = { package = pkgs.nginx; }; services.site = { package = site; };')}
        ${host('db1', ['db'], 'packages = [ pkgs.postgresql ]; services.postgresql = { package = pkgs.postgresql; };')}
      };
    };
}
`
}

async function main(): Promise<void> {
  console.log(bold('nix-deploy-action demo'))
  const fleet = await startFleet({ hosts: ['web1', 'web2', 'db1'] })
  let repo: FlakeRepo | undefined
  try {
    console.log(
      `A simulated fleet: ${fleet.hosts.map(h => `${h.name} (sshd on ${h.address}, its own /nix)`).join(', ')}.`
    )
    repo = await makeFlakeRepo({ 'flake.nix': flakeText(fleet, { webVersion: '1.0', broken: [] }) })
    const base = await repo.commit({}, 'fleet at site 1.0')
    // The hosts run the current commit's systems: install them as their first generation.
    for (const h of fleet.hosts) await fleet.install(h, await buildToplevel(repo.path, h.name))
    console.log(
      `The flake is a git repository at ${repo.path}; every host runs its first generation.`
    )
    // The change under review: the web hosts get site 1.1.
    await repo.commit(
      { 'flake.nix': flakeText(fleet, { webVersion: '1.1', broken: [] }) },
      'site 1.1'
    )
    const ssh = { 'ssh-private-key': fleet.privateKey, 'ssh-known-hosts': fleet.knownHosts }
    const health = '- http: http://{target}:8080/health\n  status: 200\n'
    const ws = repo.path

    show(
      'check',
      await runAction({ action: 'check', workspace: ws, inputs: { 'lock-max-age-days': '0' } })
    )
    const matrix = await runAction({
      action: 'matrix',
      workspace: ws,
      inputs: { 'changed-since': base }
    })
    show('matrix (hosts changed since the base commit)', matrix)
    const hosts = JSON.parse(matrix.outputs.hosts ?? '[]') as string[]
    for (const host of hosts) {
      show(
        `build ${host}, diffed against what it runs`,
        await runAction({
          action: 'build',
          workspace: ws,
          inputs: { host, 'diff-against': 'deployed', cache: 'false', ...ssh }
        }),
        { outputs: ['store-path', 'closure-size', 'changed', 'diff-summary'] }
      )
    }
    show(
      'dry-activate web1',
      await runAction({ action: 'dry-activate', workspace: ws, inputs: { host: 'web1', ...ssh } }),
      {
        outputs: ['units-stop', 'units-restart', 'units-start', 'reboot-required']
      }
    )
    show(
      'deploy @web in waves (canary first)',
      await runAction({
        action: 'deploy',
        workspace: ws,
        inputs: {
          on: '@web',
          strategy: 'canary',
          'health-checks': health,
          'health-timeout': '10',
          ...ssh
        }
      }),
      { outputs: ['status'] }
    )
    // A bad change: web2's new generation answers 500 on its health endpoint.
    await repo.commit(
      { 'flake.nix': flakeText(fleet, { webVersion: '1.2', broken: ['web2'] }) },
      'site 1.2 (broken on web2)'
    )
    show(
      'deploy @web again: web2 is unhealthy and rolls back',
      await runAction({
        action: 'deploy',
        workspace: ws,
        inputs: {
          on: '@web',
          'health-checks': health,
          'health-timeout': '6',
          'rollback-scope': 'host',
          ...ssh
        }
      }),
      { outputs: ['status'] }
    )
    console.log(`\n${bold('What the hosts run now')}`)
    for (const h of fleet.hosts)
      console.log(
        `  ${h.name.padEnd(6)} ${await h.currentSystem()}  (generations ${(await h.generations()).join(', ')})`
      )
  } finally {
    await fleet.stop()
    await repo?.remove()
  }
  console.log(`\nThe fleet is stopped. Every job summary is in ${reportDir}`)
}

main().catch(err => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
