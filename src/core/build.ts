/**
 * Building a system and comparing it with another one: the engine of the `build` and `diff`
 * actions. Realises a toplevel (or any installable), reads its closure, and produces the closure
 * diff against the other side, whichever way that side is named (a store path, an installable,
 * the same host at a git revision, the system a host runs now). Nothing here knows GitHub.
 */
import fs from 'node:fs'
import path from 'node:path'
import { queryClosure, queryClosures, storePathName, type PathInfo } from './closure.js'
import { diffClosures, selectedPackages, type ClosureDiff } from './diff.js'
import { ActionError } from './errors.js'
import { resolveRevision } from './git.js'
import {
  parseGitRevision,
  parseInstallable,
  parseStorePath,
  showValue,
  type Installable
} from './inputs.js'
import { requireGitFlake } from './local-flake.js'
import type { Logger } from './log.js'
import {
  HOUR,
  MINUTE,
  attrName,
  flakeAtRevision,
  nixBuild,
  nixPathsValid,
  toplevelInstallable
} from './nix.js'
import { renderMarkdown, toJson } from './render-diff.js'
import {
  flakeHostIndex,
  indexNames,
  locateSystems,
  unwrapSystems,
  type HostIndex,
  type SystemRef
} from './flake.js'

/** Reading a closure: a few seconds locally, longer over SSH for a big system. */
const CLOSURE_TIMEOUT = 20 * MINUTE
export const STORE_DIR = '/nix/store'

// ---------------------------------------------------------------------------------------------
// What to build

/** What a command builds: a host's toplevel in a flake, or an installable as given. */
export interface BuildTarget {
  /** The installable passed to `nix build`. */
  installable: string
  /** The host (nixosConfigurations attribute), when known: from `host`, or read from the installable. */
  host?: string
  /** The flake reference the installable is in (undefined for a store path installable). */
  flakeRef?: string
  /** The attribute path after `#` ('' for a flake's default package). */
  attrPath: string
  /**
   * The host is a deploy-rs node whose profile is deploy-rs's activation wrapper: what is built
   * is the wrapper, the host's system is the toplevel inside it (read after the build).
   */
  wrapped?: boolean
}

const TOPLEVEL_ATTRS = [
  /^nixosConfigurations\.("[^"]+"|[A-Za-z0-9_'-]+)\.config\.system\.build\.toplevel$/,
  /^colmenaHive\.toplevel\.("[^"]+"|[A-Za-z0-9_'-]+)$/
]

/** The host an installable's attribute path names, when it is a NixOS (or colmena) toplevel. */
export function hostOfAttrPath(attrPath: string): string | undefined {
  for (const re of TOPLEVEL_ATTRS) {
    const m = re.exec(attrPath)
    if (m) return m[1].startsWith('"') ? m[1].slice(1, -1) : m[1]
  }
  return undefined
}

/**
 * The target of `host` in `flake`: its nixosConfigurations toplevel, or the place `ref` (from
 * locateSystems) names: a colmena hive's toplevel, a deploy-rs system profile.
 */
export function hostTarget(flake: string, host: string, ref?: SystemRef): BuildTarget {
  if (!ref) {
    return {
      installable: toplevelInstallable(flake, host),
      host,
      flakeRef: flake,
      attrPath: `nixosConfigurations.${attrName(host)}.config.system.build.toplevel`
    }
  }
  return {
    installable: `${flake}#${ref.attrPath}`,
    host,
    flakeRef: flake,
    attrPath: ref.attrPath,
    ...(ref.wrapped ? { wrapped: true } : {})
  }
}

/** The target of an installable (already parsed). */
export function installableTarget(i: Installable): BuildTarget {
  if (i.kind === 'store-path') {
    return { installable: i.path + (i.outputs ? `^${i.outputs.join(',')}` : ''), attrPath: '' }
  }
  const outs = i.outputs ? `^${i.outputs.join(',')}` : ''
  return {
    installable: (i.attrPath ? `${i.flakeRef}#${i.attrPath}` : i.flakeRef) + outs,
    host: hostOfAttrPath(i.attrPath),
    flakeRef: i.flakeRef,
    attrPath: i.attrPath
  }
}

/** A name for files and headings: the host, else the built path's name. */
export function labelOf(target: BuildTarget, storePath: string): string {
  return target.host ?? storePathName(storePath)
}

// ---------------------------------------------------------------------------------------------
// Hosts

