/**
 * Every Nix invocation of the suite. Nothing else builds a `nix` argv: quoting of attribute
 * paths, JSON parsing and the handling of differences between Nix versions live here.
 */
import { ActionError } from './errors.js'
import { commandFailed, run, type RunResult } from './process.js'
import type { Logger } from './log.js'
import { validFromDb } from './store-db.js'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE

export interface NixCallOptions {
  logger?: Logger
  cwd?: string
  timeoutMs?: number
  host?: string
  phase?: string
  what?: string
  onStderrLine?: (line: string) => void
  env?: Record<string, string | undefined>
}

/**
 * `nix` with the experimental features the suite uses turned on for this call, so it works on an
 * installation whose nix.conf does not enable them (the default of upstream Nix).
 */
export const NIX = ['nix', '--extra-experimental-features', 'nix-command flakes'] as const

/** A Nix string literal for `s` (used only for validated names embedded in --apply expressions). */
export function nixString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${')}"`
}

/** One attribute-path element, quoted when it is not a plain identifier (`"web.example.com"`). */
export function attrName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) ? name : nixString(name)
}

/** `<flake>#nixosConfigurations.<host>.config.system.build.toplevel` */
export function toplevelInstallable(flake: string, host: string): string {
  return `${flake}#nixosConfigurations.${attrName(host)}.config.system.build.toplevel`
}

/** A flake reference pinned to a git revision of the repository at `repoRoot` (no second checkout). */
export function flakeAtRevision(repoRoot: string, rev: string, subdir: string): string {
  const params = new URLSearchParams({ rev })
  if (subdir && subdir !== '.') params.set('dir', subdir)
  return `git+file://${repoRoot}?${params.toString()}`
}

function parseJson<T>(text: string, what: string, opts: NixCallOptions): T {
  try {
    return JSON.parse(text) as T
  } catch {
    throw new ActionError(
      `${opts.host ? `${opts.host}: ` : ''}${what} printed output that is not valid JSON.`,
      {
        host: opts.host,
        phase: opts.phase
      }
    )
  }
}

/** `nix eval --json <installable> [--apply fn]`, parsed. */
export async function nixEvalJson<T>(
  installable: string,
  opts: NixCallOptions & { apply?: string }
): Promise<T> {
  return (await evalJson<T>(installable, opts, false)) as T
}

/** Like nixEvalJson, but an attribute the flake does not provide gives `undefined`. */
export async function nixEvalJsonOptional<T>(
  installable: string,
  opts: NixCallOptions & { apply?: string }
): Promise<T | undefined> {
  return evalJson<T>(installable, opts, true)
}

async function evalJson<T>(
  installable: string,
  opts: NixCallOptions & { apply?: string },
  optional: boolean
): Promise<T | undefined> {
  const argv = [...NIX, 'eval', '--json', installable]
  if (opts.apply) argv.push('--apply', opts.apply)
  const result = await run(argv, {
    timeoutMs: opts.timeoutMs ?? HOUR,
    cwd: opts.cwd,
    logger: opts.logger,
    check: false,
    env: opts.env
  })
  if (result.exitCode === 0) {
    return parseJson<T>(result.stdout, opts.what ?? `nix eval ${installable}`, opts)
  }
  if (optional && /does not provide attribute/.test(result.stderr)) return undefined
  throw commandFailed(result, {
    what: opts.what ?? `evaluating ${installable}`,
    host: opts.host,
    phase: opts.phase ?? 'evaluate',
    timeoutMs: opts.timeoutMs ?? HOUR
  })
}

export interface BuildResult {
  drvPath: string
  outputs: Record<string, string>
}

