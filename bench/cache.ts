/**
 * Benchmark: an 8-host deploy from a signed binary cache against the same deploy through the runner
 * (not a test: it prints figures and never asserts). Run as root: `npm run bench:cache`.
 *
 * On the simulated fleet (real sshd hosts, each with its own /nix), with the committed bundles run
 * as the runner runs them:
 * 1. through the runner: the deploy action with `on` (every host), no cache: it builds the 8
 *    systems on its runner, then copies each closure to its host;
 * 2. from the cache: the build action once per host with `push-to: file://…` and `signing-key`
 *    (timed apart: the build jobs' share), the systems' toplevels then deleted from the runner's
 *    store, then the deploy action with `substituters` and `trusted-public-keys`: nothing built,
 *    each closure fetched from the cache (signatures required and verified), then copied on.
 * Each scenario deploys new systems (a counter in the flake), so every closure is really moved.
 * Bytes per host: the growth of the host's /nix/store (du), the same in both scenarios since the
 * hosts receive the same closures; bytes read from the cache: the NAR files of the fetched paths.
 * Writes the figures to .bench/cache.json.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { run } from '../src/core/process.js'
import { runAction } from '../test/harness/action-runner.js'
import { makeFlakeRepo, startFleet, type SimHost } from '../test/harness/fleet.js'
import { nixEnv } from '../test/harness/nix-env.js'

const HOSTS = Array.from({ length: 8 }, (_, i) => `h${i}`)
const NONCE = Date.now().toString(36)
const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      gen = builtins.fromJSON (builtins.readFile ./gen.json);
      hosts = builtins.fromJSON (builtins.readFile ./hosts.json);
      mk = name: address: lib.mkHost {
        inherit name;
        packages = [ pkgs.nginx pkgs.curl ];
        services.nginx = { package = pkgs.nginx; config = "${NONCE}-generation-\${toString gen}"; };
        deployment.targetHost = address;
      };
    in { nixosConfigurations = builtins.mapAttrs mk hosts; };
}
`

async function sh(argv: string[], input?: string) {
  return run(argv, { timeoutMs: 600_000, env: nixEnv(), check: false, input })
}

async function storeBytes(h: SimHost): Promise<number> {
  const r = await sh(['du', '-sb', path.join(h.dir, 'nix', 'store')])
  return Number(r.stdout.split(/\s/)[0]) || 0
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cache-'))
  const fleet = await startFleet({ hosts: HOSTS })
  let gen = 0
  const hostsJson = JSON.stringify(Object.fromEntries(fleet.hosts.map(h => [h.name, h.address])))
  const repo = await makeFlakeRepo({ 'flake.nix': FLAKE, 'hosts.json': hostsJson, 'gen.json': '0' })
  const secret = (
    await sh(['nix', 'key', 'generate-secret', '--key-name', 'bench-1'])
  ).stdout.trim()
  const pub = (await sh(['nix', 'key', 'convert-secret-to-public'], secret)).stdout.trim()
  const ssh = { 'ssh-private-key': fleet.privateKey, 'ssh-known-hosts': fleet.knownHosts }
  const out: Record<string, unknown> = { hosts: HOSTS.length }
  try {
    // 1. Through the runner.
    await repo.commit({ 'gen.json': String(++gen) })
    let before = await Promise.all(fleet.hosts.map(storeBytes))
    let t = Date.now()
    const viaRunner = await runAction({
      action: 'deploy',
      workspace: repo.path,
      inputs: { hosts: HOSTS.join(','), 'confirm-timeout': '6', ...ssh }
    })
    const runnerSeconds = (Date.now() - t) / 1000
    if (viaRunner.failure) throw new Error(`deploy through the runner failed: ${viaRunner.failure}`)
    let after = await Promise.all(fleet.hosts.map(storeBytes))
    const runnerBytes = after.map((a, i) => a - before[i])

    // 2. From the cache: build jobs push, the deploy fetches.
    await repo.commit({ 'gen.json': String(++gen) })
    const cacheDir = path.join(tmp, 'cache')
    t = Date.now()
    const paths: Record<string, string> = {}
    for (const h of HOSTS) {
      const b = await runAction({
        action: 'build',
        workspace: repo.path,
        inputs: { host: h, cache: 'false', 'push-to': `file://${cacheDir}`, 'signing-key': secret }
      })
      if (b.failure) throw new Error(`build ${h} failed: ${b.failure}`)
      Object.assign(paths, JSON.parse(b.outputs['store-paths']))
    }
    const buildPushSeconds = (Date.now() - t) / 1000
    const cacheBytes = Number((await sh(['du', '-sb', cacheDir])).stdout.split(/\s/)[0])
    for (const p of Object.values(paths)) await sh(['nix-store', '--delete', p])
    before = await Promise.all(fleet.hosts.map(storeBytes))
    t = Date.now()
    const fromCache = await runAction({
      action: 'deploy',
      workspace: repo.path,
      inputs: {
        hosts: HOSTS.join(','),
        'store-paths': JSON.stringify(paths),
        substituters: `file://${cacheDir}`,
        'trusted-public-keys': pub,
        'confirm-timeout': '6',
        ...ssh
      }
    })
    const cacheSeconds = (Date.now() - t) / 1000
    if (fromCache.failure) throw new Error(`deploy from the cache failed: ${fromCache.failure}`)
    after = await Promise.all(fleet.hosts.map(storeBytes))
    const cacheHostBytes = after.map((a, i) => a - before[i])

    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
    out.figures = [
      {
        name: `deploy of ${HOSTS.length} hosts through the runner (builds, then copies)`,
        seconds: runnerSeconds
      },
      {
        name: `build + sign + push of ${HOSTS.length} hosts (the build jobs' share, serial here)`,
        seconds: buildPushSeconds
      },
      {
        name: `deploy of ${HOSTS.length} hosts from the cache (fetch, verify, copy; no build)`,
        seconds: cacheSeconds
      }
    ]
    out.bytesPerHostThroughRunner = mean(runnerBytes)
    out.bytesPerHostFromCache = mean(cacheHostBytes)
    out.cacheBytesWritten = cacheBytes
    out.notes = [
      'The runner fetches each path from the cache once, whatever the number of hosts that share it; every host then receives its own closure from the runner (the paths it lacks).',
      "Bytes per host: growth of the host's /nix/store (du -sb), new systems in both scenarios."
    ]
    console.log(JSON.stringify(out, null, 2))
    fs.mkdirSync('.bench', { recursive: true })
    fs.writeFileSync('.bench/cache.json', JSON.stringify(out, null, 2) + '\n')
  } finally {
    await fleet.stop()
    await repo.remove()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