/**
 * The host names of a flake (attribute names only: nothing of any host is evaluated), from
 * nixosConfigurations, colmenaHive and deploy.nodes; undefined when it has none of them.
 */
export async function flakeHostNames(
  flakeRef: string,
  opts: { cwd?: string; logger?: Logger; phase?: string }
): Promise<string[] | undefined> {
  const index = await flakeHostIndex(flakeRef, opts)
  return index.none ? undefined : indexNames(index)
}

/** Where `host`'s system is in `flakeRef`, as a build target; undefined when it has no such host. */
export async function locateHostTarget(
  flakeRef: string,
  host: string,
  opts: { cwd?: string; logger?: Logger; phase?: string; index?: HostIndex }
): Promise<BuildTarget | undefined> {
  const ref = (await locateSystems(flakeRef, [host], opts)).get(host)
  return ref ? hostTarget(flakeRef, host, ref) : undefined
}

/** "a, b, c and 12 more" (a few names, for a message). */
export function someNames(names: string[], max = 5): string {
  if (names.length === 0) return '(none)'
  const shown = names.slice(0, max).join(', ')
  return names.length > max ? `${shown} and ${names.length - max} more` : shown
}

/**
 * Fails with one sentence when `host` is not a host of `flakeRef` (listing a few that are);
 * returns where its system is (see locateSystems).
 * `where` completes the sentence: `in the flake '.'`, `at revision abc123 (input 'diff-against')`.
 */
export async function requireHost(
  flakeRef: string,
  host: string,
  where: string,
  opts: { cwd?: string; logger?: Logger; input?: string; phase?: string }
): Promise<BuildTarget> {
  const index = await flakeHostIndex(flakeRef, opts)
  if (index.none) {
    throw new ActionError(
      `Host ${host} does not exist ${where}: the flake has no nixosConfigurations, no colmenaHive and no deploy.nodes.`,
      {
        host,
        input: opts.input,
        phase: opts.phase ?? 'evaluate'
      }
    )
  }
  const names = indexNames(index)
  const target = names.includes(host)
    ? await locateHostTarget(flakeRef, host, { ...opts, index })
    : undefined
  if (!target) {
    throw new ActionError(
      `Host ${host} does not exist ${where}; its hosts are ${someNames(names)}.`,
      { host, input: opts.input, phase: opts.phase ?? 'evaluate' }
    )
  }
  return target
}

// ---------------------------------------------------------------------------------------------
// Building

export interface Built {
  storePath: string
  drvPath: string
  durationMs: number
}

/**
 * `nix build` of one installable; build log lines go to `onLogLine`. A derivation with several
 * outputs gives its `out` (or first) output.
 */
export async function buildOne(
  target: BuildTarget,
  opts: {
    cwd?: string
    logger?: Logger
    onLogLine?: (line: string) => void
    phase?: string
    what?: string
  }
): Promise<Built> {
  const started = Date.now()
  const [result] = await nixBuild([target.installable], {
    cwd: opts.cwd,
    logger: opts.logger,
    host: target.host,
    phase: opts.phase ?? 'build',
    what:
      opts.what ?? `building ${target.host ? `the system of ${target.host}` : target.installable}`,
    onStderrLine: opts.onLogLine,
    timeoutMs: 6 * HOUR
  })
  const outputs = result?.outputs ?? {}
  let storePath = outputs.out ?? Object.values(outputs)[0]
  if (!storePath) {
    throw new ActionError(`nix build of ${target.installable} printed no output path.`, {
      host: target.host,
      phase: 'build'
    })
  }
  if (target.wrapped && target.host && target.flakeRef) {
    const inner = (
      await unwrapSystems(target.flakeRef, [target.host], { cwd: opts.cwd, logger: opts.logger })
    )[target.host]
    if (!inner || !inner.startsWith(`${STORE_DIR}/`))
      throw new ActionError(
        `Host ${target.host}: deploy.nodes.${target.host}.profiles.system.path is deploy-rs's activation, but the system inside it could not be read.`,
        { host: target.host, phase: 'build' }
      )
    storePath = inner
  }
  return { storePath, drvPath: result.drvPath, durationMs: Date.now() - started }
}

/** Sum of the NAR sizes of a closure's paths, bytes (each path once). */
export function closureBytes(closure: readonly PathInfo[]): number {
  const seen = new Set<string>()
  let total = 0
  for (const p of closure) {
    if (seen.has(p.path)) continue
    seen.add(p.path)
    total += p.narSize
  }
  return total
}

