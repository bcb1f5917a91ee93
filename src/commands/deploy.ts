/**
 * deploy and rollback: inputs to a plan, hosts to results. The GitHub adapter and the terminal
 * command both call these; the adapter adds the Actions cache and deployment records as hooks.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError, hostError } from '../core/errors.js'
import {
  evalSystemDrvPaths,
  evalSystemOutPaths,
  indexOfInventory,
  locateSystems,
  readInventory,
  requireLocated,
  requireTarget,
  unwrapSystems,
  type HostInfo
} from '../core/flake.js'
import { hostTarget } from '../core/build.js'
import { parseHealthChecks, type HealthCheck } from '../core/health-config.js'
import { hostHealthChecks, readFlakeChecks } from '../core/host-checks.js'
import {
  parseBool,
  parseEnum,
  parseFlakeRef,
  parseList,
  parsePositiveInt,
  parseSeconds,
  parseStorePath,
  parseStrategy,
  type Strategy
} from '../core/inputs.js'
import { assertFlakeExists, localFlakeDir } from '../core/local-flake.js'
import { nixBuild, nixPathsValid } from '../core/nix.js'
import { parseSelector, selectHosts } from '../core/selector.js'
import { SshSession, type Remote } from '../core/ssh.js'
import { parseTarget, targetAddress, validateHostName } from '../core/target.js'
import { deployHost } from '../core/deploy/deploy-host.js'
import { rollbackHost, parseRollbackTo } from '../core/deploy/rollback-host.js'
import {
  rollout,
  mapLimit,
  type RollbackScope,
  type RolloutResult
} from '../core/deploy/rollout.js'
import { newHostResult, type DeployMode, type HostResult, type HostStatus } from '../core/model.js'
import { sshSettingsFromInputs } from './ssh-inputs.js'
import {
  fetchVerified,
  isSshStore,
  parseSubstituters,
  parseTrustedKeys
} from '../core/binary-cache.js'
import type { CommandContext } from './types.js'
import { defaultBool, defaultInt, defaultOf } from './inputs.js'

const D = (name: string) => defaultOf('deploy', name)

export interface DeployHooks {
  /** Makes `storePath` valid in the local store (e.g. from the Actions cache); true when it is. */
  ensureLocal?: (storePath: string, host: string) => Promise<boolean>
  onHostStart?: (host: string, storePath: string) => Promise<void>
  onHostDone?: (result: HostResult) => Promise<void>
  /** Where the SSH folder goes (RUNNER_TEMP on GitHub); `onSession` learns it, for the post step. */
  tempRoot?: string
  onSession?: (dir: string) => void
  terminal?: boolean
}

export interface DeployRun extends RolloutResult {
  status: HostStatus | 'deployed'
  mode: DeployMode
  strategy: Strategy
}

export interface Selected {
  hosts: string[]
  inventory: Map<string, HostInfo> | null
}

/** host | hosts | on: exactly one. `verb` names what is done to them, for the messages. */
export async function selectDeployHosts(
  ctx: CommandContext,
  needInventory: boolean,
  verb = 'deploy'
): Promise<Selected> {
  const host = ctx.get('host')
  const hosts = ctx.get('hosts')
  const on = ctx.get('on')
  const given = [host && 'host', hosts && 'hosts', on && 'on'].filter(Boolean)
  if (given.length === 0)
    throw new ActionError(`Input 'host', 'hosts' or 'on' is required: which hosts to ${verb}.`, {
      input: 'host'
    })
  if (given.length > 1)
    throw new ActionError(
      `Inputs ${given.map(g => `'${g}'`).join(' and ')} were both given: use one of host, hosts and on.`,
      { input: String(given[1]) }
    )
  const flake = parseFlakeRef('flake', ctx.get('flake') || D('flake'))
  let inventory: Map<string, HostInfo> | null = null
  if (needInventory || !host) {
    assertFlakeExists(flake, ctx.cwd)
    const list = await ctx.logger.group('Reading the hosts of the flake', () =>
      readInventory(flake, { logger: ctx.logger, cwd: ctx.cwd })
    )
    inventory = new Map(list.map(h => [h.name, h]))
  }
  let names: string[]
  if (host) names = [validateHostName(host, "Input 'host'")]
  else if (hosts) names = parseList(hosts).map(h => validateHostName(h, "Input 'hosts'"))
  else
    names = selectHosts(
      parseSelector(on),
      [...(inventory as Map<string, HostInfo>).values()].map(h => ({ name: h.name, tags: h.tags }))
    )
  if (inventory) {
    const missing = names.filter(n => !inventory!.has(n))
    if (missing.length) {
      const known = [...inventory.keys()]
      throw new ActionError(
        `Input '${host ? 'host' : 'hosts'}': the flake has no host ${missing.map(m => `'${m}'`).join(', ')} (it has ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}).`,
        { input: host ? 'host' : 'hosts' }
      )
    }
  }
  if (names.length === 0)
    throw new ActionError(`No host to ${verb}: the selection is empty.`, { input: 'on' })
  return { hosts: [...new Set(names)], inventory }
}

