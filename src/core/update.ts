/**
 * The engine of the `update` action (GitHub-free): updates a flake's lock (every input, or the
 * listed ones), says which inputs moved (old and new revision, their dates, a compare link for
 * GitHub inputs), and, for every host whose system changed, the closure diff between the system
 * before the update and after it. The pull request body and the job summary are two renderings
 * of the same record.
 */
import fs from 'node:fs'
import path from 'node:path'
import { localClosures, compareSystems } from './build.js'
import type { ClosureDiff } from './diff.js'
import { ActionError, describeError } from './errors.js'
import { evalSystemDrvPaths, flakeHostIndex, indexNames, locateSystems } from './flake.js'
import { parseFlakeLock, resolveInput, type FlakeLock, type LockNode } from './flake-lock.js'
import { showValue } from './inputs.js'
import { requireGitFlake } from './local-flake.js'
import type { Logger } from './log.js'
import {
  escapeMarkdown,
  heading,
  hiddenMarker,
  inlineCode,
  table,
  truncateText
} from './markdown.js'
import { nixFlakeUpdate, nixStoreRealise } from './nix.js'
import { renderMarkdown, renderText } from './render-diff.js'

// ---------------------------------------------------------------------------------------------
// What moved in the lock

export interface LockedRevision {
  /** The locked commit, when the source has one. */
  rev?: string
  /** When the locked revision was made (seconds since the epoch), when the lock records it. */
  lastModified?: number
  /** Where it comes from, for people: `github:NixOS/nixpkgs`, a git URL, a path. */
  source: string
  /** The content hash, which names a revision that has no commit (a `path:` or tarball input). */
  narHash?: string
}

export interface InputChange {
  /** The input as the lock names it from the root: `nixpkgs`, `home-manager/nixpkgs`. */
  input: string
  change: 'updated' | 'added' | 'removed'
  before?: LockedRevision
  after?: LockedRevision
  /** `https://github.com/<owner>/<repo>/compare/<old>...<new>` for a github.com input. */
  compareUrl?: string
}

const SAFE_NAME = /^[A-Za-z0-9_.-]+$/
const REV = /^[0-9a-f]{7,64}$/

function sourceOf(node: LockNode): string {
  const l = node.locked
  if (!l) return node.type ?? 'unknown'
  if ((node.type === 'github' || node.type === 'gitlab' || node.type === 'sourcehut') && l.owner)
    return `${node.type}:${l.owner}/${l.repo ?? ''}`
  if (l.url) return l.url
  if (l.path) return `path:${l.path}`
  return node.type ?? 'unknown'
}

function revisionOf(node: LockNode): LockedRevision {
  return {
    rev: node.locked?.rev,
    lastModified: node.lastModified,
    source: sourceOf(node),
    narHash: node.locked?.narHash
  }
}

