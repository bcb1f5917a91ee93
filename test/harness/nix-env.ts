import { execFileSync } from 'node:child_process'

/**
 * The Nix settings every test, the demo and the benchmarks use on this machine, read from their one
 * definition, scripts/nix-offline.conf (flakes on, no sandbox, no substituters, no dirty-tree
 * warning, no build users: see that file for why each is there).
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** scripts/nix-offline.conf: the settings in nix.conf syntax (comments included). */
export const NIX_OFFLINE_CONF = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../scripts/nix-offline.conf'
)

/** The settings, one per line, without comments or blank lines: a value for `NIX_CONFIG`. */
export const NIX_CONFIG = readFileSync(NIX_OFFLINE_CONF, 'utf8')
  .split('\n')
  .filter(line => !/^\s*(#|$)/.test(line))
  .join('\n')

/**
 * Environment for `run(...)` calls that run nix: `NIX_CONFIG` set (with `extra` lines appended),
 * and the variables that would point nix elsewhere removed.
 */
export function nixEnv(extra: string[] = []): Record<string, string | undefined> {
  return {
    NIX_CONFIG: [NIX_CONFIG, ...extra].join('\n'),
    NIX_REMOTE: undefined,
    NIX_PATH: undefined
  }
}

/**
 * The version of the Nix the tests run (`2.8.0`, `2.26.3`, `2.34.8`): NDA_NIX_VERSION, which
 * scripts/test-nix-versions.sh sets, or else what the first `nix` on PATH says.
 */
export function nixVersion(): string {
  if (process.env.NDA_NIX_VERSION) return process.env.NDA_NIX_VERSION
  const out = execFileSync('nix', ['--version'], { encoding: 'utf8' })
  const m = /(\d+\.\d+(?:\.\d+)?)\s*$/.exec(out.trim())
  if (!m) throw new Error(`nix --version printed no version: ${out.trim()}`)
  return m[1]
}

/** One store path as `nix path-info --json` describes it (the fields the tests read). */
export interface PathInfo {
  path: string
  narSize: number
  /** With `--closure-size` (`-S`) only. */
  closureSize?: number
  references: string[]
}

/**
 * Reads `nix path-info --json` as the tested versions print it: an array of objects with a `path`
 * (Nix 2.8 to 2.18), or an object keyed by store path (2.19 and later; 2.33+ also print it with
 * `--json-format 1`, and warn without). Paths Nix does not know (null entries) are left out.
 */
export function readPathInfo(stdout: string): PathInfo[] {
  const parsed = JSON.parse(stdout) as unknown
  if (Array.isArray(parsed))
    return (parsed as PathInfo[]).filter(p => p && p.path && p.narSize !== undefined)
  if (parsed && typeof parsed === 'object' && !('info' in parsed))
    return Object.entries(parsed as Record<string, Omit<PathInfo, 'path'> | null>)
      .filter((e): e is [string, Omit<PathInfo, 'path'>] => e[1] !== null)
      .map(([path, info]) => ({ ...info, path }))
  throw new Error(
    `nix path-info --json printed a shape the tests do not read: ${stdout.slice(0, 200)}`
  )
}
