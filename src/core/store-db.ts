/**
 * Reading closures from the local store's own database, read-only, without starting a `nix`
 * process. Starting `nix path-info --recursive --json` costs about as much as the whole of
 * `nix store diff-closures`, so the diff action reads the same records straight from the SQLite
 * database that Nix keeps (`<state dir>/db/db.sqlite`, schema version 10 since Nix 2.0: the tables
 * `ValidPaths(id, path, narSize, …)` and `Refs(referrer, reference)`).
 *
 * Only a fast path: every function returns null whenever it cannot answer with certainty (no
 * `node:sqlite` in this Node, another store is configured, a schema it does not know, a database
 * it may not open, a path it does not find), and the caller then asks `nix` as before. The
 * database is opened read-only and read inside one transaction, so a concurrent writer is seen
 * either wholly or not at all.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { PathInfo } from './closure.js'

const STORE_DIR = '/nix/store'
const SCHEMA = '10'

interface Statement {
  all(...params: unknown[]): Record<string, unknown>[]
  /** Rows as arrays rather than objects (Node 24 and 22.16). */
  setReturnArrays?(enabled: boolean): void
}
interface Database {
  prepare(sql: string): Statement
  exec(sql: string): void
  close(): void
}
type SqliteModule = { DatabaseSync: new (file: string, opts: { readOnly: boolean }) => Database }

/** The effective value of a variable: the call's own environment first, then the process's. */
function envOf(env: Record<string, string | undefined> | undefined, name: string): string {
  if (env && name in env) return env[name] ?? ''
  return process.env[name] ?? ''
}

/** A `store =` setting in nix.conf text (another store is configured: not ours to read). */
const STORE_SETTING = /^\s*store\s*=/m

/** The local store's database file, when this process would use the local store at /nix/store. */
export function localStoreDb(env?: Record<string, string | undefined>): string | null {
  const remote = envOf(env, 'NIX_REMOTE')
  if (remote && remote !== 'local' && remote !== 'daemon' && remote !== 'auto') return null
  const storeDir = envOf(env, 'NIX_STORE_DIR') || envOf(env, 'NIX_STORE')
  if (storeDir && storeDir !== STORE_DIR) return null
  if (STORE_SETTING.test(envOf(env, 'NIX_CONFIG'))) return null
  const confDir = envOf(env, 'NIX_CONF_DIR') || '/etc/nix'
  const userConf = envOf(env, 'NIX_USER_CONF_FILES')
  for (const file of [path.join(confDir, 'nix.conf'), ...userConf.split(':').filter(Boolean)]) {
    try {
      if (STORE_SETTING.test(fs.readFileSync(file, 'utf8'))) return null
    } catch {
      /* no such file */
    }
  }
  const stateDir = envOf(env, 'NIX_STATE_DIR') || '/nix/var/nix'
  try {
    if (fs.readFileSync(path.join(stateDir, 'db', 'schema'), 'utf8').trim() !== SCHEMA) return null
  } catch {
    return null
  }
  return path.join(stateDir, 'db', 'db.sqlite')
}

function sqlite(): SqliteModule | null {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule
  if (!get) return null
  try {
    return (get('node:sqlite') as SqliteModule | undefined) ?? null
  } catch {
    return null
  }
}

function withDb<T>(file: string, fn: (db: Database) => T): T | null {
  const mod = sqlite()
  if (!mod) return null
  let db: Database | null = null
  try {
    db = new mod.DatabaseSync(file, { readOnly: true })
    db.exec('BEGIN')
    try {
      return fn(db)
    } finally {
      db.exec('COMMIT')
    }
  } catch {
    return null
  } finally {
    try {
      db?.close()
    } catch {
      /* closed */
    }
  }
}

const isStorePath = (p: string) =>
  p.startsWith(`${STORE_DIR}/`) && !p.slice(STORE_DIR.length + 1).includes('/')

/**
 * The closures of `roots` (each walked from its root, as `queryClosures` returns them), or null
 * when the database cannot answer for every root.
 */
