/**
 * Reading closures: the store paths a system (or any store path) needs, with each path's NAR size
 * and references, and the package name and version Nix would give each path.
 *
 * `nix path-info --recursive --json` has printed several shapes over the years; `parsePathInfo`
 * recognises each from the data itself (never from the Nix version):
 *  (a) Nix <= 2.18 and Lix: an array of objects `{ path, narSize, references, ... }` with full
 *      store paths (an invalid path printed as `{ path, valid: false }`);
 *  (b) Nix 2.19+: an object keyed by full store path, values `{ narSize, references, ... }`
 *      (`null` for an invalid path); Nix 2.33+ `--json-format 1` is the same shape, each
 *      value also carrying `version: 1` and `storeDir`;
 *  (c) Nix 2.33+ `--json-format 2|3`: `{ version, storeDir, info: { "<hash>-<name>": {...} } }`
 *      with base names (no store directory) in keys and references.
 */
import { ActionError } from './errors.js'
import { nixPathInfoRecursive, nixStoreQuery } from './nix.js'
import { closuresFromDb } from './store-db.js'
import type { Logger } from './log.js'

export interface PathInfo {
  /** Full store path, `/nix/store/<hash>-<name>`. */
  path: string
  /** Size of the path's NAR serialisation, bytes. */
  narSize: number
  /** Full store paths this path refers to (may include itself). */
  references: string[]
}

const DEFAULT_STORE_DIR = '/nix/store'