/** The owner and repository of an input on github.com, when it is one. */
function githubRepo(node: LockNode): { owner: string; repo: string } | undefined {
  const l = node.locked
  if (!l) return undefined
  if (node.type === 'github' && (!l.host || l.host === 'github.com') && l.owner && l.repo)
    return { owner: l.owner, repo: l.repo }
  if (node.type === 'git' && l.url) {
    const m = /^(?:git\+)?https:\/\/github\.com\/([^/]+)\/([^/?#]+?)(?:\.git)?\/?(?:[?#].*)?$/.exec(
      l.url
    )
    if (m) return { owner: m[1], repo: m[2] }
  }
  return undefined
}

/**
 * Two lock nodes pin the same source: the same content hash and revision. Nix versions spell the
 * rest differently (Nix 2.34 rewrites a 2.8 lock's `"ref": "main"` as `"refs/heads/main"` for the
 * same commit), which is no update. Without hash and revision, every locked field counts.
 */
function samePin(a: LockNode, b: LockNode): boolean {
  const x = a.locked
  const y = b.locked
  if (!x || !y) return !x && !y
  if (x.narHash || y.narHash) return x.narHash === y.narHash && x.rev === y.rev
  if (x.rev || y.rev) return x.rev === y.rev
  return x.key === y.key
}

/**
 * Every input reachable from the root through node names (not `follows`: such an input is the
 * followed one's, listed under its own name), by its path of names.
 */
function inputNodes(lock: FlakeLock): Map<string, LockNode> {
  const out = new Map<string, LockNode>()
  const walk = (id: string, prefix: string, depth: number) => {
    const node = lock.nodes[id]
    if (!node || depth > 16) return
    for (const [name, ref] of Object.entries(node.inputs)) {
      if (typeof ref !== 'string') continue
      const full = prefix ? `${prefix}/${name}` : name
      const child = lock.nodes[ref]
      if (!child || out.has(full)) continue
      out.set(full, child)
      walk(ref, full, depth + 1)
    }
  }
  walk(lock.root, '', 0)
  return out
}

/** The inputs that moved between two locks, root inputs first, then by name. */
export function lockChanges(before: FlakeLock | undefined, after: FlakeLock): InputChange[] {
  const old = before ? inputNodes(before) : new Map<string, LockNode>()
  const now = inputNodes(after)
  const out: InputChange[] = []
  for (const [input, node] of now) {
    const was = old.get(input)
    if (!was) {
      out.push({ input, change: 'added', after: revisionOf(node) })
      continue
    }
    if (samePin(was, node)) continue
    const change: InputChange = {
      input,
      change: 'updated',
      before: revisionOf(was),
      after: revisionOf(node)
    }
    const a = githubRepo(was)
    const b = githubRepo(node)
    const [r1, r2] = [was.locked?.rev, node.locked?.rev]
    if (
      a &&
      b &&
      a.owner.toLowerCase() === b.owner.toLowerCase() &&
      a.repo.toLowerCase() === b.repo.toLowerCase() &&
      SAFE_NAME.test(b.owner) &&
      SAFE_NAME.test(b.repo) &&
      r1 &&
      r2 &&
      REV.test(r1) &&
      REV.test(r2)
    )
      change.compareUrl = `https://github.com/${b.owner}/${b.repo}/compare/${r1}...${r2}`
    out.push(change)
  }
  for (const [input, node] of old)
    if (!now.has(input)) out.push({ input, change: 'removed', before: revisionOf(node) })
  const depth = (s: string) => s.split('/').length
  return out.sort(
    (x, y) =>
      depth(x.input) - depth(y.input) || (x.input < y.input ? -1 : x.input > y.input ? 1 : 0)
  )
}

/** Two locks pin the same sources (formatting and key order aside). */
export function sameLock(a: FlakeLock, b: FlakeLock): boolean {
  return lockChanges(a, b).length === 0 && lockChanges(b, a).length === 0
}

// ---------------------------------------------------------------------------------------------
// The update

/** An input name as `inputs` takes it: `nixpkgs`, or a nested `home-manager/nixpkgs`. */
const INPUT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_'-]*(\/[A-Za-z0-9_][A-Za-z0-9_'-]*)*$/

/** Checks the `inputs` names, against the current lock when there is one. */
export function checkInputNames(names: readonly string[], lock: FlakeLock | undefined): string[] {
  for (const name of names) {
    if (!INPUT_NAME.test(name))
      throw new ActionError(`Input 'inputs': ${showValue(name)} is not a flake input name.`, {
        input: 'inputs'
      })
    if (lock && resolveInput(lock, name.split('/')) === undefined) {
      const known = Object.keys(lock.nodes[lock.root]?.inputs ?? {})
      throw new ActionError(
        `Input 'inputs': the flake has no input ${showValue(name)}; its inputs are ${known.length ? known.join(', ') : '(none)'}.`,
        { input: 'inputs' }
      )
    }
  }
  return [...new Set(names)]
}

export interface HostUpdate {
  host: string
  /** `changed`: a closure diff; `added`/`removed`: the host exists on one side only; `failed`: see error. */
  state: 'changed' | 'added' | 'removed' | 'failed'
  beforePath?: string
  afterPath?: string
  diff?: ClosureDiff
  /** Why the diff could not be made (a build or evaluation failure), one sentence. */
  error?: string
}

export interface UpdateResult {
  /** The repository holding the flake, and the lock's path relative to it. */
  repoRoot: string
  lockFile: string
  /** The lock's text before (undefined: there was none) and after the update. */
  lockBefore?: string
  lockAfter: string
  /** At least one input moved (or the lock was created). */
  changed: boolean
  inputs: InputChange[]
  /** Hosts whose system changed (with diff: true). */
  hosts: HostUpdate[]
  /** Hosts whose system is the same after the update. */
  unchangedHosts: string[]
  /** Why there are no host diffs, when there are none to show for a reason (diff: false, an evaluation failure). */
  diffNote?: string
}

