/**
 * The closure cache over the GitHub Actions cache (@actions/cache 6): `saveClosure` after a build,
 * `restoreClosure` in a later job (deploy) that needs the closure without rebuilding it. The
 * binary cache folder and the nix side are `src/core/closure-cache.ts`.
 *
 * The cache is an optimisation: nothing here throws. A failure is a warning and a status; the
 * caller goes on (deploy then builds, or copies from wherever the closure is).
 */
import fs from 'node:fs'
import path from 'node:path'
import * as cache from '@actions/cache'
import { describeError } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import {
  closureCacheDir,
  closureCacheKey,
  exportClosure,
  folderBytes,
  hasPath,
  importClosure
} from '../core/closure-cache.js'
import { formatBytes } from '../core/diff.js'
import type { RestoreResult, SaveResult } from '../core/model.js'
import { runnerTemp } from './runtime.js'

export interface ClosureCacheOptions {
  logger: Logger
  /** Where the cache folder is made (default RUNNER_TEMP, then the system's temporary folder). */
  tempRoot?: string
  /** The host, for messages. */
  host?: string
  /** Extra environment for nix. */
  env?: Record<string, string | undefined>
}

export type { RestoreResult, SaveResult }

function tempRootOf(opts: ClosureCacheOptions): string {
  return opts.tempRoot ?? runnerTemp()
}

function who(opts: ClosureCacheOptions): string {
  return opts.host ? `${opts.host}: ` : ''
}

/**
 * Saves the closure of `storePath` under `nix-deploy-closure-<hash>` unless an entry with that key
 * exists already (looked up first, so a closure is uploaded once, however many jobs build it).
 */
export async function saveClosure(
  storePath: string,
  opts: ClosureCacheOptions
): Promise<SaveResult> {
  let key = ''
  let dir = ''
  try {
    key = closureCacheKey(storePath)
    if (!cache.isFeatureAvailable()) {
      const message = 'The GitHub Actions cache is not available here; the closure was not cached.'
      opts.logger.info(message)
      return { status: 'unavailable', key, message }
    }
    dir = closureCacheDir(storePath, tempRootOf(opts))
    const found = await cache.restoreCache([dir], key, [], { lookupOnly: true })
    if (found === key) {
      opts.logger.info(`The closure is already in the Actions cache (${key}): nothing to save.`)
      return { status: 'exists', key }
    }
    const bytes = await exportClosure(storePath, dir, {
      logger: opts.logger,
      host: opts.host,
      env: opts.env
    })
    const id = await cache.saveCache([dir], key)
    if (id === -1) {
      // @actions/cache logged why (a race with another job saving the same key, a read-only token, ...).
      const message = `${who(opts)}the closure was not saved to the Actions cache (${key}); see the messages above.`
      opts.logger.warning(message)
      return { status: 'failed', key, bytes, message }
    }
    opts.logger.info(
      `Saved the closure to the Actions cache as ${key} (${formatBytes(bytes)} of NARs).`
    )
    return { status: 'saved', key, bytes }
  } catch (err) {
    const message = `${who(opts)}saving the closure to the Actions cache failed: ${describeError(err).replace(/\.$/, '')}. The build itself succeeded.`
    opts.logger.warning(message)
    return { status: 'failed', key, message }
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Makes the closure of `storePath` valid in a store (the local one, or `store`: a chroot store
 * folder, `ssh-ng://…`) from the Actions cache entry `saveClosure` wrote. Does nothing when the
 * store already has it (`present`); `miss` when there is no entry (the caller builds instead).
 */
export async function restoreClosure(
  storePath: string,
  opts: ClosureCacheOptions & { store?: string; trustedKeys: string[] }
): Promise<RestoreResult> {
  let key = ''
  let dir = ''
  try {
    key = closureCacheKey(storePath)
    if (await hasPath(storePath, { store: opts.store, logger: opts.logger, env: opts.env })) {
      opts.logger.info(`${storePath} is already in the store: nothing to restore.`)
      return { status: 'present', key }
    }
    if (!cache.isFeatureAvailable()) {
      const message =
        'The GitHub Actions cache is not available here; the closure was not restored.'
      opts.logger.info(message)
      return { status: 'unavailable', key, message }
    }
    dir = closureCacheDir(storePath, tempRootOf(opts))
    fs.rmSync(dir, { recursive: true, force: true })
    const found = await cache.restoreCache([dir], key)
    if (found !== key) {
      opts.logger.info(`The closure of ${storePath} is not in the Actions cache (${key}).`)
      return { status: 'miss', key }
    }
    if (!fs.existsSync(path.join(dir, 'nix-cache-info'))) {
      // The archive holds paths relative to GITHUB_WORKSPACE: a job with another workspace
      // layout extracts them elsewhere.
      throw new Error(`the entry ${key} did not restore the binary cache folder ${dir}`)
    }
    opts.logger.info(
      `Restored ${key} (${formatBytes(folderBytes(dir))}); importing it into the store.`
    )
    await importClosure(storePath, dir, {
      store: opts.store,
      trustedKeys: opts.trustedKeys,
      logger: opts.logger,
      host: opts.host,
      env: opts.env
    })
    return { status: 'restored', key }
  } catch (err) {
    const message = `${who(opts)}restoring the closure from the Actions cache failed: ${describeError(err).replace(/\.$/, '')}.`
    opts.logger.warning(message)
    return { status: 'failed', key, message }
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  }
}
