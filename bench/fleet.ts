/**
 * Benchmark of a fleet rollout on 8 simulated hosts (not a test: it prints figures and never
 * asserts). Run as root: `. scripts/nix-env.sh; node --import tsx bench/fleet.ts`.
 *
 * Calls the engine as the deploy action does (`rollout` over `deployHost`, one SSH session) and
 * measures the wall time of:
 * 1. one host's deploy (f1 alone; median of two: a -> b and b -> a);
 * 2. the 8 hosts in parallel (max-parallel 8, strategy all): a -> b;
 * 3. the 8 hosts one after another (max-parallel 1, the deploy-rs way): b -> a.
 * Every deploy copies, switches, proves the host (new SSH connection, an HTTP health check) and
 * confirms. Each measured run has an SSH session of its own, as an action run has (its
 * connections are opened, then closed at the end), and the SSH logins each host's sshd accepted
 * are counted from its log. Writes the figures to .bench/fleet.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deployHost } from '../src/core/deploy/deploy-host.js'
import { rollout } from '../src/core/deploy/rollout.js'
import type { HostResult } from '../src/core/model.js'
import { parseHealthChecks } from '../src/core/health-config.js'
import { MemoryLogger } from '../src/core/log.js'
import { SshSession, type Remote } from '../src/core/ssh.js'
import { parseTarget } from '../src/core/target.js'
import { buildToplevel, makeFlakeRepo, startFleet, type SimHost } from '../test/harness/fleet.js'

const HOSTS = Array.from({ length: 8 }, (_, i) => `f${i + 1}`)
const HEALTH = parseHealthChecks('- http: http://{target}:8080/health\n  status: 200\n  body: ok\n')

// Two generations per host (a, b), each host its own system (its name is in it).
const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      names = builtins.fromJSON (builtins.readFile ./hosts.json);
      mk = name: gen: lib.mkHost {
        inherit name;
        packages = [ pkgs.nginx ] ++ (if gen == "b" then [ pkgs.curl ] else [ ]);
        services.nginx = { package = pkgs.nginx; config = "generation-\${gen}"; };
      };
    in {
      nixosConfigurations = builtins.listToAttrs (builtins.concatMap (n: [
        { name = "\${n}-a"; value = mk n "a"; }
        { name = "\${n}-b"; value = mk n "b"; }
      ]) names);
    };
}
`

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)] : NaN
}
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`

async function main(): Promise<void> {
  const t0 = Date.now()
  console.log(
    `Fleet benchmark: building ${HOSTS.length * 2} systems and starting ${HOSTS.length} simulated hosts…`
  )
  const repo = await makeFlakeRepo({ 'flake.nix': FLAKE, 'hosts.json': JSON.stringify(HOSTS) })
  const sys: Record<string, { a: string; b: string }> = {}
  await Promise.all(
    HOSTS.map(async h => {
      sys[h] = {
        a: await buildToplevel(repo.path, `${h}-a`),
        b: await buildToplevel(repo.path, `${h}-b`)
      }
    })
  )
  const fleet = await startFleet({ hosts: HOSTS })
  const newSession = () =>
    SshSession.create(
      {
        privateKey: fleet.privateKey,
        knownHosts: fleet.knownHosts,
        acceptNewHostKeys: false,
        extraOptions: [],
        sudo: 'auto',
        connectTimeout: 15,
        allowUserKnownHosts: false
      },
      tmpdir()
    )
  // One session per measured run, as one action run has; its connections end with it.
  let session = newSession()
  const endSession = async () => {
    await session.close()
    session.dispose()
    session = newSession()
  }
  const logins = async () =>
    Object.fromEntries(
      await Promise.all(HOSTS.map(async h => [h, await fleet.host(h).sshLogins()]))
    )
  const remote = (h: SimHost): Remote => ({
    host: h.name,
    target: parseTarget(`root@${h.address}`, 'bench'),
    hostOptions: []
  })
  const deploy = (name: string, gen: 'a' | 'b') =>
    deployHost({
      session,
      remote: remote(fleet.host(name)),
      storePath: sys[name][gen],
      mode: 'switch',
      healthChecks: HEALTH,
      healthTimeoutSeconds: 30,
      confirmTimeoutSeconds: 20,
      rollback: true,
      substituteOnTarget: true,
      activationTimeoutSeconds: 600,
      holder: 'bench/fleet.ts',
      logger: new MemoryLogger()
    })
  const check = (what: string, results: HostResult[]) => {
    for (const r of results)
      if (r.status !== 'deployed')
        console.log(`  (note: ${what}: ${r.host} ended ${r.status}: ${r.error ?? ''})`)
  }
  const fleetRun = async (gen: 'a' | 'b', maxParallel: number) => {
    const before = await logins()
    const started = Date.now()
    const out = await rollout({
      hosts: HOSTS,
      strategy: { kind: 'all' },
      maxParallel,
      rollbackScope: 'fleet',
      logger: new MemoryLogger(),
      deploy: h => deploy(h, gen),
      revert: async r => r
    })
    await endSession()
    const wallMs = Date.now() - started
    check(`max-parallel ${maxParallel}`, out.results)
    const after = await logins()
    return {
      wallMs,
      perHostMs: out.results.map(r => Math.round(r.durationSeconds * 1000)),
      loginsPerHost: HOSTS.map(h => after[h] - before[h])
    }
  }

  try {
    for (const h of HOSTS) await fleet.install(h, sys[h].a)

    // 1. One host alone, both directions (f1 ends on a again, like the others).
    const single: number[] = []
    const singleLogins: number[] = []
    for (const gen of ['b', 'a'] as const) {
      const before = await fleet.host('f1').sshLogins()
      const started = Date.now()
      const r = await deploy('f1', gen)
      await endSession()
      single.push(Date.now() - started)
      singleLogins.push((await fleet.host('f1').sshLogins()) - before)
      check('one host', [r])
    }
    // 2. In parallel, a -> b.  3. One after another, b -> a.
    const parallel = await fleetRun('b', 8)
    const sequential = await fleetRun('a', 1)

    const oneMs = median(single)
    const figures = {
      hosts: HOSTS.length,
      oneHostMs: oneMs,
      oneHostSamplesMs: single,
      parallelMs: parallel.wallMs,
      parallelPerHostMedianMs: median(parallel.perHostMs),
      sequentialMs: sequential.wallMs,
      sequentialPerHostMedianMs: median(sequential.perHostMs),
      parallelOverOneHost: parallel.wallMs / oneMs,
      sequentialOverParallel: sequential.wallMs / parallel.wallMs,
      sshLoginsOneHost: singleLogins,
      sshLoginsPerHostParallel: parallel.loginsPerHost,
      sshLoginsPerHostSequential: sequential.loginsPerHost,
      benchSeconds: Math.round((Date.now() - t0) / 1000)
    }
    console.log('')
    console.log(
      `Rollout to ${HOSTS.length} simulated hosts (copy, switch, new SSH connection, HTTP health check, confirm)`
    )
    const row = (label: string, ms: number, note = '') =>
      console.log(`  ${label.padEnd(40)} ${sec(ms).padStart(8)}${note ? `   (${note})` : ''}`)
    row('one host', oneMs)
    row(
      `${HOSTS.length} hosts, max-parallel ${HOSTS.length}`,
      parallel.wallMs,
      `${figures.parallelOverOneHost.toFixed(2)}x one host; per host ${sec(figures.parallelPerHostMedianMs)}`
    )
    row(
      `${HOSTS.length} hosts, one after another (max-parallel 1)`,
      sequential.wallMs,
      `${figures.sequentialOverParallel.toFixed(2)}x the parallel rollout; per host ${sec(figures.sequentialPerHostMedianMs)}`
    )
    console.log(
      `  SSH logins per deploy: one host ${singleLogins.join(', ')}; in the parallel rollout ${parallel.loginsPerHost.join(', ')}; one after another ${sequential.loginsPerHost.join(', ')}`
    )
    console.log(
      `  (bench took ${figures.benchSeconds} s, on ${(await import('node:os')).cpus().length} CPUs)`
    )
    mkdirSync('.bench', { recursive: true })
    writeFileSync(join('.bench', 'fleet.json'), JSON.stringify(figures, null, 2) + '\n')
    console.log('Wrote .bench/fleet.json')
  } finally {
    await session.close()
    session.dispose()
    await fleet.stop()
    await repo.remove()
  }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
