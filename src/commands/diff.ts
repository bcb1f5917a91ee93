/**
 * `diff`: the closure diff between two systems, each named by `before` / `after` as
 *  - a store path (the value starts with `/nix/store/`): it must be in the local store;
 *  - an installable (the value contains `#`): it is built;
 *  - otherwise a git revision of the flake's repository: `host`'s toplevel at that revision is
 *    built (the same repository, no second checkout), so a revision needs `host`.
 */
import fs from 'node:fs'
import path from 'node:path'
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
import { parseFlakeRef, parseList, replaceControlCharacters, showValue } from '../core/inputs.js'
import { assertFlakeExists } from '../core/local-flake.js'
import { parseDiffJson } from '../core/render-diff.js'
import { validateHostName } from '../core/target.js'
import type { CommandContext } from './types.js'
import type { DiffRun } from '../core/model.js'
import { defaultOf } from './inputs.js'

export type { DiffRun }

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
  const flake = parseFlakeRef('flake', ctx.get('flake') || defaultOf('diff', 'flake'))
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

/** Largest diff report read (a diff of thousands of packages is a few MiB). */
export const REPORT_MAX_BYTES = 64 * 1024 * 1024
/** Most diff reports read in one step (GitHub's matrix cap). */
export const REPORT_MAX_FILES = 256

export interface DiffReport {
  /** The file, as shown in messages. */
  file: string
  /** The host, or the after path's name. */
  label: string
  diff: ClosureDiff
}

/**
 * The files `report` names: newline- or comma-separated paths (relative to the workspace), each a
 * diff JSON file or a folder whose `.json` files (at any depth, in name order) are all reports.
 * Symbolic links are not followed (an artifact is untrusted).
 */
function reportFiles(value: string, cwd: string): string[] {
  const items = parseList(value)
  if (items.length === 0) throw new ActionError("Input 'report' is empty.", { input: 'report' })
  const files: string[] = []
  const walk = (dir: string) => {
    for (const e of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && e.name.endsWith('.json')) files.push(p)
    }
  }
  for (const item of items) {
    const abs = path.resolve(cwd, item)
    let st: fs.Stats
    try {
      st = fs.lstatSync(abs)
    } catch {
      throw new ActionError(`Input 'report': ${showValue(item, 200)} does not exist.`, {
        input: 'report'
      })
    }
    if (st.isDirectory()) {
      const before = files.length
      walk(abs)
      if (files.length === before) {
        throw new ActionError(
          `Input 'report': the folder ${showValue(item, 200)} holds no .json file (a build with diff-against writes one per host that changed or not; a new host has none).`,
          { input: 'report' }
        )
      }
    } else if (st.isFile()) files.push(abs)
    else
      throw new ActionError(
        `Input 'report': ${showValue(item, 200)} is neither a file nor a folder.`,
        { input: 'report' }
      )
  }
  const unique = [...new Set(files)]
  if (unique.length > REPORT_MAX_FILES) {
    throw new ActionError(
      `Input 'report' names ${unique.length} diff files, more than the ${REPORT_MAX_FILES} one step reads.`,
      { input: 'report' }
    )
  }
  return unique
}

/**
 * `diff` with `report`: reads diff JSON files written by `build` or `diff` (docs/diff-schema.md)
 * instead of computing a diff, for a second workflow that comments what a first one computed (the
 * `workflow_run` pattern for pull requests from forks). Every file is checked strictly; two files
 * for the same host are refused.
 */
export function diffReportCommand(ctx: CommandContext): DiffReport[] {
  const reports: DiffReport[] = []
  const seen = new Map<string, string>()
  for (const abs of reportFiles(ctx.get('report'), ctx.cwd)) {
    const rel = path.relative(ctx.cwd, abs)
    const file = showValue(rel.startsWith('..') ? abs : rel, 200)
    const size = fs.statSync(abs).size
    if (size > REPORT_MAX_BYTES) {
      throw new ActionError(
        `The diff report ${file} is ${size} bytes, more than the ${REPORT_MAX_BYTES} read.`,
        { input: 'report' }
      )
    }
    const diff = parseDiffJson(fs.readFileSync(abs, 'utf8'), file)
    const label = diff.host ?? storePathName(diff.afterPath)
    const other = seen.get(label)
    if (other !== undefined) {
      throw new ActionError(
        `The diff reports ${other} and ${file} are both for ${showValue(label)}; give one report per host.`,
        { input: 'report' }
      )
    }
    seen.set(label, file)
    reports.push({ file, label, diff })
    // The summary is the file's text: one line, so it cannot start a workflow command.
    ctx.logger.info(`${file}: ${label}: ${replaceControlCharacters(diff.summary)}`)
  }
  return reports
}