/** Fails with a sentence naming `input` when a store path is not valid in the local store. */
export async function requireLocalPath(
  storePath: string,
  input: string,
  opts: { logger?: Logger; host?: string }
): Promise<void> {
  const valid = await nixPathsValid([storePath], {
    logger: opts.logger,
    host: opts.host,
    phase: 'closure'
  })
  if (!valid.get(storePath)) {
    throw new ActionError(
      `Input '${input}': the store path ${storePath} is not in the local Nix store; build it or copy it here first.`,
      { input, host: opts.host, phase: 'closure' }
    )
  }
}

// ---------------------------------------------------------------------------------------------
// The other side of a diff

/** How a `diff` input (or build's `diff-against`) names a system. */
export type SideSpec =
  | { kind: 'store-path'; path: string }
  | { kind: 'installable'; installable: Installable }
  | {
      kind: 'revision'
      rev: string
      /** The full commit, once resolved (see `prepareSide`). */ commit?: string
    }

/**
 * Classifies a value of `before`/`after` (the diff action) or `diff-against` (the build action):
 *  - a store path when it starts with the store directory (`/nix/store/`);
 *  - an installable when it contains `#` (`.#nixosConfigurations.web1.config.system.build.toplevel`);
 *  - otherwise a git revision (a commit, a branch, a tag, `HEAD~1`), which needs a host.
 */
export function classifySide(
  input: string,
  value: string,
  opts: { allowInstallable?: boolean } = {}
): SideSpec {
  if (value.startsWith(`${STORE_DIR}/`))
    return { kind: 'store-path', path: parseStorePath(input, value) }
  if (value.includes('#')) {
    if (opts.allowInstallable === false) {
      throw new ActionError(
        `Input '${input}' must be a git revision, a store path or 'deployed', not the installable ${showValue(value)}.`,
        { input }
      )
    }
    return { kind: 'installable', installable: parseInstallable(input, value) }
  }
  return { kind: 'revision', rev: parseGitRevision(input, value) }
}

/**
 * Checks a side before anything is built, so a wrong input fails in seconds rather than after the
 * build: a store path must be in the local store; a revision must exist in the flake's repository
 * (it is resolved to its commit here) and needs something to build at it.
 */
export async function prepareSide(
  input: string,
  spec: SideSpec,
  current: { target?: BuildTarget },
  opts: { cwd: string; logger?: Logger }
): Promise<SideSpec> {
  if (spec.kind === 'store-path') {
    await requireLocalPath(spec.path, input, { logger: opts.logger, host: current.target?.host })
    return spec
  }
  if (spec.kind !== 'revision') return spec
  const target = current.target
  if (!target?.flakeRef || !target.attrPath) {
    throw new ActionError(
      `Input '${input}' is the git revision ${showValue(spec.rev)}, which needs 'host' (or a flake installable) to know what to build at that revision.`,
      { input }
    )
  }
  const local = await requireGitFlake(target.flakeRef, opts.cwd, input)
  const commit = await resolveRevision(local.repoRoot, spec.rev, input, opts.logger)
  return { ...spec, commit }
}

export interface Side {
  /** The system's store path. */
  path: string
  /** Its closure, read from the store that has it. */
  closure: PathInfo[]
  /** What it was, for messages and the summary (`revision 1a2b3c4 (main)`, `deployed on web1`). */
  description: string
}

export interface RealiseOptions {
  cwd: string
  logger?: Logger
  onLogLine?: (line: string) => void
}

/**
 * The store path a side names, built when it must be: a store path is checked to be in the local
 * store; an installable is built; a revision is resolved in the flake's repository and the same
 * host (or the same attribute path) is built from the flake at that revision.
 * `current` is the target the revision applies to (the host being built, or `host` of the diff).
 */
export async function realiseSide(
  input: string,
  spec: SideSpec,
  current: { target?: BuildTarget },
  opts: RealiseOptions
): Promise<
  | { path: string; description: string }
  | { missingHost: string; hosts: string[]; description: string }