/** `nix build --json --no-link` (works on Nix 2.8 and today's Nix, unlike --print-out-paths). */
export async function nixBuild(
  installables: string[],
  opts: NixCallOptions & { extraArgs?: string[] }
): Promise<BuildResult[]> {
  const argv = [
    ...NIX,
    'build',
    '--json',
    '--no-link',
    '--print-build-logs',
    ...(opts.extraArgs ?? []),
    ...installables
  ]
  const result = await run(argv, {
    timeoutMs: opts.timeoutMs ?? 6 * HOUR,
    cwd: opts.cwd,
    logger: opts.logger,
    host: opts.host,
    phase: opts.phase ?? 'build',
    what: opts.what ?? `building ${installables.join(' ')}`,
    onStderrLine: opts.onStderrLine,
    env: opts.env
  })
  const parsed = parseJson<unknown>(result.stdout, 'nix build', opts)
  if (!Array.isArray(parsed))
    throw new ActionError('nix build --json printed something other than a list.', {
      phase: 'build'
    })
  return parsed.map(item => {
    const o = item as { drvPath?: unknown; outputs?: unknown }
    if (typeof o.drvPath !== 'string' || typeof o.outputs !== 'object' || o.outputs === null) {
      throw new ActionError('nix build --json printed an entry without drvPath and outputs.', {
        phase: 'build'
      })
    }
    return { drvPath: o.drvPath, outputs: o.outputs as Record<string, string> }
  })
}

/** `nix flake check --keep-going`; never throws on a failed check, the caller reads the result. */
export async function nixFlakeCheck(flake: string, opts: NixCallOptions): Promise<RunResult> {
  return run([...NIX, 'flake', 'check', '--keep-going', '--print-build-logs', flake], {
    timeoutMs: opts.timeoutMs ?? 6 * HOUR,
    cwd: opts.cwd,
    logger: opts.logger,
    check: false,
    onStderrLine: opts.onStderrLine,
    env: opts.env
  })
}

export interface FlakeMetadata {
  /** The store path of the flake's source. */
  path: string
  /** The flake's own (resolved) URL. */
  url: string
  locks?: unknown
}

export async function nixFlakeMetadata(
  flake: string,
  opts: NixCallOptions
): Promise<FlakeMetadata> {
  const result = await run([...NIX, 'flake', 'metadata', '--json', flake], {
    timeoutMs: opts.timeoutMs ?? 10 * MINUTE,
    cwd: opts.cwd,
    logger: opts.logger,
    phase: 'evaluate',
    what: `reading the flake '${flake}'`,
    env: opts.env
  })
  const parsed = parseJson<Record<string, unknown>>(result.stdout, 'nix flake metadata', opts)
  const path = typeof parsed.path === 'string' ? parsed.path : ''
  const url =
    typeof parsed.url === 'string'
      ? parsed.url
      : typeof parsed.resolvedUrl === 'string'
        ? parsed.resolvedUrl
        : flake
  return { path, url, locks: parsed.locks }
}

/**
 * `nix copy` between stores: `from` and `to` are store URLs (`file:///dir?compression=zstd`,
 * `ssh-ng://root@web1`, a local chroot store `/tmp/store`); either may be left out for the local
 * store. `noCheckSigs` accepts unsigned paths (our own builds, carried through a cache we wrote).
 */
export async function nixCopy(
  paths: string[],
  opts: NixCallOptions & {
    from?: string
    to?: string
    noCheckSigs?: boolean
    substituteOnDestination?: boolean
  }
): Promise<RunResult> {
  const argv: string[] = [...NIX, 'copy']
  if (opts.from) argv.push('--from', opts.from)
  if (opts.to) argv.push('--to', opts.to)
  if (opts.noCheckSigs) argv.push('--no-check-sigs')
  if (opts.substituteOnDestination) argv.push('--substitute-on-destination')
  argv.push(...paths)
  return run(argv, {
    timeoutMs: opts.timeoutMs ?? 2 * HOUR,
    cwd: opts.cwd,
    logger: opts.logger,
    host: opts.host,
    phase: opts.phase ?? 'copy',
    what: opts.what ?? `copying ${paths.join(' ')}`,
    onStderrLine: opts.onStderrLine,
    env: opts.env
  })
}

/**
 * Whether each store path is valid (present and registered) in a store (the local one unless
 * `store` is given). The local store's database answers when it can (store-db.ts), else one
 * `nix path-info` process; never throws for an invalid path.
 */