export function remotes(ctx: CommandContext, sel: Selected): Map<string, Remote> {
  const targetInput = ctx.get('target')
  if (targetInput && sel.hosts.length > 1)
    throw new ActionError(
      "Input 'target' names one host's address: use it with 'host', not with 'hosts' or 'on'.",
      { input: 'target' }
    )
  const out = new Map<string, Remote>()
  for (const h of sel.hosts) {
    const info = sel.inventory?.get(h)
    if (targetInput)
      out.set(h, {
        host: h,
        target: parseTarget(targetInput, "input 'target'"),
        hostOptions: info?.sshOptions ?? []
      })
    else
      out.set(h, {
        host: h,
        target: requireTarget(info as HostInfo),
        hostOptions: info?.sshOptions ?? []
      })
  }
  return out
}

/** `store-paths`: a JSON object host → store path (build's output; several may be merged). */
export function parseStorePathsInput(value: string): Map<string, string> {
  let data: unknown
  try {
    data = JSON.parse(value)
  } catch {
    throw new ActionError(
      "Input 'store-paths' is not JSON: give an object host → /nix/store path, as build's store-paths output writes it.",
      { input: 'store-paths' }
    )
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new ActionError(
      "Input 'store-paths' must be a JSON object host → /nix/store path, as build's store-paths output writes it.",
      { input: 'store-paths' }
    )
  const out = new Map<string, string>()
  for (const [h, p] of Object.entries(data as Record<string, unknown>)) {
    validateHostName(h, "Input 'store-paths'")
    out.set(h, parseStorePath('store-paths', typeof p === 'string' ? p : String(p)))
  }
  return out
}

/** The binary cache inputs, checked together: both or neither. */
export function cacheInputs(
  ctx: CommandContext
): { substituters: string[]; keys: string[] } | null {
  const subs = ctx.get('substituters')
  const keys = ctx.get('trusted-public-keys')
  // trusted-public-keys alone checks closures restored from the Actions cache (actions-cache.ts).
  if (!subs) return null
  if (!keys)
    throw new ActionError(
      "Input 'substituters' is given without 'trusted-public-keys': every path from the cache must be signed by a key you trust (nix key convert-secret-to-public prints it).",
      { input: 'trusted-public-keys' }
    )
  const substituters = parseSubstituters('substituters', subs)
  const trusted = parseTrustedKeys('trusted-public-keys', keys)
  if (substituters.length === 0 || trusted.length === 0)
    throw new ActionError("Inputs 'substituters' and 'trusted-public-keys' must not be empty.", {
      input: substituters.length === 0 ? 'substituters' : 'trusted-public-keys'
    })
  return { substituters, keys: trusted }
}

/**
 * With substituters: each host's store path (store-path, store-paths, else evaluated: no build),
 * its closure fetched into the runner's store from the cache with signatures checked. Throws
 * naming the host and the path before any host is touched.
 */
async function storePathsFromCache(
  ctx: CommandContext,
  hosts: string[],
  cache: { substituters: string[]; keys: string[] },
  session: SshSession,
  inventory: Map<string, HostInfo> | null
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const given = ctx.get('store-path')
  if (given) {
    if (hosts.length > 1)
      throw new ActionError("Input 'store-path' is one host's system: use it with 'host'.", {
        input: 'store-path'
      })
    out.set(hosts[0], parseStorePath('store-path', given))
  }
  const map = ctx.get('store-paths') ? parseStorePathsInput(ctx.get('store-paths')) : null
  for (const h of hosts) if (!out.has(h) && map?.has(h)) out.set(h, map.get(h)!)
  const rest = hosts.filter(h => !out.has(h))
  if (rest.length) {
    const flake = parseFlakeRef('flake', ctx.get('flake') || D('flake'))
    // Where each host's system is (nixosConfigurations, a colmena hive, a deploy-rs profile).
    const evaluated = await ctx.logger.group(
      `Evaluating the store paths of ${rest.join(', ')} (nothing is built)`,
      () =>
        evalSystemOutPaths(flake, rest, {
          cwd: ctx.cwd,
          logger: ctx.logger,
          phase: 'evaluate',
          index: inventory ? indexOfInventory([...inventory.values()]) : undefined
        })
    )
    for (const h of rest) out.set(h, parseStorePath('store-paths', evaluated[h]))
  }
  const env = cache.substituters.some(isSshStore) ? session.storeEnv() : undefined
  const fetched = new Set<string>()
  for (const h of hosts) {
    const p = out.get(h)!
    if (fetched.has(p)) continue
    await ctx.logger.group(`Fetching the system of ${h} from the cache`, () =>
      fetchVerified(p, cache.substituters, cache.keys, { logger: ctx.logger, host: h, env })
    )
    fetched.add(p)
  }
  return out
}

/** The store path each host should run: the `store-path` input, or a build (one nix process). */
async function storePaths(
  ctx: CommandContext,
  hosts: string[],
  hooks: DeployHooks,
  session: SshSession,
  inventory: Map<string, HostInfo> | null = null
): Promise<Map<string, string>> {
  const cache = cacheInputs(ctx)
  if (cache) return storePathsFromCache(ctx, hosts, cache, session, inventory)
  const given = ctx.get('store-path')
  const out = new Map<string, string>()
  const map = ctx.get('store-paths') ? parseStorePathsInput(ctx.get('store-paths')) : null
  if (map && !given) {
    // Without a cache, store-paths must name systems this runner has (nothing is imported unchecked).
    const missing = hosts.filter(h => !map.has(h))
    if (missing.length === 0) {
      const valid = await nixPathsValid([...new Set(map.values())], { logger: ctx.logger })
      for (const h of hosts) {
        const p = map.get(h)!
        if (!valid.get(p))
          throw new ActionError(
            `Input 'store-paths': ${p} (host ${h}) is not in this runner's Nix store; give substituters and trusted-public-keys to fetch it from the binary cache build pushed to.`,
            { input: 'store-paths', host: h, phase: 'resolve' }
          )
        out.set(h, p)
      }
      return out
    }
  }
  if (given) {
    if (hosts.length > 1)
      throw new ActionError("Input 'store-path' is one host's system: use it with 'host'.", {
        input: 'store-path'
      })
    const p = parseStorePath('store-path', given)
    const valid = (await nixPathsValid([p], { logger: ctx.logger })).get(p)
    if (!valid && !(await hooks.ensureLocal?.(p, hosts[0]))) {
      throw new ActionError(
        `Input 'store-path': ${p} is not in this runner's Nix store${hooks.ensureLocal ? ' nor in the Actions cache' : ''}; build it in this job or keep it with the build action's cache: true.`,
        { input: 'store-path', host: hosts[0], phase: 'resolve' }
      )
    }
    out.set(hosts[0], p)
    return out
  }
  const flake = parseFlakeRef('flake', ctx.get('flake') || D('flake'))
  // Where each host's system is: nixosConfigurations, a colmena hive, a deploy-rs profile.
  const refs = await locateSystems(flake, hosts, {
    cwd: ctx.cwd,
    logger: ctx.logger,
    phase: 'build',
    index: inventory ? indexOfInventory([...inventory.values()]) : undefined
  })
  requireLocated(flake, hosts, refs, 'build')
  // `nix build --json` does not list its results in the order of the installables: match them by
  // derivation, evaluated here (one evaluation per output for all hosts).
  const drvs =
    hosts.length > 1
      ? await evalSystemDrvPaths(flake, hosts, {
          cwd: ctx.cwd,
          logger: ctx.logger,
          phase: 'build',
          refs
        })
      : null
  const built = await ctx.logger.group(`Building ${hosts.length} system(s)`, () =>
    nixBuild(
      hosts.map(h => hostTarget(flake, h, refs.get(h)).installable),
      {
        cwd: ctx.cwd,
        logger: ctx.logger,
        phase: 'build',
        what: `building ${hosts.join(', ')}`,
        onStderrLine: l => ctx.logger.info(l)
      }
    )
  )
  const byDrv = new Map(built.map(b => [b.drvPath, b.outputs.out]))
  hosts.forEach(h => {
    const path = drvs ? byDrv.get(drvs[h]) : built[0]?.outputs.out
    if (!path)
      throw hostError(
        { host: h, phase: 'build' },
        `nix build did not report the system ${drvs?.[h] ?? ''} it built for this host`
      )
    out.set(h, path)
  })
  // deploy-rs activation wrappers: the host runs the toplevel inside.
  const wrapped = hosts.filter(h => refs.get(h)?.wrapped)
  const inner = await unwrapSystems(flake, wrapped, { cwd: ctx.cwd, logger: ctx.logger })
  for (const h of wrapped) {
    if (!inner[h]?.startsWith('/nix/store/'))
      throw hostError(
        { host: h, phase: 'build' },
        `deploy.nodes.${h}.profiles.system.path is deploy-rs's activation, but the system inside it could not be read`
      )
    out.set(h, inner[h])
  }
  return out
}

/**
 * Each host's health checks: the workflow's `health-checks`, then the ones the flake keeps with
 * the host (src/core/host-checks.ts), or the sentence that refuses them. The flake is read when
 * the deploy reads it anyway, or when it is a local checkout with a flake.nix.
 */
async function checksPerHost(
  ctx: CommandContext,
  sel: Selected,
  remoteOf: Map<string, Remote>,
  workflow: HealthCheck[],
  command: 'deploy' | 'rollback'
): Promise<Map<string, HealthCheck[] | ActionError>> {
  const flake = parseFlakeRef('flake', ctx.get('flake') || D('flake'))
  const allowCommands = parseBool(
    'allow-flake-commands',
    ctx.get('allow-flake-commands'),
    defaultBool(command, 'allow-flake-commands')
  )
  const local = localFlakeDir(flake, ctx.cwd)
  const readable =
    sel.inventory !== null || (local !== null && fs.existsSync(path.join(local, 'flake.nix')))
  const fromFlake = readable
    ? await ctx.logger.group('Reading the health checks the flake keeps with its hosts', () =>
        readFlakeChecks(flake, sel.hosts, { logger: ctx.logger, cwd: ctx.cwd })
      )
    : null
  const out = new Map<string, HealthCheck[] | ActionError>()
  for (const host of sel.hosts) {
    const refused = fromFlake?.errors.get(host)
    if (refused) {
      out.set(host, refused)
      continue
    }
    const flakeChecks = fromFlake?.checks.get(host) ?? []
    try {
      out.set(
        host,
        hostHealthChecks({
          host,
          address: targetAddress((remoteOf.get(host) as Remote).target),
          workflow,
          flake: flakeChecks,
          allowCommands
        })
      )
      if (flakeChecks.length)
        ctx.logger.info(
          `${host}: ${flakeChecks.length} health check(s) from the flake (${[...new Set(flakeChecks.map(f => f.source))].join(', ')}).`
        )
    } catch (err) {
      if (!(err instanceof ActionError)) throw err
      out.set(host, err)
    }
  }
  return out
}

/** A host refused before anything was copied: its record, failed in `resolve`. */
function refusedHost(host: string, storePath: string, err: ActionError): HostResult {
  const r = newHostResult(host, 'failed', storePath)
  r.failedPhase = 'resolve'
  r.error = err.message
  const now = Date.now()
  r.phases.push({
    name: 'resolve',
    status: 'failed',
    durationMs: 0,
    startedAt: now,
    endedAt: now,
    detail: err.message
  })
  return r
}

/** `specialisation`: a specialisation's name, as NixOS makes it a folder name (no '/'). */
export function parseSpecialisation(text: string | undefined): string | undefined {
  const v = (text ?? '').trim()
  if (v === '') return undefined
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}$/.test(v))
    throw new ActionError(
      `Input 'specialisation' must be the name of a specialisation (letters, digits, '_', '-', '.', '+'; not starting with '-' or '.'; no '/'), not ${JSON.stringify(v.slice(0, 60))}.`,
      { input: 'specialisation' }
    )
  return v
}

