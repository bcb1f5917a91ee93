/**
 * The Nix settings every test uses on this machine: flakes on, no sandbox, no substituters (there
 * is no network: without `substituters =` every command retries the public cache for seconds),
 * no dirty-tree warning.
 */
export const NIX_CONFIG = [
  'experimental-features = nix-command flakes',
  'sandbox = false',
  'substituters =',
  'warn-dirty = false'
].join('\n')

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
