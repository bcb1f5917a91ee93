/**
 * `build`: realise a host's toplevel (or any installable), measure its closure, and compare it
 * with `diff-against` (a git revision, a store path, an installable, or `deployed`: the system
 * the host runs now, read over SSH without copying it). The GitHub side (summary, outputs, the
 * sticky comment, the cache) is `src/actions/build.ts`; the terminal side is `src/cli.ts`.
 */
import os from 'node:os'
import {
  buildOne,
  classifySide,
  closureBytes,
  closureFrom,
  compareSystems,
  hostTarget,
  installableTarget,
  labelOf,
  localClosures,
  prepareSide,
  realiseSide,
  requireHost,
  type BuildTarget,
  type Side,
  type SideSpec
} from '../core/build.js'
import type { PathInfo } from '../core/closure.js'
import { ActionError, hostError } from '../core/errors.js'
import { readInventory, requireTarget } from '../core/flake.js'
import { parseFlakeRef, parseInstallable, parseStorePath, showValue } from '../core/inputs.js'
import { assertFlakeExists, localFlakeDir } from '../core/local-flake.js'
import { SshSession, remoteRun, type Remote } from '../core/ssh.js'
import { parseTarget, validateHostName } from '../core/target.js'
import { sshSettingsFromInputs } from './ssh-inputs.js'
import {
  isSshStore,
  parseSigningKey,
  parseStoreUrl,
  pushClosure,
  signClosure
} from '../core/binary-cache.js'
import type { CommandContext, InputReader } from './types.js'
import type { BuildRun } from '../core/model.js'
import { defaultOf } from './inputs.js'

export type { BuildRun }

export interface BuildCommandOptions {
  /** Where the SSH session's private folder goes (RUNNER_TEMP in the action). */
  tempRoot?: string
  /** Run from a terminal: the user's own known_hosts may be used. */
  terminal?: boolean
  /** Each line of the build log (the action puts them into a log group). */
  onLogLine?: (line: string) => void
  /** Called with the SSH session's private folder (the action's post step removes it after a cancel). */
  onSession?: (dir: string) => void
}

/** `host` or `installable`: exactly one. */
export function readBuildTarget(get: InputReader, flake: string, cwd: string): BuildTarget {
  const host = get('host')
  const installable = get('installable')
  if (host && installable) {
    throw new ActionError(
      `Inputs 'host' and 'installable' are both given (${showValue(host)} and ${showValue(installable)}): give exactly one.`,
      { input: 'installable' }
    )
  }
  if (!host && !installable) {
    throw new ActionError(
      "Input 'host' is required (a host of the flake: in nixosConfigurations, a colmena hive or deploy.nodes), unless 'installable' names what to build.",
      { input: 'host' }
    )
  }
  if (host) return hostTarget(flake, validateHostName(host, "input 'host'"))
  const parsed = parseInstallable('installable', installable)
  if (parsed.kind === 'flake' && localFlakeDir(parsed.flakeRef, cwd))
    assertFlakeExists(parsed.flakeRef, cwd, 'installable')
  return installableTarget(parsed)
}

/** `diff-against`: '' (none), `deployed`, or a side (store path, installable, git revision). */
export function parseDiffAgainst(value: string): SideSpec | 'deployed' | null {
  if (value === '') return null
  if (value === 'deployed') return 'deployed'
  return classifySide('diff-against', value)
}

