/** The few git questions the suite asks: where the repository is, and what a revision is. */
import { ActionError } from './errors.js'
import { hasControlCharacters, showValue } from './inputs.js'
import { run } from './process.js'
import type { Logger } from './log.js'

const GIT_TIMEOUT = 60_000

export async function repoRoot(dir: string, logger?: Logger): Promise<string | null> {
  const r = await run(['git', '-C', dir, 'rev-parse', '--show-toplevel'], {
    timeoutMs: GIT_TIMEOUT,
    check: false,
    logger
  })
  return r.exitCode === 0 ? r.stdout.trim() : null
}

/**
 * The full commit id of `rev` in the repository at `root`. A revision that is not in the local
 * history (a shallow clone) gets a message that says how to fix the checkout.
 */
export async function resolveRevision(
  root: string,
  rev: string,
  input: string,
  logger?: Logger
): Promise<string> {
  if (!rev || rev.startsWith('-') || /\s/.test(rev) || hasControlCharacters(rev)) {
    throw new ActionError(`Input '${input}' is not a git revision: ${showValue(rev)}.`, {
      input
    })
  }
  const r = await run(
    ['git', '-C', root, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`],
    {
      timeoutMs: GIT_TIMEOUT,
      check: false,
      logger
    }
  )
  if (r.exitCode !== 0) {
    const shallow = await run(['git', '-C', root, 'rev-parse', '--is-shallow-repository'], {
      timeoutMs: GIT_TIMEOUT,
      check: false
    })
    const hint =
      shallow.stdout.trim() === 'true'
        ? ' The checkout is shallow: use actions/checkout with fetch-depth: 0 (or fetch that revision) first.'
        : ''
    throw new ActionError(
      `Input '${input}': the git revision ${showValue(rev)} does not exist in ${root}.${hint}`,
      { input }
    )
  }
  return r.stdout.trim()
}

/** Repository-relative path of `dir` ('' for the root). */
export async function relativeToRoot(dir: string): Promise<string> {
  const r = await run(['git', '-C', dir, 'rev-parse', '--show-prefix'], {
    timeoutMs: GIT_TIMEOUT,
    check: false
  })
  return r.exitCode === 0 ? r.stdout.trim().replace(/\/$/, '') : ''
}
