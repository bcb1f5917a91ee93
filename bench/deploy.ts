/**
 * Benchmark of one host's deploy on the simulated fleet (not a test: it prints figures and never
 * asserts). Run as root: `. scripts/nix-env.sh; node --import tsx bench/deploy.ts [--runs N]`.
 *
 * Calls the engine's `deployHost` directly (the same call the deploy action makes) against real
 * sshd hosts with their own /nix, and measures:
 * 1. a healthy deploy (a new system, really copied; an HTTP health check), total and by phase;
 * 2. an unchanged redeploy (the host already runs the system);
 * 3. the runner-initiated rollback: from the failing health verdict to the previous generation
 *    active on the host (polled from inside the host), and the rollback phase;
 * 4. a lost connection (a generation that stops sshd): from the switch to the host restored by its
 *    own watchdog (polled), with confirm-timeout as given;
 * 5. SSH logins per deploy (each deploy has a session of its own, as an action run has), counted
 *    in the host's sshd log;
 * 6. the dead-man switch: the deploy action (the committed bundle, as the runner runs it) with
 *    health-timeout 60 and confirm-timeout 6, the whole step SIGKILLed right after the switch and
 *    during the health checks; from the kill to the previous generation active again (polled from
 *    inside the host). The promise: within confirm-timeout + 3 s, whatever health-timeout is.
 * Writes the figures to .bench/deploy.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deployHost, type DeployHostOptions } from '../src/core/deploy/deploy-host.js'
import type { HostResult, PhaseName } from '../src/core/model.js'
import { parseHealthChecks } from '../src/core/health-config.js'
import { MemoryLogger } from '../src/core/log.js'
import { SshSession, type Remote } from '../src/core/ssh.js'
import { parseTarget } from '../src/core/target.js'
import { runAction } from '../test/harness/action-runner.js'
import { buildToplevel, makeFlakeRepo, startFleet, type SimHost } from '../test/harness/fleet.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const RUNS = Math.min(20, option('--runs', 3))
const HEALTH_TIMEOUT = option('--health-timeout', 6)
const CONFIRM_TIMEOUT = option('--confirm-timeout', 6)
const HEALTH = parseHealthChecks('- http: http://{target}:8080/health\n  status: 200\n  body: ok\n')

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      web = args: lib.mkHost ({ name = "web"; packages = [ pkgs.nginx ]; services.nginx = { package = pkgs.nginx; }; } // args);
    in {
      nixosConfigurations = {
        a = web { };
        b = web { packages = [ pkgs.nginx pkgs.curl ]; services.extra = { }; };
        unhealthy = web { health = { mode = "failing"; }; };
        nossh = web { stopSsh = true; };
      }
      # New systems for the healthy deploys (each one is really copied): run0, run1, …
      // builtins.listToAttrs (builtins.genList (i: {
        name = "run\${toString i}";
        value = web { services.nginx = { package = pkgs.nginx; config = "run-\${toString i}"; }; };
      }) 20);
    };
}
`

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)] : NaN
}
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** Polls `host`'s /run/current-system until it is `want` (or the deadline); the moment it was seen. */
async function waitFor(host: SimHost, want: string, deadlineMs: number): Promise<number | null> {
  while (Date.now() < deadlineMs) {
    if ((await host.currentSystem()) === want) return Date.now()
    await sleep(50)
  }
  return null
}

function phaseMs(r: HostResult): Partial<Record<PhaseName, number>> {
  const out: Partial<Record<PhaseName, number>> = {}
  for (const p of r.phases) out[p.name] = (out[p.name] ?? 0) + p.durationMs
  return out
}