export interface UpdateOptions {
  flake: string
  cwd: string
  inputs: string[]
  diff: boolean
  logger: Logger
  onLogLine?: (line: string) => void
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The drv path of every host's system (one evaluation per output); a message when it fails. */
async function hostDrvs(
  flake: string,
  opts: { cwd: string; logger: Logger },
  when: string
): Promise<Record<string, string> | string> {
  try {
    // The hosts of nixosConfigurations, a colmena hive or deploy.nodes, as every action reads them.
    const index = await flakeHostIndex(flake, { cwd: opts.cwd, logger: opts.logger })
    const names = indexNames(index)
    if (names.length === 0) return {}
    const refs = await locateSystems(flake, names, { cwd: opts.cwd, logger: opts.logger, index })
    return await evalSystemDrvPaths(flake, names, { cwd: opts.cwd, logger: opts.logger, refs })
  } catch (err) {
    return `the hosts do not evaluate ${when}: ${describeError(err)}`
  }
}

/** Updates the lock; see the module's comment. Leaves the new lock in the working tree. */
export async function updateFlake(opts: UpdateOptions): Promise<UpdateResult> {
  const { logger: log } = opts
  const local = await requireGitFlake(opts.flake, opts.cwd, 'flake')
  const lockPath = path.join(local.dir, 'flake.lock')
  const lockFile = path.relative(local.repoRoot, lockPath).split(path.sep).join('/')
  const lockBefore = readText(lockPath)
  const oldLock = lockBefore === undefined ? undefined : parseFlakeLock(lockBefore)
  const names = checkInputNames(opts.inputs, oldLock)
  const onLogLine = opts.onLogLine ?? ((l: string) => log.info(l))

  const before = opts.diff
    ? await log.group('Evaluating the hosts before the update', () =>
        hostDrvs(opts.flake, { cwd: opts.cwd, logger: log }, 'before the update')
      )
    : undefined

  await log.group(
    names.length ? `Updating ${names.join(', ')}` : 'Updating every input (nix flake update)',
    () => nixFlakeUpdate(local.dir, names, { logger: log, onStderrLine: onLogLine })
  )
  const lockAfter = readText(lockPath)
  if (lockAfter === undefined)
    throw new ActionError(`nix wrote no ${lockFile}: the flake has no inputs to lock.`, {
      phase: 'update'
    })
  const newLock = parseFlakeLock(lockAfter)
  const inputs = lockChanges(oldLock, newLock)
  const changed = lockBefore === undefined || inputs.length > 0
  const result: UpdateResult = {
    repoRoot: local.repoRoot,
    lockFile,
    lockBefore,
    lockAfter,
    changed,
    inputs,
    hosts: [],
    unchangedHosts: []
  }
  if (!changed) {
    // Rewritten but pinning the same sources (another Nix's formatting): leave the file as it was.
    if (lockBefore !== undefined && lockBefore !== lockAfter) fs.writeFileSync(lockPath, lockBefore)
    result.lockAfter = lockBefore ?? lockAfter
    return result
  }
  for (const i of inputs)
    log.info(
      `${i.input}: ${i.change}${i.before?.rev ? ` from ${i.before.rev.slice(0, 12)}` : ''}${i.after?.rev ? ` to ${i.after.rev.slice(0, 12)}` : ''}`
    )
  if (!opts.diff) {
    result.diffNote = "Closure diffs were not computed ('diff: false')."
    return result
  }
  if (typeof before === 'string') {
    result.diffNote = `No closure diffs: ${before}`
    log.warning(result.diffNote)
    return result
  }
  const after = await log.group('Evaluating the hosts after the update', () =>
    hostDrvs(opts.flake, { cwd: opts.cwd, logger: log }, 'after the update')
  )
  if (typeof after === 'string') {
    result.diffNote = `No closure diffs: ${after}`
    log.warning(result.diffNote)
    return result
  }
  const hosts = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort()
  for (const host of hosts) {
    const b = before?.[host]
    const a = after[host]
    if (b === a) {
      result.unchangedHosts.push(host)
      continue
    }
    if (!b || !a) {
      result.hosts.push({ host, state: b ? 'removed' : 'added' })
      continue
    }
    await log.group(`Closure diff of ${host}`, async () => {
      try {
        const realise = async (drv: string, when: string) => {
          const [out] = await nixStoreRealise(drv, {
            logger: log,
            host,
            phase: 'build',
            what: `building the system of ${host} ${when} the update`,
            onStderrLine: onLogLine
          })
          if (!out)
            throw new ActionError(`${host}: building ${drv} printed no output path.`, { host })
          return out
        }
        const beforePath = await realise(b, 'before')
        const afterPath = await realise(a, 'after')
        const [cb, ca] = await localClosures(beforePath, afterPath, { logger: log, host })
        const diff = compareSystems(
          { path: beforePath, closure: cb, description: 'before the update' },
          { path: afterPath, closure: ca, description: 'after the update' },
          host
        )
        result.hosts.push({ host, state: 'changed', beforePath, afterPath, diff })
        log.info(`${host}: ${diff.summary}`)
      } catch (err) {
        const error = describeError(err)
        result.hosts.push({ host, state: 'failed', error })
        log.warning(`${host}: no closure diff: ${error}`)
      }
    })
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** The hidden marker of the update pull request's body. */
export const UPDATE_MARKER = hiddenMarker('nix-deploy update')

/** `sha256-AbCdEfGhIjKl` of a content hash, for an input that has no commit. */
export function shortHash(narHash: string): string {
  return narHash.slice(0, narHash.indexOf('-') + 13)
}

function shortRev(r: LockedRevision | undefined): string {
  if (!r) return '—'
  const rev = r.rev
    ? inlineCode(r.rev.slice(0, 12), { inTable: true })
    : r.narHash
      ? inlineCode(shortHash(r.narHash), { inTable: true })
      : '*no revision*'
  const date = r.lastModified
    ? ` (${new Date(r.lastModified * 1000).toISOString().slice(0, 10)})`
    : ''
  return rev + date
}

/** The inputs table. */
export function renderInputs(inputs: readonly InputChange[]): string {
  if (inputs.length === 0) return '_No input moved._'
  return table(
    ['Input', 'Source', 'Before', 'After', 'Changes'],
    inputs.map(i => [
      inlineCode(i.input, { inTable: true }),
      inlineCode((i.after ?? i.before)?.source ?? '', { inTable: true }),
      i.change === 'added' ? '*added*' : shortRev(i.before),
      i.change === 'removed' ? '*removed*' : shortRev(i.after),
      i.compareUrl
        ? `[${i.before?.rev?.slice(0, 7)}…${i.after?.rev?.slice(0, 7)}](${i.compareUrl})`
        : ''
    ])
  )
}

/** One line about the update: `2 inputs moved; 1 of 3 hosts change.` */
export function updateHeadline(r: UpdateResult): string {
  const n = r.inputs.length
  const moved = r.changed ? `${n} ${n === 1 ? 'input' : 'inputs'} moved` : 'No input moved'
  if (r.diffNote && r.hosts.length === 0) return `${moved}.`
  const total = r.hosts.length + r.unchangedHosts.length
  return `${moved}; ${r.hosts.length} of ${total} ${total === 1 ? 'host changes' : 'hosts change'}.`
}

function hostLine(h: HostUpdate): string {
  switch (h.state) {
    case 'added':
      return `${inlineCode(h.host)}: a new host after the update.`
    case 'removed':
      return `${inlineCode(h.host)}: no longer a host after the update.`
    case 'failed':
      return `${inlineCode(h.host)}: no closure diff: ${escapeMarkdown(h.error ?? 'unknown error')}`
    case 'changed':
      return `${inlineCode(h.host)}: ${escapeMarkdown(h.diff?.summary ?? '')}`
  }
}

function hostSection(h: HostUpdate, maxChars?: number): string {
  if (h.state !== 'changed' || !h.diff) return hostLine(h)
  return renderMarkdown(h.diff, { detail: 'full', headingLevel: 4, title: h.host, maxChars })
}

function unchangedLine(r: UpdateResult): string {
  if (r.unchangedHosts.length === 0) return ''
  return `Unchanged: ${r.unchangedHosts.map(h => inlineCode(h)).join(', ')}.`
}

/**
 * The pull request body, at most `maxChars` characters (GitHub's limit on a body is 65,536):
 * the inputs table, then each changed host's closure diff. When it does not fit, the diffs give up
 * detail first (each keeps an equal share of what is left, the largest losing most), then hosts
 * become one line each; the job summary keeps everything (`summaryUrl` links to it).
 */
export function renderUpdateBody(
  r: UpdateResult,
  opts: { maxChars?: number; summaryUrl?: string } = {}
): { body: string; collapsed: boolean } {
  const max = opts.maxChars ?? 65536
  const where = opts.summaryUrl ? `[the job summary](${opts.summaryUrl})` : 'the job summary'
  const note = `> [!NOTE]\n> Some detail is collapsed to fit GitHub's limit on a pull request body: everything is in ${where}.`
  const head = [
    UPDATE_MARKER,
    `Updates ${inlineCode(r.lockFile)}: ${escapeMarkdown(updateHeadline(r))}`,
    heading(3, 'Inputs'),
    renderInputs(r.inputs)
  ]
  const tail = [
    r.diffNote ? escapeMarkdown(r.diffNote) : '',
    unchangedLine(r),
    `<sub>Opened by nix-deploy update; the build logs are in ${where}.</sub>`
  ].filter(Boolean)
  const join = (parts: string[]) => parts.join('\n\n') + '\n'
  const hostsHeading = r.hosts.length ? [heading(3, 'Hosts that change')] : []
  const sections = r.hosts.map(h => hostSection(h))
  const full = join([...head, ...hostsHeading, ...sections, ...tail])
  if (full.length <= max) return { body: full, collapsed: false }

  // Equal shares of what is left, smallest sections first (they give back what they do not use).
  const fixed = join([...head, note, ...hostsHeading, ...tail]).length + 2 * r.hosts.length
  let budget = max - fixed
  const sizes = sections.map(s => s.length)
  const order = r.hosts.map((_, i) => i).sort((a, b) => sizes[a] - sizes[b])
  const shares = new Array<number>(r.hosts.length).fill(0)
  let left = r.hosts.length
  for (const i of order) {
    const share = Math.floor(budget / left--)
    shares[i] = Math.min(sizes[i], share)
    budget -= shares[i]
  }
  if (r.hosts.length > 0 && shares.every(s => s >= 120)) {
    const fitted = r.hosts.map((h, i) =>
      truncateText(
        h.state === 'changed' ? hostSection(h, shares[i]) : hostLine(h),
        Math.max(shares[i], 1)
      )
    )
    const body = join([...head, note, ...hostsHeading, ...fitted, ...tail])
    if (body.length <= max) return { body, collapsed: true }
  }
  // Too many hosts for a diff each: one line per host, then whatever fits.
  const lines = r.hosts.map(h => `- ${hostLine(h)}`).join('\n')
  const body = join([...head, note, ...hostsHeading, lines, ...tail])
  return { body: truncateText(body, max, '\n…\n'), collapsed: true }
}

/** The job summary: everything, with each host's full diff. */
export function renderUpdateSummary(r: UpdateResult): string {
  const parts = [
    heading(2, 'Flake update'),
    `${inlineCode(r.lockFile)}: ${escapeMarkdown(updateHeadline(r))}`,
    heading(3, 'Inputs'),
    renderInputs(r.inputs)
  ]
  if (r.hosts.length)
    parts.push(heading(3, 'Hosts that change'), ...r.hosts.map(h => hostSection(h)))
  if (r.diffNote) parts.push(escapeMarkdown(r.diffNote))
  const unchanged = unchangedLine(r)
  if (unchanged) parts.push(unchanged)
  return parts.join('\n\n') + '\n'
}

/** The terminal's report: the inputs that moved, then each changed host's diff as text. */
export function renderUpdateText(r: UpdateResult): string {
  const date = (x?: LockedRevision) =>
    x?.lastModified ? ` (${new Date(x.lastModified * 1000).toISOString().slice(0, 10)})` : ''
  const lines = [`${r.lockFile}: ${updateHeadline(r)}`]
  for (const i of r.inputs)
    lines.push(
      `  ${i.input}: ${i.change === 'added' ? 'added' : (i.before?.rev?.slice(0, 12) ?? '?') + date(i.before)} -> ${i.change === 'removed' ? 'removed' : (i.after?.rev?.slice(0, 12) ?? '?') + date(i.after)}${i.compareUrl ? `  ${i.compareUrl}` : ''}`
    )
  const out = [lines.join('\n')]
  for (const h of r.hosts)
    out.push(
      h.state === 'changed' && h.diff
        ? `${h.host}:\n${renderText(h.diff)}`
        : `${h.host}: ${h.state}${h.error ? `: ${h.error}` : ''}`
    )
  if (r.diffNote) out.push(r.diffNote)
  if (r.unchangedHosts.length) out.push(`unchanged: ${r.unchangedHosts.join(', ')}`)
  return out.join('\n\n').replace(/\n*$/, '\n')
}
