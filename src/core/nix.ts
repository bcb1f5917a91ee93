/**
 * Every Nix invocation of the suite. Nothing else builds a `nix` argv: quoting of attribute
 * paths, JSON parsing and the handling of differences between Nix versions live here.
 */
import { ActionError } from './errors.js'
import { commandFailed, run, type RunResult } from './process.js'
import type { Logger } from './log.js'
import type { FlakeInputSource, FlakeSources } from './nix-errors.js'
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
    /** Settings for this call (`--option name value`), e.g. trusted-public-keys. */
    options?: [string, string][]
    /** false: the caller reads the exit code (default: a failure throws). */
    check?: boolean
  }
): Promise<RunResult> {
  const argv: string[] = [...NIX, 'copy']
  if (opts.from) argv.push('--from', opts.from)
  if (opts.to) argv.push('--to', opts.to)
  if (opts.noCheckSigs) argv.push('--no-check-sigs')
  if (opts.substituteOnDestination) argv.push('--substitute-on-destination')
  for (const [name, value] of opts.options ?? []) argv.push('--option', name, value)
  argv.push(...paths)
  return run(argv, {
    timeoutMs: opts.timeoutMs ?? 2 * HOUR,
    cwd: opts.cwd,
    logger: opts.logger,
    host: opts.host,
    check: opts.check,
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
  const argv: string[] = [...NIX, 'path-info', ...(await nixPathInfoJsonFlags(opts))]
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
  // Old shape: an array of { path, valid? }; newer: an object keyed by path (null = invalid);
  // Nix 2.33+ --json-format 2: { info: { <base name>: {…} | null }, storeDir }.
  const data = parseJson<unknown>(result.stdout, 'nix path-info', opts)
  if (Array.isArray(data)) {
    for (const item of data as { path?: string; valid?: boolean }[])
      if (item.path && out.has(item.path)) out.set(item.path, item.valid !== false)
  } else if (data && typeof data === 'object') {
    const wrapped = data as { info?: unknown; storeDir?: unknown; version?: unknown }
    const versioned =
      typeof wrapped.version === 'number' &&
      wrapped.info !== null &&
      typeof wrapped.info === 'object'
    const entries = (versioned ? wrapped.info : data) as Record<string, unknown>
    const storeDir = typeof wrapped.storeDir === 'string' ? wrapped.storeDir : '/nix/store'
    for (const [k, v] of Object.entries(entries)) {
      const full = k.startsWith('/') ? k : `${storeDir.replace(/\/+$/, '')}/${k}`
      if (out.has(full)) out.set(full, v !== null)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// The running Nix's version, and the flags that depend on it

export interface NixVersion {
  /** `[major, minor, patch]` of the Nix (or the Nix that Lix or Determinate Nix report). */
  version: [number, number, number]
  /** Lix: a fork whose CLI followed Nix 2.18, whatever number it prints. */
  lix: boolean
  /** The line `nix --version` printed. */
  text: string
}

/** Reads `nix --version` output: `nix (Nix) 2.34.8`, `nix (Lix, like Nix) 2.91.1`, … */
export function parseNixVersion(text: string): NixVersion | undefined {
  const line = text.trim().split('\n')[0] ?? ''
  const m = /(\d+)\.(\d+)(?:\.(\d+))?(?:[^\d.\s]\S*)?\s*$/.exec(line)
  if (!m) return undefined
  return {
    version: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)],
    lix: /\bLix\b/i.test(line),
    text: line
  }
}

let versionOnce: Promise<NixVersion | undefined> | undefined

/** The local `nix`'s version, asked once per process (undefined when it cannot be read). */
export function nixVersion(opts: NixCallOptions = {}): Promise<NixVersion | undefined> {
  versionOnce ??= run(['nix', '--version'], {
    timeoutMs: opts.timeoutMs ?? MINUTE,
    logger: opts.logger,
    check: false,
    env: opts.env
  })
    .then(r => (r.exitCode === 0 ? parseNixVersion(r.stdout) : undefined))
    .catch(() => undefined)
  return versionOnce
}

/** Forgets the cached version (tests that switch between Nix versions). */
export function forgetNixVersion(): void {
  versionOnce = undefined
}

/**
 * `nix path-info`'s JSON flags for a Nix version: Nix 2.33+ warns that `--json` alone "will become
 * an error" and takes `--json-format 2` (base names under `info`); older Nix and Lix have no
 * `--json-format`. Every shape is read by `parsePathInfo` (closure.ts).
 */
export function pathInfoJsonFlags(v: NixVersion | undefined): string[] {
  if (!v || v.lix) return ['--json']
  const [major, minor] = v.version
  return major > 2 || (major === 2 && minor >= 33) ? ['--json', '--json-format', '2'] : ['--json']
}

/** `pathInfoJsonFlags` for the local nix. */
export async function nixPathInfoJsonFlags(opts: NixCallOptions = {}): Promise<string[]> {
  return pathInfoJsonFlags(await nixVersion(opts))
}

// ---------------------------------------------------------------------------------------------
// Where a flake's sources are, for mapping error positions

/** The location a lock node's `locked` attributes name (for `«…»` positions of newer Nix). */
export function lockedLocation(locked: unknown): string | undefined {
  if (!locked || typeof locked !== 'object') return undefined
  const l = locked as Record<string, unknown>
  const str = (k: string) => (typeof l[k] === 'string' ? (l[k] as string) : undefined)
  const type = str('type')
  if (type === 'github' || type === 'gitlab' || type === 'sourcehut') {
    const owner = str('owner')
    const repo = str('repo')
    return owner && repo ? `${type}:${owner}/${repo}` : undefined
  }
  if (type === 'path') return str('path') ? `path:${str('path')}` : undefined
  return str('url')
}

/**
 * Reads `nix flake archive --json --dry-run` (each input's store path, nested) and the lock of
 * `nix flake metadata --json` (each input's location) into one list of inputs, named as the lock
 * names them (`home-manager/nixpkgs` for a nested input). Either may be missing.
 */
export function parseFlakeSources(
  archive: unknown,
  metadata: { path?: string; url?: string; locks?: unknown } | undefined
): FlakeSources {
  const inputs = new Map<string, FlakeInputSource>()
  const add = (name: string, field: 'path' | 'url', value: string | undefined) => {
    if (!value) return
    const entry = inputs.get(name) ?? { name }
    entry[field] = value
    inputs.set(name, entry)
  }
  const walkArchive = (node: unknown, prefix: string, depth: number) => {
    if (!node || typeof node !== 'object' || depth > 20) return
    const children = (node as { inputs?: unknown }).inputs
    if (!children || typeof children !== 'object') return
    for (const [name, child] of Object.entries(children as Record<string, unknown>)) {
      const full = prefix ? `${prefix}/${name}` : name
      const path = (child as { path?: unknown } | null)?.path
      add(full, 'path', typeof path === 'string' ? path : undefined)
      walkArchive(child, full, depth + 1)
    }
  }
  walkArchive(archive, '', 0)

  const locks = metadata?.locks as
    | {
        nodes?: Record<string, { inputs?: Record<string, unknown>; locked?: unknown }>
        root?: string
      }
    | undefined
  const nodes = locks?.nodes ?? {}
  const walkLock = (id: string, prefix: string, depth: number) => {
    const node = nodes[id]
    if (!node?.inputs || depth > 20) return
    for (const [name, ref] of Object.entries(node.inputs)) {
      if (typeof ref !== 'string') continue // `follows` another input: listed under its own name
      const full = prefix ? `${prefix}/${name}` : name
      add(full, 'url', lockedLocation(nodes[ref]?.locked))
      walkLock(ref, full, depth + 1)
    }
  }
  walkLock(locks?.root ?? 'root', '', 0)

  const selfPath = (archive as { path?: unknown } | null)?.path
  return {
    self: typeof selfPath === 'string' ? selfPath : metadata?.path || undefined,
    selfUrl: metadata?.url,
    // Shorter names first: an input reached twice is named the way the user wrote it.
    inputs: [...inputs.values()].sort((a, b) => a.name.split('/').length - b.name.split('/').length)
  }
}

/**
 * Where the flake's own source and each input's are (for error positions): `nix flake archive
 * --json --dry-run` and `nix flake metadata --json` (works on Nix 2.8 and today's Nix). Undefined
 * when neither can be read; never throws.
 */
export async function nixFlakeSources(
  flake: string,
  opts: NixCallOptions & { metadata?: FlakeMetadata }
): Promise<FlakeSources | undefined> {
  const archive = await run([...NIX, 'flake', 'archive', '--json', '--dry-run', flake], {
    timeoutMs: opts.timeoutMs ?? 2 * MINUTE,
    cwd: opts.cwd,
    logger: opts.logger,
    check: false,
    env: opts.env
  }).catch(() => undefined)
  let archived: unknown
  if (archive?.exitCode === 0) {
    try {
      archived = JSON.parse(archive.stdout)
    } catch {
      archived = undefined
    }
  }
  const metadata =
    opts.metadata ??
    (await nixFlakeMetadata(flake, { ...opts, timeoutMs: opts.timeoutMs ?? 2 * MINUTE }).catch(
      () => undefined
    ))
  if (archived === undefined && metadata === undefined) return undefined
  return parseFlakeSources(archived, metadata)
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
  const json = await nixPathInfoJsonFlags({ logger: opts.logger, env: opts.env })
  return run([...NIX, 'path-info', ...store, '--recursive', ...json, ...storePaths], {
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

// ---------------------------------------------------------------------------------------------
// Signatures (the binary cache between build and hosts, binary-cache.ts)

/** `nix store sign --recursive --key-file <file> <paths>` (Nix 2.8's syntax, still today's). */
export async function nixStoreSign(
  paths: string[],
  keyFile: string,
  opts: NixCallOptions
): Promise<RunResult> {
  return run([...NIX, 'store', 'sign', '--recursive', '--key-file', keyFile, ...paths], {
    timeoutMs: opts.timeoutMs ?? HOUR,
    logger: opts.logger,
    host: opts.host,
    phase: opts.phase ?? 'sign',
    what: opts.what ?? `signing the closure of ${paths.join(' ')}`,
    env: opts.env
  })
}

/**
 * `nix store verify --recursive --sigs-needed 1` with only `trustedKeys` trusted: every path of
 * the closures must carry a signature by one of them and its contents must match its NAR hash.
 * Never throws on a failed check: the caller reads stderr (`path '…' is untrusted`, `… was modified!`).
 */
export async function nixStoreVerify(
  paths: string[],
  trustedKeys: string[],
  opts: NixCallOptions & { store?: string }
): Promise<RunResult> {
  const argv = [...NIX, 'store', 'verify', '--recursive', '--sigs-needed', '1']
  if (opts.store) argv.push('--store', opts.store)
  argv.push('--option', 'trusted-public-keys', trustedKeys.join(' '), ...paths)
  return run(argv, {
    timeoutMs: opts.timeoutMs ?? 2 * HOUR,
    logger: opts.logger,
    host: opts.host,
    check: false,
    env: opts.env
  })
}

/** `nix path-info --store <store> <path>`: whether a store (a binary cache) has a path. */
export async function nixStoreHas(
  path: string,
  store: string,
  opts: NixCallOptions
): Promise<RunResult> {
  return run([...NIX, 'path-info', '--store', store, path], {
    timeoutMs: opts.timeoutMs ?? 10 * MINUTE,
    logger: opts.logger,
    host: opts.host,
    check: false,
    env: opts.env
  })
}

// ---------------------------------------------------------------------------------------------
// Updating a flake's lock (the update action)

/**
 * The argv that updates the lock of the flake in the working directory: every input
 * (`nix flake update`, which takes no flake argument here, so it means the same on every version),
 * or only `inputs`. Nix before 2.19 (and Lix, whose CLI followed 2.18) updates one input with
 * `nix flake lock --update-input <name>` (repeatable); Nix 2.19 and later take the names as
 * `nix flake update <name>…` (there, a positional argument is an input, no longer a flake).
 */
export function flakeUpdateArgv(inputs: readonly string[], v: NixVersion | undefined): string[] {
  if (inputs.length === 0) return [...NIX, 'flake', 'update']
  const [major, minor] = v?.version ?? [2, 8, 0]
  const newer = !v?.lix && (major > 2 || (major === 2 && minor >= 19))
  if (newer) return [...NIX, 'flake', 'update', ...inputs]
  return [...NIX, 'flake', 'lock', ...inputs.flatMap(i => ['--update-input', i])]
}

/** Updates the lock of the flake in `dir` (see `flakeUpdateArgv`); throws when nix fails. */
export async function nixFlakeUpdate(
  dir: string,
  inputs: readonly string[],
  opts: NixCallOptions
): Promise<RunResult> {
  return run(flakeUpdateArgv(inputs, await nixVersion(opts)), {
    cwd: dir,
    timeoutMs: opts.timeoutMs ?? HOUR,
    logger: opts.logger,
    phase: opts.phase ?? 'update',
    what: opts.what ?? 'updating flake.lock',
    onStderrLine: opts.onStderrLine,
    env: opts.env
  })
}

/**
 * Builds a derivation already in the store (`nix-store --realise <drv>`: the same on every Nix
 * version, unlike `nix build <drv>`, whose reading of a `.drv` argument changed) and returns its
 * output paths.
 */
export async function nixStoreRealise(drvPath: string, opts: NixCallOptions): Promise<string[]> {
  const result = await run(['nix-store', '--realise', drvPath], {
    timeoutMs: opts.timeoutMs ?? 6 * HOUR,
    cwd: opts.cwd,
    logger: opts.logger,
    host: opts.host,
    phase: opts.phase ?? 'build',
    what: opts.what ?? `building ${drvPath}`,
    onStderrLine: opts.onStderrLine,
    env: opts.env
  })
  return result.stdout
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.startsWith('/'))
}
