/** Where a flake reference lives on this machine, when it is a local one. */
import fs from 'node:fs'
import path from 'node:path'
import { ActionError } from './errors.js'
import { relativeToRoot, repoRoot } from './git.js'

export interface LocalFlake {
  /** The flake's directory. */
  dir: string
  /** The git repository holding it, and the flake's directory relative to it. */
  repoRoot: string | null
  subdir: string
}

/** `.`, `./infra`, `/abs/dir`, `path:…`, `git+file://…` are local; `github:…` and URLs are not. */
export function localFlakeDir(flake: string, cwd: string): string | null {
  let ref = flake
  if (ref.startsWith('git+file://')) ref = ref.slice('git+file://'.length)
  else if (ref.startsWith('path:')) ref = ref.slice('path:'.length)
  else if (ref.startsWith('file://')) ref = ref.slice('file://'.length)
  else if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return null
  ref = ref.split('?')[0]
  return path.resolve(cwd, ref)
}

export async function locateFlake(flake: string, cwd: string): Promise<LocalFlake | null> {
  const dir = localFlakeDir(flake, cwd)
  if (!dir) return null
  const root = await repoRoot(dir)
  return { dir, repoRoot: root, subdir: root ? await relativeToRoot(dir) : '' }
}

export async function requireGitFlake(
  flake: string,
  cwd: string,
  input: string
): Promise<LocalFlake & { repoRoot: string }> {
  const local = await locateFlake(flake, cwd)
  if (!local || !local.repoRoot) {
    throw new ActionError(
      `Input '${input}' needs a flake in a local git checkout, but 'flake' is '${flake}'.`,
      { input }
    )
  }
  return local as LocalFlake & { repoRoot: string }
}

/**
 * Fails early, with one sentence naming the input, when a local flake reference points at no
 * flake (nix's own message would be "getting status of …: No such file or directory").
 */
export function assertFlakeExists(flake: string, cwd: string, input = 'flake'): void {
  const dir = localFlakeDir(flake, cwd)
  if (!dir) return
  if (!fs.existsSync(dir)) {
    throw new ActionError(
      `Input '${input}': the flake '${flake}' does not exist (no directory ${dir}).`,
      { input }
    )
  }
  if (fs.statSync(dir).isDirectory() && !fs.existsSync(path.join(dir, 'flake.nix'))) {
    throw new ActionError(`Input '${input}': '${flake}' has no flake.nix (looked in ${dir}).`, {
      input
    })
  }
}