export function closuresFromDb(
  roots: readonly string[],
  env?: Record<string, string | undefined>
): PathInfo[][] | null {
  if (roots.length === 0 || !roots.every(isStorePath)) return null
  const file = localStoreDb(env)
  if (!file) return null
  return withDb(file, db => {
    const marks = roots.map(() => '?').join(', ')
    const closure = `WITH RECURSIVE closure(id) AS (
        SELECT id FROM ValidPaths WHERE path IN (${marks})
        UNION SELECT r.reference FROM Refs r JOIN closure c ON r.referrer = c.id)`
    // One walk of the union of the closures, in path order; each path's references come with it
    // as a list of ids. Rows as arrays where this Node can (no object per row to build).
    const statement = db.prepare(
      `${closure} SELECT v.id, v.path, v.narSize,
         (SELECT group_concat(r.reference) FROM Refs r WHERE r.referrer = v.id)
       FROM closure c JOIN ValidPaths v ON v.id = c.id ORDER BY v.path`
    )
    statement.setReturnArrays?.(true)
    const rows = statement.all(...roots) as unknown as (unknown[] | Record<string, unknown>)[]
    const n = rows.length
    const paths: string[] = new Array(n)
    const sizes: number[] = new Array(n)
    const refLists: string[] = new Array(n)
    const rankOf = new Map<number, number>()
    for (let i = 0; i < n; i++) {
      const row = rows[i]
      const [id, p, narSize, refs] = Array.isArray(row) ? row : Object.values(row)
      if (typeof p !== 'string' || typeof narSize !== 'number') return null
      paths[i] = p
      sizes[i] = narSize
      refLists[i] = refs === null ? '' : String(refs)
      rankOf.set(Number(id), i)
    }
    // The references as ranks (positions in path order), all in one array, each path's slice
    // sorted (natively: a typed array sorts numbers without a comparator), so that each list is
    // in path order, as Nix lists them.
    const first = new Int32Array(n + 1)
    let edges = new Int32Array(4 * n + 16)
    let m = 0
    for (let i = 0; i < n; i++) {
      first[i] = m
      if (refLists[i] === '') continue
      for (const id of refLists[i].split(',')) {
        const rank = rankOf.get(Number(id))
        if (rank === undefined) return null
        if (m === edges.length) {
          const grown = new Int32Array(2 * m)
          grown.set(edges)
          edges = grown
        }
        edges[m++] = rank
      }
      edges.subarray(first[i], m).sort()
    }
    first[n] = m
    const infos: PathInfo[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const references: string[] = new Array(first[i + 1] - first[i])
      for (let j = first[i], k = 0; j < first[i + 1]; j++, k++) references[k] = paths[edges[j]]
      infos[i] = { path: paths[i], narSize: sizes[i], references }
    }
    const out: PathInfo[][] = []
    for (const root of roots) {
      const start = paths.indexOf(root)
      if (start < 0) return null
      const reached = new Uint8Array(n)
      reached[start] = 1
      const stack = [start]
      while (stack.length > 0) {
        const i = stack.pop()!
        for (let j = first[i]; j < first[i + 1]; j++) {
          const r = edges[j]
          if (reached[r] === 0) {
            reached[r] = 1
            stack.push(r)
          }
        }
      }
      const closure: PathInfo[] = []
      for (let i = 0; i < n; i++) if (reached[i] === 1) closure.push(infos[i])
      out.push(closure)
    }
    return out
  })
}

/** Whether each path is valid in the local store, or null when the database cannot answer. */
export function validFromDb(
  paths: readonly string[],
  env?: Record<string, string | undefined>
): Map<string, boolean> | null {
  if (paths.length === 0 || !paths.every(isStorePath)) return null
  const file = localStoreDb(env)
  if (!file) return null
  return withDb(file, db => {
    const found = new Set(
      db
        .prepare(`SELECT path FROM ValidPaths WHERE path IN (${paths.map(() => '?').join(', ')})`)
        .all(...paths)
        .map(r => String(r.path))
    )
    return new Map(paths.map(p => [p, found.has(p)]))
  })
}