export async function buildCommand(
  ctx: CommandContext,
  opts: BuildCommandOptions = {}
): Promise<BuildRun> {
  const flake = parseFlakeRef('flake', ctx.get('flake') || defaultOf('build', 'flake'))
  assertFlakeExists(flake, ctx.cwd)
  let target = readBuildTarget(ctx.get, flake, ctx.cwd)
  const diffAgainst = ctx.get('diff-against')
  let against = parseDiffAgainst(diffAgainst)
  const log = ctx.logger

  // Everything that can be checked before the build is checked first.
  if (ctx.get('host')) {
    target = await requireHost(flake, target.host!, `in the flake '${flake}'`, {
      cwd: ctx.cwd,
      logger: log,
      input: 'host'
    })
  }
  if (against && against !== 'deployed') {
    against = await prepareSide('diff-against', against, { target }, { cwd: ctx.cwd, logger: log })
  }
  const remote = against === 'deployed' ? await deployedRemote(ctx, flake, target) : undefined
  // push-to and signing-key are checked before the build too.
  const pushTo = ctx.get('push-to') ? parseStoreUrl('push-to', ctx.get('push-to')) : undefined
  const signingKey = ctx.get('signing-key')
    ? parseSigningKey('signing-key', ctx.get('signing-key'))
    : undefined
  // The SSH inputs are checked (and the key written to its private folder) before the build too.
  const session =
    remote || (pushTo && isSshStore(pushTo))
      ? SshSession.create(
          sshSettingsFromInputs(ctx.get, { terminal: opts.terminal }),
          opts.tempRoot ?? os.tmpdir()
        )
      : undefined
  if (session) opts.onSession?.(session.dir)
  try {
    const run = await buildAndCompare(ctx, opts, {
      flake,
      target,
      diffAgainst,
      against,
      remote,
      session
    })
    await signAndPush(ctx, run, { signingKey, pushTo, session, tempRoot: opts.tempRoot })
    return run
  } finally {
    session?.dispose()
  }
}

async function buildAndCompare(
  ctx: CommandContext,
  opts: BuildCommandOptions,
  p: {
    flake: string
    target: BuildTarget
    diffAgainst: string
    against: SideSpec | 'deployed' | null
    remote?: Remote
    session?: SshSession
  }
): Promise<BuildRun> {
  const { flake, target, diffAgainst, against, remote, session } = p
  const log = ctx.logger
  const what = target.host ? `Building ${target.host}` : `Building ${target.installable}`
  const built = await log.group(what, () =>
    buildOne(target, { cwd: ctx.cwd, logger: log, onLogLine: opts.onLogLine ?? (l => log.info(l)) })
  )
  const label = labelOf(target, built.storePath)
  log.info(`Built ${built.storePath} in ${(built.durationMs / 1000).toFixed(1)} s.`)

  const result: BuildRun = {
    flake,
    target,
    label,
    built,
    closure: { bytes: 0, paths: 0 },
    diffAgainst,
    diff: null,
    changed: false,
    summary: ''
  }

  let after: PathInfo[]
  if (!against) {
    after = await closureFrom(built.storePath, { logger: log, host: target.host })
  } else if (against === 'deployed') {
    const before = await log.group(`Reading the system ${remote!.host} runs`, () =>
      deployedSide(ctx, session!, remote!)
    )
    after = await closureFrom(built.storePath, { logger: log, host: target.host })
    finishDiff(result, before, { path: built.storePath, closure: after, description: 'this build' })
  } else {
    const before = await log.group(`Building the system to compare with (${diffAgainst})`, () =>
      realiseSide(
        'diff-against',
        against as SideSpec,
        { target },
        {
          cwd: ctx.cwd,
          logger: log,
          onLogLine: opts.onLogLine ?? (l => log.info(l))
        }
      )
    )
    if ('missingHost' in before) {
      after = await closureFrom(built.storePath, { logger: log, host: target.host })
      result.note = `Host ${before.missingHost} does not exist at ${before.description}: it is new, so there is nothing to compare with.`
      result.beforeDescription = before.description
      result.changed = true
      result.summary = `new host (not at ${before.description})`
      log.info(result.note)
    } else {
      const [b, a] = await localClosures(before.path, built.storePath, {
        logger: log,
        host: target.host
      })
      after = a
      finishDiff(
        result,
        { path: before.path, closure: b, description: before.description },
        {
          path: built.storePath,
          closure: a,
          description: 'this build'
        }
      )
    }
  }
  result.closure = { bytes: closureBytes(after), paths: new Set(after.map(p => p.path)).size }
  return result
}

function finishDiff(result: BuildRun, before: Side, after: Side): void {
  const diff = compareSystems(before, after, result.target.host)
  result.diff = diff
  result.beforeDescription = before.description
  result.changed = diff.changed
  result.summary = diff.summary
}

