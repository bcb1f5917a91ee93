/**
 * `diff`: the closure diff between two systems, each named by `before` / `after` as
 *  - a store path (the value starts with `/nix/store/`): it must be in the local store;
 *  - an installable (the value contains `#`): it is built;
 *  - otherwise a git revision of the flake's repository: `host`'s toplevel at that revision is
 *    built (the same repository, no second checkout), so a revision needs `host`.
 */
import { storePathName } from '../core/closure.js'
import {
  compareSystems,
  classifySide,
  hostTarget,
  localClosures,
  prepareSide,
  realiseSide,
  someNames,
  type BuildTarget,
  type SideSpec
} from '../core/build.js'
import type { ClosureDiff } from '../core/diff.js'
import { ActionError } from '../core/errors.js'
import { parseFlakeRef } from '../core/inputs.js'
import { assertFlakeExists } from '../core/local-flake.js'
import { validateHostName } from '../core/target.js'
import type { CommandContext } from './types.js'

export interface DiffRun {
  flake: string
  host?: string
  /** The host, or the after path's name: names files, headings and the comment's section. */
  label: string
  before: { path: string; description: string }
  after: { path: string; description: string }
  diff: ClosureDiff
}

function readSide(input: 'before' | 'after', value: string, host: string | undefined): SideSpec {
  if (!value) {
    throw new ActionError(
      `Input '${input}' is required: a store path, an installable (with '#'), or a git revision with 'host'.`,
      { input }
    )
  }
  const spec = classifySide(input, value)
  if (spec.kind === 'revision' && !host) {
    throw new ActionError(
      `Input '${input}' is read as a git revision ('${spec.rev}'), which needs 'host' to know what to build; a store path starts with /nix/store/ and an installable contains '#'.`,
      { input }
    )
  }
  return spec
}

export async function diffCommand(
  ctx: CommandContext,
  opts: { onLogLine?: (line: string) => void } = {}
): Promise<DiffRun> {
  const flake = parseFlakeRef('flake', ctx.get('flake') || '.')
  const hostValue = ctx.get('host')
  const host = hostValue ? validateHostName(hostValue, "input 'host'") : undefined
  let beforeSpec = readSide('before', ctx.get('before'), host)
  let afterSpec = readSide('after', ctx.get('after'), host)
  const usesFlake = [beforeSpec, afterSpec].some(s => s.kind === 'revision')
  if (usesFlake) assertFlakeExists(flake, ctx.cwd)
  const target: BuildTarget | undefined = host ? hostTarget(flake, host) : undefined
  const log = ctx.logger
  const realiseOpts = {
    cwd: ctx.cwd,
    logger: log,
    onLogLine: opts.onLogLine ?? ((l: string) => log.info(l))
  }

  // Check both inputs before building either.
  beforeSpec = await prepareSide('before', beforeSpec, { target }, realiseOpts)
  afterSpec = await prepareSide('after', afterSpec, { target }, realiseOpts)

  const realise = async (input: 'before' | 'after', spec: SideSpec) => {
    const side = await log.group(`Realising '${input}'`, () =>
      realiseSide(input, spec, { target }, realiseOpts)
    )
    if ('missingHost' in side) {
      throw new ActionError(
        `Host ${side.missingHost} does not exist at ${side.description} (input '${input}'); its hosts there are ${someNames(side.hosts)}.`,
        { host: side.missingHost, input, phase: 'evaluate' }
      )
    }
    return side
  }
  const before = await realise('before', beforeSpec)
  const after = await realise('after', afterSpec)
  const [b, a] = await localClosures(before.path, after.path, { logger: log, host })
  const diff = compareSystems(
    { path: before.path, closure: b, description: before.description },
    { path: after.path, closure: a, description: after.description },
    host
  )
  return {
    flake,
    host,
    label: host ?? storePathName(after.path),
    before,
    after,
    diff
  }
}
