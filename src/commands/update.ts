/**
 * `update`: updates the flake's lock and shows what it does to every host (core/update.ts), then,
 * on GitHub, commits the new lock to the update branch on top of the base branch and pushes it
 * (`publishUpdate`; the adapter opens or updates the pull request). The terminal command only
 * updates the lock in place and prints the report.
 */
import { ActionError } from '../core/errors.js'
import {
  authOptions,
  checkBranchName,
  commitFile,
  commitShape,
  fetchBranch,
  originUrl,
  pushBranch,
  remoteBranchCommit,
  remoteDefaultBranch,
  type GitRemote
} from '../core/git-branch.js'
import { parseBool, parseFlakeRef, parseList, showValue } from '../core/inputs.js'
import { assertFlakeExists } from '../core/local-flake.js'
import { run } from '../core/process.js'
import { shortHash, updateFlake, type LockedRevision, type UpdateResult } from '../core/update.js'
import { defaultBool, defaultOf } from './inputs.js'
import type { CommandContext } from './types.js'

export interface UpdateRun {
  flake: string
  result: UpdateResult
}

export async function updateCommand(ctx: CommandContext): Promise<UpdateRun> {
  const flake = parseFlakeRef('flake', ctx.get('flake') || defaultOf('update', 'flake'))
  assertFlakeExists(flake, ctx.cwd)
  const diff = parseBool('diff', ctx.get('diff'), defaultBool('update', 'diff'))
  const inputs = parseList(ctx.get('inputs'))
  const result = await updateFlake({ flake, cwd: ctx.cwd, inputs, diff, logger: ctx.logger })
  return { flake, result }
}

export interface PublishedBranch {
  branch: string
  base: string
  /** The commit the branch holds now. */
  commit: string
  /** False when the branch already held this very update (nothing was pushed). */
  pushed: boolean
}

/** The commit message: the `commit-message` input, then one line per input that moved. */
function commitMessage(first: string, r: UpdateResult): string {
  const lines = r.inputs.map(i => {
    const name = (x: LockedRevision | undefined) =>
      x?.rev ? x.rev.slice(0, 12) : x?.narHash ? shortHash(x.narHash) : '?'
    const from = i.change === 'added' ? '(new)' : name(i.before)
    const to = i.change === 'removed' ? '(removed)' : name(i.after)
    return `- ${i.input}: ${from} -> ${to}`
  })
  return `${first}\n\n${lines.join('\n')}\n`
}

/**
 * Commits the new lock on top of origin's `base` and force-pushes it to `branch` (only if that
 * branch still holds what was read from it). A branch that already holds the same lock on the
 * same base is left alone: a run that finds nothing new pushes nothing.
 */
export async function publishUpdate(
  ctx: CommandContext,
  update: UpdateRun,
  token: string
): Promise<PublishedBranch> {
  const r = update.result
  const log = ctx.logger
  const branch = await checkBranchName(ctx.get('branch') || defaultOf('update', 'branch'), 'branch')
  const url = await originUrl(r.repoRoot, log)
  const remote: GitRemote = { root: r.repoRoot, auth: authOptions(url, token), logger: log }
  const baseInput = ctx.get('base')
  const base = await checkBranchName(
    baseInput || (await remoteDefaultBranch(remote)) || '',
    'base'
  ).catch(err => {
    if (baseInput) throw err
    throw new ActionError(
      "Input 'base' is empty and origin names no default branch: give the branch the pull request goes to.",
      { input: 'base' }
    )
  })
  if (base === branch)
    throw new ActionError(
      `Inputs 'branch' and 'base' are both ${showValue(branch)}: the update needs a branch of its own.`,
      { input: 'branch' }
    )
  return log.group(`Committing ${r.lockFile} to ${branch} (on ${base})`, async () => {
    const baseCommit = await fetchBranch(remote, base)
    const head = await run(['git', '-C', r.repoRoot, 'rev-parse', 'HEAD'], {
      timeoutMs: 60_000,
      check: false
    })
    if (head.exitCode === 0 && head.stdout.trim() !== baseCommit)
      log.warning(
        `The checkout (${head.stdout.trim().slice(0, 12)}) is not the tip of ${base} (${baseCommit.slice(0, 12)}): the lock updated here is committed on top of ${base}.`
      )
    const message = commitMessage(
      ctx.get('commit-message') || defaultOf('update', 'commit-message'),
      r
    )
    const made = await commitFile(remote, {
      parent: baseCommit,
      file: r.lockFile,
      content: r.lockAfter,
      message
    })
    const existing = await remoteBranchCommit(remote, branch)
    if (existing) {
      await fetchBranch(remote, branch).catch(() => undefined)
      const shape = await commitShape(remote, existing)
      if (
        shape &&
        shape.tree === made.tree &&
        shape.parents.length === 1 &&
        shape.parents[0] === baseCommit
      ) {
        log.info(`${branch} already holds this update (${existing.slice(0, 12)}): nothing pushed.`)
        return { branch, base, commit: existing, pushed: false }
      }
    }
    await pushBranch(remote, { commit: made.commit, branch, expected: existing })
    log.info(`Pushed ${made.commit.slice(0, 12)} to ${branch}.`)
    return { branch, base, commit: made.commit, pushed: true }
  })
}
