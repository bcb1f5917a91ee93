/**
 * `nix flake check --keep-going`, flake.lock freshness, and the flake's formatter.
 * Returns one plain record; adapters turn it into annotations, a summary and outputs.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ActionError } from './errors.js'
import { staleInputs, parseFlakeLock, type StaleInput } from './flake-lock.js'
import { flakeHostIndex, indexNames } from './flake.js'
import { locateFlake } from './local-flake.js'
import type { Logger } from './log.js'
import {
  nixEvalJsonOptional,
  nixFlakeCheck,
  nixFlakeMetadata,
  nixFlakeSources,
  nixFmt,
  type FlakeMetadata
} from './nix.js'
import { parseNixErrors, sameContentAs, type NixError } from './nix-errors.js'
import { run } from './process.js'

export interface CheckOptions {
  flake: string
  lockMaxAgeDays: number
  format: boolean
  cwd: string
  logger?: Logger
  now?: Date
}

export interface CheckReport {
  result: 'passed' | 'failed'
  errors: NixError[]
  /** The last lines of nix's output when it failed without a parsable error. */
  failureTail: string
  staleInputs: StaleInput[]
  /** Files the formatter changed (repository-relative); empty when `format` is off or all is formatted. */
  unformatted: string[]
  formatChecked: boolean
  hosts: string[]
  checks: string[]
  durationMs: number
}

export async function checkFlake(opts: CheckOptions): Promise<CheckReport> {
  const started = Date.now()
  const log = opts.logger
  const local = await locateFlake(opts.flake, opts.cwd)

  // What the flake offers, for the summary. Failure here is reported by flake check itself.
  const outline = await nixEvalJsonOptional<{ hosts: string[]; checks: string[] }>(
    `${opts.flake}#checks`,
    {
      apply:
        'cs: { hosts = []; checks = builtins.concatLists (builtins.attrValues (builtins.mapAttrs (s: v: map (n: s + "." + n) (builtins.attrNames v)) cs)); }',
      cwd: opts.cwd,
      logger: log
    }
  ).catch(() => undefined)
  // Hosts of nixosConfigurations, a colmena hive and deploy.nodes (names only).
  const hosts = await flakeHostIndex(opts.flake, { cwd: opts.cwd, logger: log })
    .then(index => indexNames(index))
    .catch(() => undefined)

  const result = await nixFlakeCheck(opts.flake, {
    cwd: opts.cwd,
    logger: log,
    onStderrLine: line => log?.info(line)
  })
  if (result.timedOut)
    throw new ActionError(`nix flake check on '${opts.flake}' timed out.`, { phase: 'check' })

  let metadata: FlakeMetadata | undefined
  if (opts.lockMaxAgeDays > 0 || result.exitCode !== 0) {
    metadata = await nixFlakeMetadata(opts.flake, { cwd: opts.cwd, logger: log }).catch(
      () => undefined
    )
  }
  let errors: NixError[] = []
  if (result.exitCode !== 0) {
    // Only positions inside the flake's own source become annotations: where is it, and where
    // is each input (nixpkgs' lib/modules.nix is not the user's lib/modules.nix)?
    const sources = await nixFlakeSources(opts.flake, { cwd: opts.cwd, logger: log, metadata })
    errors = parseNixErrors(result.stderr, {
      repoRoot: local?.repoRoot ?? undefined,
      flakeSubdir: local?.subdir ?? '',
      sources,
      fileExists: local?.repoRoot ? rel => existsSync(join(local.repoRoot!, rel)) : undefined,
      sameAsRepo: local?.repoRoot ? sameContentAs(local.repoRoot) : undefined
    })
  }

  let stale: StaleInput[] = []
  if (opts.lockMaxAgeDays > 0 && metadata?.locks) {
    const lock = parseFlakeLock(JSON.stringify(metadata.locks))
    stale = staleInputs(lock, opts.now ?? new Date(), opts.lockMaxAgeDays)
  }

  let unformatted: string[] = []
  if (opts.format) {
    if (!local?.repoRoot) {
      throw new ActionError(
        `Input 'format' needs a flake in a local git checkout, but 'flake' is '${opts.flake}'.`,
        {
          input: 'format'
        }
      )
    }
    unformatted = await formatterChanges(opts.flake, local.dir, local.repoRoot, log)
  }

  const failed = result.exitCode !== 0 || unformatted.length > 0
  const tail =
    result.exitCode !== 0 && errors.length === 0
      ? result.stderr.trim().split('\n').slice(-20).join('\n')
      : ''
  return {
    result: failed ? 'failed' : 'passed',
    errors,
    failureTail: tail,
    staleInputs: stale,
    unformatted,
    formatChecked: opts.format,
    hosts: hosts ?? [],
    checks: outline?.checks ?? [],
    durationMs: Date.now() - started
  }
}

/**
 * Runs the flake's formatter (`nix fmt -- .`) in the flake's directory and lists the files it
 * changed. Files that were clean before are restored, so later steps see the tree as it was.
 */
async function formatterChanges(
  flake: string,
  dir: string,
  root: string,
  log?: Logger
): Promise<string[]> {
  const snapshot = async () => {
    const r = await run(
      ['git', '-C', root, 'status', '--porcelain=v1', '-z', '--untracked-files=all'],
      { timeoutMs: 60_000 }
    )
    const entries = r.stdout.split('\0').filter(Boolean)
    const files = entries.map(e => e.slice(3))
    const hashes = new Map<string, string>()
    if (files.length > 0) {
      const h = await run(['git', '-C', root, 'hash-object', '--', ...files], {
        timeoutMs: 60_000,
        check: false
      })
      const lines = h.stdout.trim().split('\n')
      files.forEach((f, i) => hashes.set(f, lines[i] ?? ''))
    }
    return hashes
  }
  const before = await snapshot()
  const fmt = await nixFmt(dir, { logger: log, onStderrLine: line => log?.info(line) })
  if (fmt.exitCode !== 0) {
    if (/does not provide attribute 'formatter/.test(fmt.stderr)) {
      throw new ActionError(
        `Input 'format' is true, but the flake '${flake}' has no formatter output.`,
        { input: 'format' }
      )
    }
    throw new ActionError(
      `The flake's formatter failed (nix fmt exited with code ${fmt.exitCode}).`,
      { phase: 'format' }
    )
  }
  const after = await snapshot()
  const changed = [...after.keys()].filter(f => before.get(f) !== after.get(f)).sort()
  const wasClean = changed.filter(f => !before.has(f))
  if (wasClean.length > 0) {
    await run(['git', '-C', root, 'checkout', '--', ...wasClean], {
      timeoutMs: 60_000,
      check: false
    })
  }
  return changed
}
