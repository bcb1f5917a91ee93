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