function overall(results: HostResult[]): DeployRun['status'] {
  if (results.some(r => r.status === 'failed')) return 'failed'
  if (results.some(r => r.status === 'rolled-back')) return 'rolled-back'
  if (results.some(r => r.status === 'skipped')) return 'failed'
  if (results.every(r => r.status === 'unchanged')) return 'unchanged'
  return 'deployed'
}

function holder(): string {
  const run = process.env.GITHUB_RUN_ID
  return run
    ? `run ${run} of ${process.env.GITHUB_REPOSITORY ?? 'a repository'} (${process.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${process.env.GITHUB_REPOSITORY}/actions/runs/${run}), since ${new Date().toISOString()}`
    : `nix-deploy by ${os.userInfo().username}@${os.hostname()}, since ${new Date().toISOString()}`
}

export async function deployCommand(
  ctx: CommandContext,
  hooks: DeployHooks = {}
): Promise<DeployRun> {
  const mode = parseEnum(
    'mode',
    ctx.get('mode'),
    ['switch', 'boot', 'test'] as const,
    D('mode') as 'switch'
  )
  const reboot = parseBool('reboot', ctx.get('reboot'), defaultBool('deploy', 'reboot'))
  if (reboot && mode !== 'boot')
    throw new ActionError(
      "Input 'reboot' goes with mode: boot (switch and test activate without a reboot).",
      { input: 'reboot' }
    )
  const healthChecks = parseHealthChecks(ctx.get('health-checks'))
  const specialisation = parseSpecialisation(ctx.get('specialisation'))
  if (specialisation && mode === 'boot')
    throw new ActionError(
      "Input 'specialisation' goes with mode switch or test, as nixos-rebuild's --specialisation: a specialisation is activated now, while the boot default stays the system itself.",
      { input: 'specialisation' }
    )
  const installBootloader = parseBool(
    'install-bootloader',
    ctx.get('install-bootloader'),
    defaultBool('deploy', 'install-bootloader')
  )
  if (installBootloader && mode === 'test')
    throw new ActionError(
      "Input 'install-bootloader' goes with mode switch or boot: mode test leaves the boot loader alone.",
      { input: 'install-bootloader' }
    )
  const healthTimeout = parseSeconds(
    'health-timeout',
    ctx.get('health-timeout'),
    defaultInt('deploy', 'health-timeout'),
    {
      min: 1,
      max: 3600
    }
  )
  const confirmTimeout = parseSeconds(
    'confirm-timeout',
    ctx.get('confirm-timeout'),
    defaultInt('deploy', 'confirm-timeout'),
    {
      min: 5,
      max: 3600
    }
  )
  const activationTimeout = parseSeconds(
    'activation-timeout',
    ctx.get('activation-timeout'),
    defaultInt('deploy', 'activation-timeout'),
    {
      min: 10,
      max: 6 * 3600
    }
  )
  const rollbackOn = parseBool('rollback', ctx.get('rollback'), defaultBool('deploy', 'rollback'))
  const maxParallel = parsePositiveInt(
    'max-parallel',
    ctx.get('max-parallel'),
    defaultInt('deploy', 'max-parallel'),
    { max: 256 }
  )
  const strategy = parseStrategy(ctx.get('strategy'))
  const rollbackScope = parseEnum(
    'rollback-scope',
    ctx.get('rollback-scope'),
    ['fleet', 'host'] as const,
    D('rollback-scope') as 'fleet'
  ) as RollbackScope
  const substitute = parseBool(
    'substitute-on-target',
    ctx.get('substitute-on-target'),
    defaultBool('deploy', 'substitute-on-target')
  )
  const ssh = sshSettingsFromInputs(ctx.get, { terminal: hooks.terminal })

  // Checked before anything connects or evaluates.
  cacheInputs(ctx)
  const needInventory = !(ctx.get('host') && ctx.get('target') && ctx.get('store-path'))
  const sel = await selectDeployHosts(ctx, needInventory)
  const remoteOf = remotes(ctx, sel)
  const session = SshSession.create(ssh, hooks.tempRoot)
  hooks.onSession?.(session.dir)
  try {
    const checksOf = await checksPerHost(ctx, sel, remoteOf, healthChecks, 'deploy')
    const paths = await storePaths(ctx, sel.hosts, hooks, session, sel.inventory)
    const who = holder()
    const result = await rollout({
      hosts: sel.hosts,
      strategy,
      maxParallel,
      rollbackScope,
      logger: ctx.logger,
      deploy: async host => {
        const storePath = paths.get(host) as string
        const checks = checksOf.get(host) as HealthCheck[] | ActionError
        if (checks instanceof ActionError) {
          const refused = refusedHost(host, storePath, checks)
          ctx.logger.error(checks.message)
          await hooks.onHostDone?.(refused)
          return refused
        }
        await hooks.onHostStart?.(host, storePath)
        const r = await ctx.logger.group(`Deploying ${host}`, () =>
          deployHost({
            session,
            remote: remoteOf.get(host) as Remote,
            storePath,
            mode,
            reboot,
            healthChecks: checks,
            specialisation,
            installBootloader,
            healthTimeoutSeconds: healthTimeout,
            confirmTimeoutSeconds: confirmTimeout,
            rollback: rollbackOn,
            substituteOnTarget: substitute,
            activationTimeoutSeconds: activationTimeout,
            holder: who,
            logger: ctx.logger,
            onPhase: (h, p) => ctx.logger.info(`${h}: ${p}…`)
          })
        )
        if (r.error) ctx.logger.error(r.error)
        await hooks.onHostDone?.(r)
        return r
      },
      revert: async r =>
        rollbackHost({
          session,
          remote: remoteOf.get(r.host) as Remote,
          to: { kind: 'store-path', storePath: r.previousStorePath as string },
          healthChecks: checksOrWorkflow(checksOf.get(r.host), healthChecks),
          healthTimeoutSeconds: healthTimeout,
          activationTimeoutSeconds: activationTimeout,
          holder: who,
          logger: ctx.logger
        })
    })
    return { ...result, status: overall(result.results), mode, strategy }
  } finally {
    await session.close()
    session.dispose()
  }
}