async function main(): Promise<void> {
  const t0 = Date.now()
  console.log('Deploy benchmark: building the systems and starting the simulated hosts…')
  const repo = await makeFlakeRepo({ 'flake.nix': FLAKE })
  const sys: Record<string, string> = {}
  for (const name of ['a', 'unhealthy', 'nossh']) sys[name] = await buildToplevel(repo.path, name)
  for (let i = 0; i < RUNS; i++) sys[`run${i}`] = await buildToplevel(repo.path, `run${i}`)
  const fleet = await startFleet({ hosts: ['h1', 'h2'] })
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
  const loginsPerDeploy: number[] = []
  const remote = (h: SimHost): Remote => ({
    host: 'web',
    target: parseTarget(`root@${h.address}`, 'bench'),
    hostOptions: []
  })
  /** One deploy with an SSH session of its own (closed at its end), its logins counted. */
  const deploy = async (h: SimHost, storePath: string, extra: Partial<DeployHostOptions> = {}) => {
    const session = newSession()
    const before = await h.sshLogins()
    try {
      return await deployWith(session, h, storePath, extra)
    } finally {
      await session.close()
      session.dispose()
      loginsPerDeploy.push((await h.sshLogins()) - before)
    }
  }
  const deployWith = (
    session: SshSession,
    h: SimHost,
    storePath: string,
    extra: Partial<DeployHostOptions> = {}
  ) =>
    deployHost({
      session,
      remote: remote(h),
      storePath,
      mode: 'switch',
      healthChecks: HEALTH,
      healthTimeoutSeconds: HEALTH_TIMEOUT,
      confirmTimeoutSeconds: CONFIRM_TIMEOUT,
      rollback: true,
      substituteOnTarget: true,
      activationTimeoutSeconds: 600,
      holder: 'bench/deploy.ts',
      logger: new MemoryLogger(),
      ...extra
    })
  const unexpected = (what: string, r: HostResult) =>
    console.log(`  (note: ${what} ended ${r.status}: ${r.error ?? ''})`)

  try {
    const h1 = fleet.host('h1')
    const h2 = fleet.host('h2')
    await fleet.install(h1, sys.a)
    await fleet.install(h2, sys.a)

    // 1-2. Healthy deploys of a new system each time (a -> run0 -> run1 …), each followed by an
    // unchanged redeploy of the same system.
    const healthy: HostResult[] = []
    const unchanged: HostResult[] = []
    for (let i = 0; i < RUNS; i++) {
      const r = await deploy(h1, sys[`run${i}`])
      if (r.status !== 'deployed') unexpected('a healthy deploy', r)
      healthy.push(r)
      const u = await deploy(h1, sys[`run${i}`])
      if (u.status !== 'unchanged') unexpected('an unchanged redeploy', u)
      unchanged.push(u)
    }

    // 3. Runner-initiated rollback: verdict (the rollback phase starts) -> previous system active.
    const rollbacks: { latencyMs: number; rollbackPhaseMs: number; totalMs: number }[] = []
    for (let i = 0; i < RUNS; i++) {
      const prev = (await h1.currentSystem()) as string
      let verdictAt = 0
      let restoredAt: Promise<number | null> = Promise.resolve(null)
      const r = await deploy(h1, sys.unhealthy, {
        onPhase: (_h, phase) => {
          if (phase !== 'rollback') return
          verdictAt = Date.now()
          restoredAt = waitFor(h1, prev, Date.now() + 120_000)
        }
      })
      const at = await restoredAt
      if (r.status !== 'rolled-back' || !at) unexpected('an unhealthy deploy', r)
      else
        rollbacks.push({
          latencyMs: at - verdictAt,
          rollbackPhaseMs: phaseMs(r).rollback ?? NaN,
          totalMs: r.durationSeconds * 1000
        })
    }

    // 4. Lost connection: switch -> the host's watchdog restores the previous system.
    const watchdogs: { restoreMs: number; deployReturnedMs: number; totalMs: number }[] = []
    for (let i = 0; i < Math.min(RUNS, 2); i++) {
      const prev = (await h2.currentSystem()) as string
      // Polled from inside the host (nsenter, not SSH): the switch, then the restore.
      let seen: Promise<{ sw: number | null; back: number | null }> = Promise.resolve({
        sw: null,
        back: null
      })
      const r = await deploy(h2, sys.nossh, {
        healthChecks: [],
        onPhase: (_h, phase) => {
          if (phase !== 'activate') return
          seen = (async () => {
            const sw = await waitFor(h2, sys.nossh, Date.now() + 120_000)
            const back = sw === null ? null : await waitFor(h2, prev, Date.now() + 180_000)
            return { sw, back }
          })()
        }
      })
      const returnedAt = Date.now()
      const { sw, back } = await seen
      if (r.status !== 'rolled-back' || !sw || !back)
        unexpected('a deploy that loses its connection', r)
      else
        watchdogs.push({
          restoreMs: back - sw,
          deployReturnedMs: returnedAt - sw,
          totalMs: r.durationSeconds * 1000
        })
      if (!(await h2.sshAlive())) await h2.startSsh()
    }

    // 6. The dead-man switch: the whole step killed; from the kill to the previous system active.
    const deadMan: { at: string; restoreMs: number }[] = []
    for (const at of ['after the switch', 'during the health checks'] as const) {
      for (let i = 0; i < Math.min(RUNS, 2); i++) {
        await fleet.install(h2, sys.a)
        let killedAt = 0
        const run = await runAction({
          action: '.',
          workspace: repo.path,
          inputs: {
            host: 'web',
            target: `root@${h2.address}`,
            'store-path': sys[`run${i}`],
            'ssh-private-key': fleet.privateKey,
            'ssh-known-hosts': fleet.knownHosts,
            'health-checks':
              at === 'after the switch' ? '- command: sleep 30' : '- command: "false"',
            'health-timeout': '60',
            'confirm-timeout': '6'
          },
          post: false,
          interrupt: {
            signal: 'SIGKILL',
            tree: true,
            when: line => {
              const hit =
                at === 'after the switch'
                  ? line.includes('web: verify')
                  : /web: .*retrying \(attempt/.test(line)
              if (hit) killedAt = Date.now()
              return hit
            }
          }
        })
        const back = killedAt ? await waitFor(h2, sys.a, Date.now() + 180_000) : null
        if (run.signal !== 'SIGKILL' || !back)
          console.log(
            `  (note: the dead-man run ${at} did not go as planned: ${run.failure ?? run.signal})`
          )
        else deadMan.push({ at, restoreMs: back - killedAt })
      }
    }

    const phases: Partial<Record<PhaseName, number>> = {}
    for (const name of [
      'probe',
      'lock',
      'copy',
      'record',
      'arm',
      'activate',
      'verify',
      'confirm'
    ] as PhaseName[]) {
      phases[name] = median(healthy.map(r => phaseMs(r)[name] ?? 0))
    }
    const figures = {
      runs: RUNS,
      healthTimeoutSeconds: HEALTH_TIMEOUT,
      confirmTimeoutSeconds: CONFIRM_TIMEOUT,
      healthyDeploy: {
        medianMs: median(healthy.map(r => r.durationSeconds * 1000)),
        samplesMs: healthy.map(r => Math.round(r.durationSeconds * 1000)),
        phasesMedianMs: phases
      },
      unchangedRedeploy: {
        medianMs: median(unchanged.map(r => r.durationSeconds * 1000)),
        samplesMs: unchanged.map(r => Math.round(r.durationSeconds * 1000))
      },
      runnerRollback: {
        verdictToPreviousActiveMedianMs: median(rollbacks.map(r => r.latencyMs)),
        rollbackPhaseMedianMs: median(rollbacks.map(r => r.rollbackPhaseMs)),
        wholeUnhealthyDeployMedianMs: median(rollbacks.map(r => r.totalMs)),
        samples: rollbacks
      },
      watchdogRestore: {
        switchToRestoredMedianMs: median(watchdogs.map(w => w.restoreMs)),
        switchToDeployReturnedMedianMs: median(watchdogs.map(w => w.deployReturnedMs)),
        samples: watchdogs
      },
      sshLoginsPerDeploy: {
        max: Math.max(...loginsPerDeploy),
        samples: loginsPerDeploy
      },
      deadManSwitch: {
        healthTimeoutSeconds: 60,
        confirmTimeoutSeconds: 6,
        killToRestoredAfterSwitchMedianMs: median(
          deadMan.filter(d => d.at === 'after the switch').map(d => d.restoreMs)
        ),
        killToRestoredDuringHealthChecksMedianMs: median(
          deadMan.filter(d => d.at === 'during the health checks').map(d => d.restoreMs)
        ),
        samples: deadMan
      },
      benchSeconds: Math.round((Date.now() - t0) / 1000)
    }

    console.log('')
    console.log(
      `Deploy of one simulated host (median of ${RUNS}; health-timeout ${HEALTH_TIMEOUT} s, confirm-timeout ${CONFIRM_TIMEOUT} s)`
    )
    console.log(`  healthy deploy            ${sec(figures.healthyDeploy.medianMs)}`)
    for (const [name, ms] of Object.entries(phases))
      console.log(`    ${name.padEnd(10)} ${sec(ms as number)}`)
    console.log(`  unchanged redeploy        ${sec(figures.unchangedRedeploy.medianMs)}`)
    console.log(
      `  rollback (runner): failing verdict -> previous generation active  ${sec(figures.runnerRollback.verdictToPreviousActiveMedianMs)}`
    )
    console.log(
      `    rollback phase (the switch back)                                ${sec(figures.runnerRollback.rollbackPhaseMedianMs)}`
    )
    console.log(
      `    whole unhealthy deploy (incl. ${HEALTH_TIMEOUT} s of failing checks)           ${sec(figures.runnerRollback.wholeUnhealthyDeployMedianMs)}`
    )
    console.log(
      `  lost connection: switch -> restored by the host's watchdog      ${sec(figures.watchdogRestore.switchToRestoredMedianMs)}`
    )
    console.log(
      `    switch -> deploy returned (it waits and re-checks)              ${sec(figures.watchdogRestore.switchToDeployReturnedMedianMs)}`
    )
    console.log(
      `  SSH logins per deploy (sshd log)  max ${figures.sshLoginsPerDeploy.max}  (${loginsPerDeploy.join(' ')})`
    )
    console.log(
      `  runner SIGKILLed, health-timeout 60 s, confirm-timeout 6 s: kill -> previous generation active`
    )
    console.log(
      `    right after the switch          ${sec(figures.deadManSwitch.killToRestoredAfterSwitchMedianMs)}`
    )
    console.log(
      `    during the health checks        ${sec(figures.deadManSwitch.killToRestoredDuringHealthChecksMedianMs)}`
    )
    console.log(`  (bench took ${figures.benchSeconds} s)`)
    mkdirSync('.bench', { recursive: true })
    writeFileSync(join('.bench', 'deploy.json'), JSON.stringify(figures, null, 2) + '\n')
    console.log('Wrote .bench/deploy.json')
  } finally {
    await fleet.stop()
    await repo.remove()
  }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