function bad(problem: string): ActionError {
  return new ActionError(`The store path information from Nix is not usable: ${problem}.`, {
    phase: 'closure'
  })
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Prefixes a base name (`<hash>-<name>`) with the store directory; full paths stay as they are. */
function fullPath(p: string, storeDir: string): string {
  return p.startsWith('/') ? p : `${storeDir.replace(/\/+$/, '')}/${p}`
}

function readInfo(path: string, value: Record<string, unknown>, storeDir: string): PathInfo {
  const narSize = value.narSize
  if (typeof narSize !== 'number' || !Number.isFinite(narSize) || narSize < 0) {
    throw bad(`'${path}' has no valid narSize`)
  }
  const refs = value.references ?? []
  if (!Array.isArray(refs) || refs.some(r => typeof r !== 'string' || r === '')) {
    throw bad(`'${path}' has no valid list of references`)
  }
  return { path, narSize, references: (refs as string[]).map(r => fullPath(r, storeDir)) }
}

/**
 * Parses the output of `nix path-info --recursive --json` in any shape Nix has printed (see the
 * module comment). Invalid paths (`null`, `valid: false`) are skipped. Anything else that does
 * not look like path info throws an ActionError, never another error.
 */
export function parsePathInfo(json: string): PathInfo[] {
  let data: unknown
  try {
    data = JSON.parse(json)
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw bad(`it is not valid JSON (${reason.replace(/\.$/, '')})`)
  }

  const out: PathInfo[] = []
  if (Array.isArray(data)) {
    // (a) the old array shape.
    for (const item of data) {
      if (!isRecord(item) || typeof item.path !== 'string' || item.path === '') {
        throw bad('an entry of the list has no path')
      }
      if (item.valid === false) continue
      const storeDir = typeof item.storeDir === 'string' ? item.storeDir : DEFAULT_STORE_DIR
      out.push(readInfo(fullPath(item.path, storeDir), item, storeDir))
    }
    return out
  }
  if (!isRecord(data)) throw bad('it is neither a list nor an object')

  // (c) the versioned wrapper: `info` holds the per-path objects, `storeDir` their directory.
  let entries: Record<string, unknown> = data
  let storeDir = DEFAULT_STORE_DIR
  if (isRecord(data.info) && typeof data.version === 'number' && !('narSize' in data)) {
    entries = data.info
    if (typeof data.storeDir === 'string' && data.storeDir !== '') storeDir = data.storeDir
  }
  // (b) keyed by path (full in format 1, base names in 2 and 3).
  for (const [key, value] of Object.entries(entries)) {
    if (value === null) continue // an invalid path (Nix 2.19+)
    if (!isRecord(value)) throw bad(`the entry for '${key}' is not an object`)
    if (value.valid === false) continue
    const dir =
      typeof value.storeDir === 'string' && value.storeDir !== '' ? value.storeDir : storeDir
    if (key === '') throw bad('an entry has an empty store path')
    out.push(readInfo(fullPath(key, dir), value, dir))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Names and versions

/** The base name of a store path: `/nix/store/<hash>-glibc-2.37-8` → `glibc-2.37-8`. */
export function storePathName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1)
  // A store path's hash is 32 characters of Nix's base-32; be lenient about anything else.
  if (base.length > 33 && base.charCodeAt(32) === 45 /* - */ && isHashPart(base))
    return base.slice(33)
  const dash = base.indexOf('-')
  return dash >= 0 ? base.slice(dash + 1) : base
}

function isHashPart(base: string): boolean {
  for (let i = 0; i < 32; i++) {
    const c = base.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return false
  }
  return true
}

/**
 * Splits a derivation name like `builtins.parseDrvName`: the name is everything before the first
 * dash that is not followed by a letter, the version the rest. `apache-httpd-2.0.48` →
 * `{ name: 'apache-httpd', version: '2.0.48' }`; `etc` → `{ name: 'etc', version: '' }`.
 */
export function parseDrvName(s: string): { name: string; version: string } {
  for (let i = 0; i < s.length - 1; i++) {
    if (s.charCodeAt(i) === 45 /* - */ && !isAsciiLetter(s.charCodeAt(i + 1))) {
      return { name: s.slice(0, i), version: s.slice(i + 1) }
    }
  }
  return { name: s, version: '' }
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
}

export interface PackageName {
  /** Package name, e.g. `glibc`. */
  name: string
  /** Version, `''` when the path has none (`etc`, `source`, `unit-nginx.service`). */
  version: string
  /** Output suffix that was stripped (`bin`, `dev`, `modules`, ...), `''` for none. */
  output: string
}

/**
 * The output suffix `nix store diff-closures` strips: a final dash followed by lowercase letters
 * only (`-bin`, `-dev`, `-lib`, `-man`, `-modules`, ...) or `-lib32`/`-lib64`.
 */
export const OUTPUT_SUFFIX = /^(.*)-([a-z]+|lib32|lib64)$/

/**
 * The package a store path belongs to, grouped as `nix store diff-closures` groups them: strip
 * the output suffix, then split the rest like `builtins.parseDrvName`. `glibc-2.37-8-bin` →
 * `glibc` `2.37-8` (output `bin`); `linux-6.1.55-modules` → `linux` `6.1.55`.
 *
 * One deliberate difference: the suffix is only stripped when a version remains, so a path
 * without any version keeps its whole name (`foo-lib` stays `foo-lib`, `unit-script-nginx-start`
 * stays whole), where Nix would file them under `foo` and `unit-script-nginx`. For every path
 * with a version the two agree (the suffix dash is followed by a letter, so it never carries
 * the version).
 */
export function packageName(storePathOrName: string): PackageName {
  const base = storePathOrName.includes('/') ? storePathName(storePathOrName) : storePathOrName
  const cut = outputSuffixAt(base)
  if (cut > 0) {
    const stripped = parseDrvName(base.slice(0, cut))
    if (stripped.version !== '') return { ...stripped, output: base.slice(cut + 1) }
  }
  return { ...parseDrvName(base), output: '' }
}

/**
 * Where OUTPUT_SUFFIX would split `base` (the index of the dash), or -1: the same as the regular
 * expression, written out because it runs for every path of every closure.
 */
function outputSuffixAt(base: string): number {
  const dash = base.lastIndexOf('-')
  if (dash <= 0 || dash === base.length - 1) {
    // `(.*)` may be empty: "-bin" splits at 0, which leaves no name and so no version.
    return -1
  }
  const tail = base.slice(dash + 1)
  if (tail === 'lib32' || tail === 'lib64') return dash
  for (let i = 0; i < tail.length; i++) {
    const c = tail.charCodeAt(i)
    if (c < 97 || c > 122) return -1
  }
  return dash
}

// ---------------------------------------------------------------------------------------------
// Querying a store

export interface QueryClosureOptions {
  timeoutMs: number
  logger?: Logger
  /** Another store (`ssh-ng://root@web1`, `file:///cache`, ...); the local store by default. */
  storeUrl?: string
  /** Extra environment for nix (e.g. NIX_CONFIG). */
  env?: Record<string, string | undefined>
  host?: string
}

/** Paths per `nix-store --query --size` call: keeps argv well under the kernel's limit. */
const BATCH = 1000

/**
 * The closure of `storePath` with sizes and references. Runs `nix path-info --recursive --json`;
 * when its output cannot be read (an unknown shape, an old `nix` without the new CLI), falls back
 * to `nix-store`: `--query --requisites` for the paths, `--query --size` in batches for sizes and
 * one `--query --graph` for every path's references.
 */
export async function queryClosure(
  storePath: string,
  opts: QueryClosureOptions
): Promise<PathInfo[]> {
  return (await queryClosures([storePath], opts))[0]
}

/**
 * The closures of several store paths (a before and an after system): from the local store's
 * database when it can answer (store-db.ts), else with one `nix path-info` process: Nix prints the union once, and each closure is then walked from its root through the
 * references. Falls back to `nix-store`, one root at a time, like `queryClosure`.
 */
export async function queryClosures(
  storePaths: readonly string[],
  opts: QueryClosureOptions
): Promise<PathInfo[][]> {
  if (storePaths.length === 0) return []
  if (!opts.storeUrl) {
    // The local store's database answers without starting a process (see store-db.ts).
    const fromDb = closuresFromDb(storePaths, opts.env)
    if (fromDb) return fromDb
  }
  const what =
    storePaths.length === 1
      ? `reading the closure of ${storePaths[0]}`
      : `reading the closures of ${storePaths.join(' and ')}`
  const viaPathInfo = await nixPathInfoRecursive(storePaths, {
    timeoutMs: opts.timeoutMs,
    logger: opts.logger,
    env: opts.env,
    host: opts.host,
    storeUrl: opts.storeUrl,
    what
  })
  if (viaPathInfo.exitCode === 0) {
    try {
      const union = parsePathInfo(viaPathInfo.stdout)
      const closures = storePaths.map(root => closureOf(root, union))
      if (closures.every(c => c !== undefined)) return closures as PathInfo[][]
      opts.logger?.debug('nix path-info --json left out part of a closure; using nix-store instead')
    } catch (err) {
      if (!(err instanceof ActionError)) throw err
      opts.logger?.debug(
        `nix path-info --json gave output we cannot read (${err.message}); using nix-store instead`
      )
    }
  } else {
    opts.logger?.debug(
      `nix path-info failed (exit ${viaPathInfo.exitCode}); using nix-store instead`
    )
  }
  const out: PathInfo[][] = []
  for (const p of storePaths) out.push(await queryClosureNixStore(p, opts))
  return out
}

/**
 * The closure of `root` within `infos` (every path reachable through references), in the order
 * of `infos`; undefined when `root` or a path it reaches is not in `infos`.
 */
export function closureOf(root: string, infos: readonly PathInfo[]): PathInfo[] | undefined {
  const byPath = new Map<string, PathInfo>()
  for (const i of infos) if (!byPath.has(i.path)) byPath.set(i.path, i)
  if (!byPath.has(root)) return undefined
  const reached = new Set<string>([root])
  const stack = [root]
  while (stack.length > 0) {
    const info = byPath.get(stack.pop()!)
    if (!info) return undefined
    for (const r of info.references) {
      if (!reached.has(r)) {
        reached.add(r)
        stack.push(r)
      }
    }
  }
  if (reached.size === byPath.size) return [...byPath.values()]
  return [...byPath.values()].filter(i => reached.has(i.path))
}

/** The `nix-store` fallback of `queryClosure` (exported for tests). */
export async function queryClosureNixStore(
  storePath: string,
  opts: QueryClosureOptions
): Promise<PathInfo[]> {
  const common = {
    timeoutMs: opts.timeoutMs,
    logger: opts.logger,
    env: opts.env,
    host: opts.host,
    storeUrl: opts.storeUrl
  }
  const what = `reading the closure of ${storePath}`
  const requisites = await nixStoreQuery('--requisites', [storePath], {
    ...common,
    what
  })
  const paths = requisites.stdout.split('\n').filter(l => l !== '')
  if (paths.length === 0)
    throw new ActionError(`Nix printed no closure for ${storePath}.`, {
      host: opts.host,
      phase: 'closure'
    })

  const sizes = new Map<string, number>()
  for (let i = 0; i < paths.length; i += BATCH) {
    const batch = paths.slice(i, i + BATCH)
    const res = await nixStoreQuery('--size', batch, {
      ...common,
      what
    })
    const lines = res.stdout.split('\n').filter(l => l !== '')
    if (lines.length !== batch.length) {
      throw new ActionError(
        `nix-store printed ${lines.length} sizes for ${batch.length} store paths of ${storePath}.`,
        {
          host: opts.host,
          phase: 'closure'
        }
      )
    }
    batch.forEach((p, j) => sizes.set(p, Number(lines[j])))
  }

  // `--graph` prints one edge per reference, `"<ref>" -> "<referrer>"`, as base names.
  const storeDir = storePath.slice(0, storePath.lastIndexOf('/'))
  const graph = await nixStoreQuery('--graph', [storePath], {
    ...common,
    what
  })
  const refs = new Map<string, string[]>(paths.map(p => [p, []]))
  const edge = /^"([^"]+)" -> "([^"]+)"/
  for (const line of graph.stdout.split('\n')) {
    const m = edge.exec(line)
    if (!m) continue
    const referrer = fullPath(m[2], storeDir)
    const list = refs.get(referrer)
    if (list) list.push(fullPath(m[1], storeDir))
  }
  return paths.map(p => ({ path: p, narSize: sizes.get(p) ?? 0, references: refs.get(p) ?? [] }))
}