export async function nixPathsValid(
  paths: string[],
  opts: NixCallOptions & { store?: string }
): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>(paths.map(p => [p, false]))
  if (paths.length === 0) return out
  if (!opts.store) {
    const fromDb = validFromDb(paths, opts.env)
    if (fromDb) return fromDb
  }
  const argv: string[] = [...NIX, 'path-info', '--json']
  if (opts.store) argv.push('--store', opts.store)
  argv.push(...paths)
  const result = await run(argv, {
    timeoutMs: opts.timeoutMs ?? 10 * MINUTE,
    cwd: opts.cwd,
    logger: opts.logger,
    check: false,
    env: opts.env
  })
  if (result.exitCode !== 0) {
    // Nix stops at the first invalid path ("path '…' is not valid"): ask one at a time.
    if (paths.length > 1) {
      for (const p of paths) out.set(p, (await nixPathsValid([p], opts)).get(p) ?? false)
      return out
    }
    if (/is not valid|does not exist|not a valid store path/i.test(result.stderr)) return out
    throw commandFailed(result, {
      what: opts.what ?? `checking ${paths[0]}`,
      host: opts.host,
      phase: opts.phase ?? 'closure',
      timeoutMs: opts.timeoutMs ?? 10 * MINUTE
    })
  }
  // Old shape: an array of { path, valid? }; new shape: an object keyed by path (null = invalid).
  const data = parseJson<unknown>(result.stdout, 'nix path-info', opts)
  if (Array.isArray(data)) {
    for (const item of data as { path?: string; valid?: boolean }[])
      if (item.path && out.has(item.path)) out.set(item.path, item.valid !== false)
  } else if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data as Record<string, unknown>))
      if (out.has(k)) out.set(k, v !== null)
  }
  return out
}

/** Options of the read-only store queries below. */
export interface StoreQueryOptions {
  timeoutMs: number
  logger?: Logger
  /** Another store (`ssh-ng://root@web1`, `file:///cache`, ...); the local store by default. */
  storeUrl?: string
  env?: Record<string, string | undefined>
  host?: string
  phase?: string
  what?: string
}

/**
 * `nix path-info --recursive --json` of one or more store paths. Never throws on a failed
 * command: the caller reads the exit code and falls back to `nixStoreQuery`.
 */
export async function nixPathInfoRecursive(
  storePaths: readonly string[],
  opts: StoreQueryOptions
): Promise<RunResult> {
  const store = opts.storeUrl ? ['--store', opts.storeUrl] : []
  return run([...NIX, 'path-info', ...store, '--recursive', '--json', ...storePaths], {
    timeoutMs: opts.timeoutMs,
    logger: opts.logger,
    env: opts.env,
    host: opts.host,
    phase: opts.phase ?? 'closure',
    check: false,
    what: opts.what
  })
}

/**
 * `nix-store --query <--requisites|--size|--graph> <paths>` (the closure reader's fallback for a
 * `nix` whose `path-info --json` we cannot read). Throws when the command fails.
 */
export async function nixStoreQuery(
  query: '--requisites' | '--size' | '--graph',
  storePaths: readonly string[],
  opts: StoreQueryOptions
): Promise<RunResult> {
  const store = opts.storeUrl ? ['--store', opts.storeUrl] : []
  return run(['nix-store', ...store, '--query', query, ...storePaths], {
    timeoutMs: opts.timeoutMs,
    logger: opts.logger,
    env: opts.env,
    host: opts.host,
    phase: opts.phase ?? 'closure',
    what: opts.what
  })
}

/** `nix fmt -- .` in `dir` (the flake's formatter over its tree); never throws on a failure. */
export async function nixFmt(
  dir: string,
  opts: NixCallOptions & { onStderrLine?: (line: string) => void }
): Promise<RunResult> {
  return run([...NIX, 'fmt', '--', '.'], {
    cwd: dir,
    timeoutMs: opts.timeoutMs ?? HOUR,
    check: false,
    logger: opts.logger,
    onStderrLine: opts.onStderrLine,
    env: opts.env
  })
}
