/**
 * `dry-activate`: what activating a host's new system would do, asked of the host itself. Reads
 * the inputs, finds the host's SSH destination (the `target` input, else the flake's data), takes
 * the system from `store-path` or builds the host's toplevel, then runs the engine
 * (`src/core/dry-activate.ts`). The GitHub side is `src/actions/dry-activate.ts`; the terminal
 * side is `src/cli.ts`.
 */
import os from 'node:os'
import { buildOne, hostTarget, requireHost, requireLocalPath, someNames } from '../core/build.js'
import { dryActivate, type DryActivateReport } from '../core/dry-activate.js'
import { ActionError } from '../core/errors.js'
import { evalSystemOutPaths, readInventory, requireTarget } from '../core/flake.js'
import { parseBool, parseFlakeRef, parsePositiveInt, parseStorePath } from '../core/inputs.js'
import { assertFlakeExists } from '../core/local-flake.js'
import { SshSession, type Remote } from '../core/ssh.js'
import { parseTarget, validateHostName } from '../core/target.js'
import { sshSettingsFromInputs } from './ssh-inputs.js'
import { fetchVerified, isSshStore } from '../core/binary-cache.js'
import { cacheInputs, parseStorePathsInput } from './deploy.js'
import type { CommandContext } from './types.js'
import { defaultBool, defaultInt, defaultOf } from './inputs.js'

/** The inputs (and terminal options) this command reads. */

export interface DryActivateRun {
  flake: string
  host: string
  remote: Remote
  storePath: string
  /** The system was built here (no `store-path` input). */
  built: boolean
  report: DryActivateReport
}

export interface DryActivateCommandOptions {
  /** Where the SSH session's private folder goes (RUNNER_TEMP in the action). */
  tempRoot?: string
  /** Run from a terminal: the user's own known_hosts may be used. */
  terminal?: boolean
  /** Called with the SSH session's folder as soon as it exists (the action saves it for its post step). */
  onSession?: (dir: string) => void
  /**
   * Makes a given `store-path` valid in the local store, or throws a sentence naming the input.
   * The action restores it from the Actions cache; the default requires it to be there.
   */
  ensureLocal?: (storePath: string, host: string) => Promise<void>
  /** Each line of the build log. */
  onLogLine?: (line: string) => void
}

/** Where the host is: the `target` input, else the flake's data (deploy-rs, colmena, networking). */
async function resolveRemote(ctx: CommandContext, flake: string, host: string): Promise<Remote> {
  const targetInput = ctx.get('target')
  if (targetInput)
    return { host, target: parseTarget(targetInput, "input 'target'"), hostOptions: [] }
  const inventory = await ctx.logger.group(`Reading the hosts of ${flake}`, () =>
    readInventory(flake, { cwd: ctx.cwd, logger: ctx.logger })
  )
  const info = inventory.find(h => h.name === host)
  if (!info) {
    throw new ActionError(
      `Host ${host} does not exist in the flake '${flake}'; its hosts are ${someNames(inventory.map(h => h.name))}.`,
      { host, input: 'host', phase: 'evaluate' }
    )
  }
  return { host, target: requireTarget(info), hostOptions: info.sshOptions }
}