> {
  switch (spec.kind) {
    case 'store-path':
      await requireLocalPath(spec.path, input, { logger: opts.logger, host: current.target?.host })
      return { path: spec.path, description: `store path ${storePathName(spec.path)}` }
    case 'installable': {
      const target = installableTarget(spec.installable)
      const built = await buildOne(target, {
        ...opts,
        what: `building ${target.installable} (input '${input}')`
      })
      return { path: built.storePath, description: target.installable }
    }
    case 'revision': {
      const target = current.target
      if (!target?.flakeRef || !target.attrPath) {
        throw new ActionError(
          `Input '${input}' is the git revision ${showValue(spec.rev)}, which needs 'host' (or a flake installable) to know what to build at that revision.`,
          { input }
        )
      }
      const local = await requireGitFlake(target.flakeRef, opts.cwd, input)
      const commit =
        spec.commit ?? (await resolveRevision(local.repoRoot, spec.rev, input, opts.logger))
      const flakeRef = flakeAtRevision(local.repoRoot, commit, local.subdir)
      const short = commit.slice(0, 12)
      const description = `revision ${short}${spec.rev !== commit ? ` (${spec.rev})` : ''}`
      let old: BuildTarget = { ...target, installable: `${flakeRef}#${target.attrPath}`, flakeRef }
      if (target.host) {
        // The host's system may be in another output at that revision (a move to colmena).
        const index = await flakeHostIndex(flakeRef, { cwd: opts.cwd, logger: opts.logger })
        const located = indexNames(index).includes(target.host)
          ? await locateHostTarget(flakeRef, target.host, { ...opts, index })
          : undefined
        if (!located) return { missingHost: target.host, hosts: indexNames(index), description }
        old = located
      }
      const built = await buildOne(old, {
        ...opts,
        what: `building ${target.host ?? target.attrPath} at ${description} (input '${input}')`
      })
      return { path: built.storePath, description }
    }
  }
}

/** The closures of two local store paths, in one `nix path-info` process. */
export async function localClosures(
  before: string,
  after: string,
  opts: { logger?: Logger; host?: string }
): Promise<[PathInfo[], PathInfo[]]> {
  const [b, a] = await queryClosures([before, after], {
    timeoutMs: CLOSURE_TIMEOUT,
    logger: opts.logger,
    host: opts.host
  })
  return [b, a]
}

/** The closure of one store path, from the local store or another (`storeUrl`, `env`). */
export async function closureFrom(
  storePath: string,
  opts: {
    logger?: Logger
    host?: string
    storeUrl?: string
    env?: Record<string, string | undefined>
  }
): Promise<PathInfo[]> {
  return queryClosure(storePath, { timeoutMs: CLOSURE_TIMEOUT, ...opts })
}

/** The closure diff, with the selected packages of a NixOS system on both sides. */
export function compareSystems(before: Side, after: Side, host?: string): ClosureDiff {
  return diffClosures(before.closure, after.closure, {
    beforePath: before.path,
    afterPath: after.path,
    host,
    selected: {
      before: selectedPackages(before.path, before.closure),
      after: selectedPackages(after.path, after.closure)
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Files

/** A name safe as a file name (host names are already; store path names may hold `?`, `=`, `+`). */
export function fileLabel(label: string): string {
  const safe = label.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_')
  return safe.slice(0, 120) || 'system'
}

export interface DiffFiles {
  jsonFile: string
  markdownFile: string
}

/**
 * Writes the diff as JSON (docs/diff-schema.md) and as full Markdown into `dir`
 * (`diff-<label>.json`, `diff-<label>.md`), replacing earlier files of the same label.
 */
export function writeDiffFiles(diff: ClosureDiff, dir: string, label: string): DiffFiles {
  fs.mkdirSync(dir, { recursive: true })
  const base = path.join(dir, `diff-${fileLabel(label)}`)
  const jsonFile = `${base}.json`
  const markdownFile = `${base}.md`
  fs.writeFileSync(jsonFile, toJson(diff))
  fs.writeFileSync(
    markdownFile,
    renderMarkdown(diff, { detail: 'full', headingLevel: 3, title: label })
  )
  return { jsonFile, markdownFile }
}

/** The diff at the three levels the sticky comment keeps (no heading: the comment titles it). */
/** The diff outputs (empty strings without a diff). */
export function diffFileOutputs(files: DiffFiles | null): Record<string, string> {
  return {
    'diff-json-file': files?.jsonFile ?? '',
    'diff-markdown-file': files?.markdownFile ?? ''
  }
}

export function diffLevels(diff: ClosureDiff): { full: string; selected: string; summary: string } {
  return {
    full: renderMarkdown(diff, { detail: 'full', headingLevel: 0 }),
    selected: renderMarkdown(diff, { detail: 'selected', headingLevel: 0 }),
    summary: renderMarkdown(diff, { detail: 'summary', headingLevel: 0 })
  }
}
