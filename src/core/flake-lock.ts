/**
 * `flake.lock`: its inputs and how old each one's locked revision is.
 *
 * The lock file (versions 5 to 7; 7 is what Nix writes since 2.4) is a graph:
 *
 *     { "version": 7, "root": "root",
 *       "nodes": { "root": { "inputs": { "nixpkgs": "nixpkgs", "utils": "flake-utils",
 *                                         "stable": ["nixpkgs"] } },          // follows
 *                  "nixpkgs": { "locked": { "lastModified": 1700000000, "type": "github", … },
 *                               "original": { … } } } }
 *
 * An input is a node name (string) or, for `follows`, a path of input names from the root
 * (array). Only `version`, `root` and `nodes` shapes are checked; unknown fields are ignored.
 */
import { ActionError } from './errors.js'
import { replaceControlCharacters, showValue } from './inputs.js'

export type InputRef = string | string[]

export interface LockNode {
  inputs: Record<string, InputRef>
  /** Seconds since the epoch of the locked revision, when the lock records it. */
  lastModified?: number
  /** The locked source's type (`github`, `git`, `path`, `tarball`, …). */
  type?: string
  /** `false` for non-flake inputs (`flake = false`). */
  flake?: boolean
  /** What the lock pins (string fields of `locked` only), for comparing two locks. */
  locked?: LockedFields
}

/** The string fields of a node's `locked` attributes the suite reads (others are ignored). */
export interface LockedFields {
  rev?: string
  ref?: string
  narHash?: string
  owner?: string
  repo?: string
  host?: string
  url?: string
  path?: string
  /** Every field of `locked` as canonical JSON: two nodes pin the same source when equal. */
  key: string
}

const LOCKED_STRINGS = ['rev', 'ref', 'narHash', 'owner', 'repo', 'host', 'url', 'path'] as const

export interface FlakeLock {
  version: number
  root: string
  nodes: Record<string, LockNode>
}

export interface StaleInput {
  /** The input's name as in the root node. */
  input: string
  ageDays: number
  lastModified: Date
}

const FILE = 'flake.lock'

function lockError(problem: string): ActionError {
  return new ActionError(`${FILE} ${problem}`, { phase: 'check' })
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** JSON with object keys sorted, so two equal values print the same. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map(k => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/** Parse and check the shape of a lock file's text. */
export function parseFlakeLock(text: string): FlakeLock {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    // The engine's message may quote the text: keep it to one short, printable line.
    const detail = replaceControlCharacters(String((err as Error)?.message ?? err)).slice(0, 200)
    throw lockError(`is not valid JSON: ${detail}`)
  }
  if (!isObject(data)) throw lockError('is not a JSON object')
  const version = data.version
  if (typeof version !== 'number' || !Number.isInteger(version))
    throw lockError('has no version number')
  if (version < 5 || version > 7)
    throw lockError(`has version ${version}, which this action does not read (it reads 5 to 7)`)
  const root = data.root
  if (typeof root !== 'string') throw lockError("has no 'root' node name")
  if (!isObject(data.nodes)) throw lockError("has no 'nodes' object")

  const nodes: Record<string, LockNode> = Object.create(null) as Record<string, LockNode>
  for (const [name, raw] of Object.entries(data.nodes)) {
    if (!isObject(raw)) throw lockError(`node ${showValue(name, 60)} is not an object`)
    const inputs: Record<string, InputRef> = Object.create(null) as Record<string, InputRef>
    if (raw.inputs !== undefined) {
      if (!isObject(raw.inputs))
        throw lockError(`node ${showValue(name, 60)} has 'inputs' that is not an object`)
      for (const [input, ref] of Object.entries(raw.inputs)) {
        if (typeof ref === 'string') inputs[input] = ref
        else if (Array.isArray(ref) && ref.every(r => typeof r === 'string'))
          inputs[input] = [...(ref as string[])]
        else
          throw lockError(
            `node ${showValue(name, 60)} has input ${showValue(input, 60)} that is neither a node name nor a follows path`
          )
      }
    }
    const node: LockNode = { inputs }
    if (raw.locked !== undefined) {
      if (!isObject(raw.locked))
        throw lockError(`node ${showValue(name, 60)} has 'locked' that is not an object`)
      const lm = raw.locked.lastModified
      if (lm !== undefined) {
        if (typeof lm !== 'number' || !Number.isFinite(lm) || lm < 0)
          throw lockError(
            `node ${showValue(name, 60)} has a 'lastModified' that is not a timestamp`
          )
        node.lastModified = lm
      }
      if (typeof raw.locked.type === 'string') node.type = raw.locked.type
      const locked: LockedFields = { key: canonicalJson(raw.locked) }
      for (const k of LOCKED_STRINGS)
        if (typeof raw.locked[k] === 'string') locked[k] = raw.locked[k] as string
      node.locked = locked
    }
    if (raw.flake === false) node.flake = false
    nodes[name] = node
  }
  if (!(root in nodes))
    throw lockError(`names root node ${showValue(root, 60)}, which is not among its nodes`)
  for (const [name, node] of Object.entries(nodes)) {
    for (const [input, ref] of Object.entries(node.inputs)) {
      if (typeof ref === 'string' && !(ref in nodes)) {
        throw lockError(
          `node ${showValue(name, 60)} has input ${showValue(input, 60)} pointing to a missing node ${showValue(ref, 60)}`
        )
      }
    }
  }
  return { version, root, nodes }
}

/**
 * The node an input path leads to from the root (`['nixpkgs']`, `['home-manager', 'nixpkgs']`),
 * following `follows` paths; undefined when the path leads nowhere (or loops).
 */
export function resolveInput(lock: FlakeLock, path: readonly string[]): string | undefined {
  const walk = (p: readonly string[], depth: number): string | undefined => {
    if (depth > 64) return undefined
    let node = lock.root
    for (const name of p) {
      const ref = lock.nodes[node]?.inputs[name]
      if (ref === undefined) return undefined
      if (typeof ref === 'string') node = ref
      else {
        const target = walk(ref, depth + 1)
        if (target === undefined) return undefined
        node = target
      }
    }
    return node
  }
  return walk(path, 0)
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The root's direct inputs locked more than `maxAgeDays` days before `now`, oldest first.
 * `maxAgeDays` 0 (or less) turns the check off. Inputs that `follows` another input are left out
 * (their revision is the followed input's, reported under its own name); so are inputs whose lock
 * has no `lastModified` (e.g. some `path:` inputs).
 */
export function staleInputs(lock: FlakeLock, now: Date, maxAgeDays: number): StaleInput[] {
  if (!(maxAgeDays > 0)) return []
  const rootNode = lock.nodes[lock.root]
  const out: StaleInput[] = []
  for (const [input, ref] of Object.entries(rootNode.inputs)) {
    if (typeof ref !== 'string') continue
    const lm = lock.nodes[ref]?.lastModified
    if (lm === undefined) continue
    const ageDays = Math.floor((now.getTime() - lm * 1000) / DAY_MS)
    if (ageDays > maxAgeDays) out.push({ input, ageDays, lastModified: new Date(lm * 1000) })
  }
  return out.sort((a, b) => b.ageDays - a.ageDays || a.input.localeCompare(b.input))
}