// ---------------------------------------------------------------------------------------------
// diff-against: deployed

/** Where the host is: the `target` input, else the flake's data (deploy-rs, colmena, networking). */
async function deployedRemote(
  ctx: CommandContext,
  flake: string,
  target: BuildTarget
): Promise<Remote> {
  const targetInput = ctx.get('target')
  const host = target.host
  if (targetInput) {
    return {
      host: host ?? targetInput,
      target: parseTarget(targetInput, "input 'target'"),
      hostOptions: []
    }
  }
  if (!host) {
    throw new ActionError(
      "Input 'diff-against' is 'deployed', which needs 'host' or 'target' to know which machine to ask.",
      { input: 'diff-against' }
    )
  }
  const flakeRef = target.flakeRef ?? flake
  const inventory = await readInventory(flakeRef, { cwd: ctx.cwd, logger: ctx.logger })
  const info = inventory.find(h => h.name === host)
  if (!info) {
    throw new ActionError(`Host ${host} does not exist in the flake '${flakeRef}'.`, {
      host,
      input: 'host'
    })
  }
  return { host, target: requireTarget(info), hostOptions: info.sshOptions }
}

/**
 * The system the host runs now: `readlink -f /run/current-system` over SSH, and its closure read
 * from the host's own store (`nix path-info --store ssh-ng://…`), not copied.
 */
async function deployedSide(
  ctx: CommandContext,
  session: SshSession,
  remote: Remote
): Promise<Side> {
  const r = await remoteRun(session, remote, ['readlink', '-f', '/run/current-system'], {
    timeoutMs: 60_000,
    privileged: false,
    phase: 'diff',
    what: 'reading /run/current-system',
    logger: ctx.logger
  })
  const text = r.stdout.trim()
  let current: string
  try {
    current = parseStorePath('diff-against', text)
  } catch {
    throw hostError(
      { host: remote.host, phase: 'diff', kind: 'host-state' },
      `/run/current-system is not a store path (${showValue(text || '(empty)')}); is it a NixOS system?`
    )
  }
  ctx.logger.info(`${remote.host} runs ${current}.`)
  const store = session.nixStore(remote)
  const closure = await closureFrom(current, {
    logger: ctx.logger,
    host: remote.host,
    storeUrl: store.uri,
    env: store.env
  })
  return { path: current, closure, description: `deployed on ${remote.host}` }
}

/** `signing-key`, then `push-to`: every path of the closure signed, then copied to the cache. */
async function signAndPush(
  ctx: CommandContext,
  run: BuildRun,
  p: { signingKey?: string; pushTo?: string; session?: SshSession; tempRoot?: string }
): Promise<void> {
  const log = ctx.logger
  const storePath = run.built.storePath
  if (p.signingKey) {
    const name = p.signingKey.slice(0, p.signingKey.indexOf(':'))
    await log.group(`Signing the closure with ${name}`, () =>
      signClosure([storePath], p.signingKey!, {
        logger: log,
        host: run.target.host,
        tempRoot: p.tempRoot
      })
    )
    run.signedBy = name
  }
  if (p.pushTo) {
    const to = p.pushTo
    await log.group(`Pushing the closure to ${to}`, () =>
      pushClosure([storePath], to, {
        logger: log,
        host: run.target.host,
        env: isSshStore(to) && p.session ? p.session.storeEnv() : undefined
      })
    )
    run.pushedTo = to
    log.info(
      `Pushed ${storePath} and its closure to ${to}${run.signedBy ? `, signed by ${run.signedBy}` : ' (unsigned: a deploy with trusted-public-keys will refuse it)'}.`
    )
  }
}

/** The build's outputs, as the action sets them (diff files added by the adapter). */
export function buildOutputs(run: BuildRun): Record<string, string> {
  return {
    'store-paths': JSON.stringify({ [run.label]: run.built.storePath }),
    'store-path': run.built.storePath,
    'drv-path': run.built.drvPath,
    'closure-size': String(run.closure.bytes),
    changed: String(run.changed),
    'diff-summary': run.summary
  }
}
