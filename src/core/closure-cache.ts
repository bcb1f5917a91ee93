/**
 * The core side of the closure cache: a system's closure as a Nix binary cache in a folder
 * (`file://<dir>`), which the GitHub adapter (`src/actions/actions-cache.ts`) saves to and
 * restores from the Actions cache, so a later job can deploy a closure without rebuilding it.
 *
 * One cache entry per toplevel, keyed by the store path's hash part: the key names exactly one
 * closure, entries are immutable, and a deploy job knows the key from the store path alone.
 * Per-path entries would share paths between hosts and commits, but cost one cache request per
 * store path (thousands for a NixOS system) on save and restore, against GitHub's rate limits.
 *
 * NARs are compressed with zstd (supported by file:// stores since Nix 2.5; checked with 2.8).
 *
 * Nothing is imported unchecked: an Actions cache entry's key is predictable, and any workflow of
 * the repository that runs on the default branch (or a pull request's own scope) can write one.
 * Builds sign the closure (`signing-key`) before saving it, and `importClosure` requires a
 * signature by one of the deploy's `trusted-public-keys` on every path, as the binary cache does
 * (binary-cache.ts): `nix copy` with `require-sigs`, then `nix store verify` of the whole closure.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ActionError } from './errors.js'
import type { Logger } from './log.js'
import { fetchVerified } from './binary-cache.js'
import { nixCopy, nixPathsValid } from './nix.js'

export const CLOSURE_CACHE_PREFIX = 'nix-deploy-closure-'
const HASH_PART = /^[0-9a-df-np-sv-z]{32}$/

/** The hash part of a store path (`/nix/store/<hash>-name` → `<hash>`). */
export function storePathHash(storePath: string): string {
  const base = storePath.slice(storePath.lastIndexOf('/') + 1)
  const hash = base.slice(0, 32)
  if (!HASH_PART.test(hash) || base[32] !== '-') {
    throw new ActionError(`${storePath} is not a store path (no 32-character hash).`, {
      phase: 'cache'
    })
  }
  return hash
}

/** The cache key of a closure: `nix-deploy-closure-<hash part of the store path>`. */
export function closureCacheKey(storePath: string): string {
  return `${CLOSURE_CACHE_PREFIX}${storePathHash(storePath)}`
}

/**
 * The folder the binary cache of `storePath` lives in while it is saved or restored. Its path is
 * part of the Actions cache's version, so save and restore must compute the same one:
 * `<tempRoot>/nix-deploy/closure-<hash>` (RUNNER_TEMP is the same on every job of a runner image).
 */
export function closureCacheDir(storePath: string, tempRoot: string): string {
  return path.join(tempRoot, 'nix-deploy', `closure-${storePathHash(storePath)}`)
}

export type Compression = 'zstd' | 'xz' | 'none'

/** `file://<dir>` with the store settings for writing (`compression`). */
export function fileStoreUrl(dir: string, compression?: Compression): string {
  if (!path.isAbsolute(dir) || /[\s?#]/.test(dir)) {
    throw new ActionError(
      `The cache folder '${dir}' must be an absolute path without spaces, '?' or '#'.`,
      {
        phase: 'cache'
      }
    )
  }
  return `file://${dir}${compression ? `?compression=${compression}` : ''}`
}

export interface CacheCallOptions {
  logger?: Logger
  host?: string
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/**
 * Writes the closure of `storePath` into a fresh binary cache in `dir` (emptied first).
 * Returns the number of bytes written.
 */
export async function exportClosure(
  storePath: string,
  dir: string,
  opts: CacheCallOptions & { compression?: Compression } = {}
): Promise<number> {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  await nixCopy([storePath], {
    to: fileStoreUrl(dir, opts.compression ?? 'zstd'),
    logger: opts.logger,
    host: opts.host,
    env: opts.env,
    timeoutMs: opts.timeoutMs,
    phase: 'cache',
    what: `writing the closure of ${storePath} to the cache folder`
  })
  return folderBytes(dir)
}

/**
 * Imports the closure of `storePath` from the binary cache in `dir` into a store (the local store,
 * or `store`, e.g. a chroot store `/tmp/root` or `ssh-ng://…`). Fails when the folder lacks it.
 */
export async function importClosure(
  storePath: string,
  dir: string,
  opts: CacheCallOptions & { store?: string; trustedKeys: string[] }
): Promise<void> {
  if (opts.trustedKeys.length === 0) {
    throw new ActionError(
      `the closure of ${storePath} was not imported from the Actions cache: give trusted-public-keys (the public key of build's signing-key) to check its signatures`,
      { phase: 'cache', host: opts.host }
    )
  }
  await fetchVerified(storePath, [fileStoreUrl(dir)], opts.trustedKeys, {
    store: opts.store,
    logger: opts.logger,
    host: opts.host,
    env: opts.env
  })
}

/** Whether `storePath` is already valid in the store (the local one, or `store`). */
export async function hasPath(
  storePath: string,
  opts: CacheCallOptions & { store?: string } = {}
): Promise<boolean> {
  const valid = await nixPathsValid([storePath], {
    store: opts.store,
    logger: opts.logger,
    env: opts.env,
    phase: 'cache'
  })
  return valid.get(storePath) === true
}

/** Total size of the files under `dir`, bytes. */
export function folderBytes(dir: string): number {
  let total = 0
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) total += fs.statSync(p).size
    }
  }
  if (fs.existsSync(dir)) walk(dir)
  return total
}