export interface RollbackRun {
  results: HostResult[]
  status: 'rolled-back' | 'unchanged' | 'failed'
}

export async function rollbackCommand(
  ctx: CommandContext,
  hooks: DeployHooks = {}
): Promise<RollbackRun> {
  const to = parseRollbackTo(ctx.get('to'))
  const healthChecks = parseHealthChecks(ctx.get('health-checks'))
  const healthTimeout = parseSeconds(
    'health-timeout',
    ctx.get('health-timeout'),
    defaultInt('rollback', 'health-timeout'),
    {
      min: 1,
      max: 3600
    }
  )
  const activationTimeout = parseSeconds(
    'activation-timeout',
    ctx.get('activation-timeout'),
    defaultInt('rollback', 'activation-timeout'),
    {
      min: 10,
      max: 6 * 3600
    }
  )
  const maxParallel = parsePositiveInt(
    'max-parallel',
    ctx.get('max-parallel'),
    defaultInt('rollback', 'max-parallel'),
    { max: 256 }
  )
  const ssh = sshSettingsFromInputs(ctx.get, { terminal: hooks.terminal })
  const sel = await selectDeployHosts(ctx, !(ctx.get('host') && ctx.get('target')))
  const remoteOf = remotes(ctx, sel)
  const session = SshSession.create(ssh, hooks.tempRoot)
  hooks.onSession?.(session.dir)
  try {
    const checksOf = await checksPerHost(ctx, sel, remoteOf, healthChecks, 'rollback')
    const who = holder()
    const results = await mapLimit(sel.hosts, maxParallel, host =>
      ctx.logger.group(`Rolling back ${host}`, async () => {
        // A rollback is the way back: a refused flake check is left out (with a warning), it
        // does not keep the host on the system being left.
        const own = checksOf.get(host)
        if (own instanceof ActionError)
          ctx.logger.warning(`${own.message} The rollback goes on with the workflow's checks only.`)
        const checks = checksOrWorkflow(own, healthChecks)
        const r = await rollbackHost({
          session,
          remote: remoteOf.get(host) as Remote,
          to,
          healthChecks: checks,
          healthTimeoutSeconds: healthTimeout,
          activationTimeoutSeconds: activationTimeout,
          holder: who,
          logger: ctx.logger
        })
        if (r.error) ctx.logger.error(r.error)
        await hooks.onHostDone?.(r)
        return r
      })
    )
    const status = results.some(r => r.status === 'failed')
      ? 'failed'
      : results.every(r => r.status === 'unchanged')
        ? 'unchanged'
        : 'rolled-back'
    return { results, status }
  } finally {
    await session.close()
    session.dispose()
  }
}

/** A host's own checks when they were accepted; the workflow's otherwise. */
function checksOrWorkflow(
  checks: HealthCheck[] | ActionError | undefined,
  workflow: HealthCheck[]
): HealthCheck[] {
  return Array.isArray(checks) ? checks : workflow
}

/** One sentence for a failed run (the first failing host's). */
export function deployFailure(results: HostResult[], action = 'deploy'): string | null {
  const bad = results.filter(r => r.status === 'failed' || r.status === 'rolled-back')
  if (bad.length === 0) return null
  const first = bad[0]
  const more =
    bad.length > 1
      ? ` (${bad.length} hosts did not deploy: ${bad.map(b => `${b.host} ${b.status}`).join(', ')})`
      : ''
  return `${action}: ${first.error ?? `Host ${first.host} ${first.status}.`}${more}`
}