export async function dryActivateCommand(
  ctx: CommandContext,
  opts: DryActivateCommandOptions = {}
): Promise<DryActivateRun> {
  const log = ctx.logger
  // Every input is checked before anything slow happens.
  const hostInput = ctx.get('host')
  if (!hostInput)
    throw new ActionError(
      "Input 'host' is required (a host of the flake: a nixosConfigurations attribute, a colmena node or a deploy-rs node).",
      {
        input: 'host'
      }
    )
  const host = validateHostName(hostInput, "input 'host'")
  const flake = parseFlakeRef('flake', ctx.get('flake') || defaultOf('dry-activate', 'flake'))
  const storePathInput = ctx.get('store-path')
  const storePathsInput = ctx.get('store-paths')
  const givenPath = storePathInput
    ? parseStorePath('store-path', storePathInput)
    : storePathsInput
      ? (parseStorePathsInput(storePathsInput).get(host) ?? null)
      : null
  const substituteOnTarget = parseBool(
    'substitute-on-target',
    ctx.get('substitute-on-target'),
    defaultBool('dry-activate', 'substitute-on-target')
  )
  const timeoutSeconds = parsePositiveInt(
    'activation-timeout',
    ctx.get('activation-timeout'),
    defaultInt('dry-activate', 'activation-timeout'),
    { min: 1, max: 24 * 3600 }
  )
  const cache = cacheInputs(ctx)
  const settings = sshSettingsFromInputs(ctx.get, { terminal: opts.terminal })
  // The flake is needed unless both the system and the destination are given.
  const needFlake = !givenPath || !ctx.get('target')
  if (needFlake) assertFlakeExists(flake, ctx.cwd)

  // The SSH material exists from here on: removed in `finally`, and by the action's post step.
  // Created first, so missing known hosts or a malformed key fail before any evaluation.
  const session = SshSession.create(settings, opts.tempRoot ?? os.tmpdir())
  opts.onSession?.(session.dir)
  try {
    const remote = await resolveRemote(ctx, flake, host)
    // Where the host's system is (nixosConfigurations, a colmena hive, a deploy-rs profile).
    const target = givenPath
      ? undefined
      : await requireHost(flake, host, `in the flake '${flake}'`, {
          cwd: ctx.cwd,
          logger: log,
          input: 'host'
        })
    let storePath: string
    if (cache) {
      // From the binary cache: evaluated (no build) unless given, fetched with signatures checked.
      storePath =
        givenPath ??
        parseStorePath(
          'store-path',
          (
            await log.group(`Evaluating the store path of ${host} (nothing is built)`, () =>
              evalSystemOutPaths(flake, [host], { cwd: ctx.cwd, logger: log, phase: 'evaluate' })
            )
          )[host]
        )
      const env = cache.substituters.some(isSshStore) ? session.storeEnv() : undefined
      await log.group(`Fetching ${storePath} from the cache`, () =>
        fetchVerified(storePath, cache.substituters, cache.keys, { logger: log, host, env })
      )
    } else if (givenPath) {
      storePath = givenPath
      if (opts.ensureLocal) await opts.ensureLocal(storePath, host)
      else await requireLocalPath(storePath, 'store-path', { logger: log, host })
    } else {
      const built = await log.group(`Building ${host}`, () =>
        buildOne(target ?? hostTarget(flake, host), {
          cwd: ctx.cwd,
          logger: log,
          onLogLine: opts.onLogLine ?? (l => log.info(l))
        })
      )
      storePath = built.storePath
      log.info(`Built ${storePath} in ${(built.durationMs / 1000).toFixed(1)} s.`)
    }
    const report = await log.group(`Dry-activating ${storePath} on ${host}`, () =>
      dryActivate({
        session,
        remote,
        storePath,
        logger: log,
        substituteOnTarget,
        timeoutSeconds,
        onPhase: phase => log.debug(`${host}: ${phase}`)
      })
    )
    return { flake, host, remote, storePath, built: !givenPath && !cache, report }
  } finally {
    session.dispose()
  }
}

/** The action's outputs (report-file added by the adapter). */
export function dryActivateOutputs(report: DryActivateReport): Record<string, string> {
  return {
    'units-stop': JSON.stringify(report.stop),
    'units-restart': JSON.stringify(report.restart),
    'units-reload': JSON.stringify(report.reload),
    'units-start': JSON.stringify(report.start),
    'units-not-restarted': JSON.stringify(report.notStopped),
    'units-new': JSON.stringify(report.newUnits),
    'restart-systemd': String(report.restartSystemd),
    'reboot-required': String(report.rebootRequired),
    'store-path': report.storePath,
    'current-system': report.currentSystem ?? '',
    changed: String(report.changed)
  }
}
