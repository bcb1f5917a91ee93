/**
 * One commit on a branch of `origin`, for the update action: the new flake.lock on top of the
 * base branch's tip, force-pushed to the update branch, so the pull request always holds exactly
 * one commit. Built with git's plumbing (a private index file), so the checkout's branch, index
 * and working tree are left as they are.
 *
 * The push authenticates the way actions/checkout does: an `http.<server>/.extraheader`
 * `AUTHORIZATION: basic base64(x-access-token:<token>)`, given with `git -c` on each command
 * (never written to disk, never in a URL). An empty value first clears the header actions/checkout
 * may have stored in the repository's config, so the token given is the one used.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError } from './errors.js'
import { hasControlCharacters, showValue } from './inputs.js'
import type { Logger } from './log.js'
import { run, type RunResult } from './process.js'
import { secrets } from './secrets.js'

const GIT_TIMEOUT = 5 * 60_000

/** The identity of commits when the repository configures none (the Actions bot's). */
export const BOT_NAME = 'github-actions[bot]'
export const BOT_EMAIL = '41898282+github-actions[bot]@users.noreply.github.com'

export interface GitRemote {
  /** The repository's top folder. */
  root: string
  /** `-c` options that authenticate to origin (empty without a token). */
  auth: string[]
  logger?: Logger
}

/** Fails with one sentence naming `input` when `name` is not a valid branch name. */
export async function checkBranchName(name: string, input: string): Promise<string> {
  if (!name || name.startsWith('-') || hasControlCharacters(name) || /\s/.test(name))
    throw new ActionError(`Input '${input}' is not a branch name: ${showValue(name)}.`, { input })
  const r = await run(['git', 'check-ref-format', '--branch', name], {
    timeoutMs: GIT_TIMEOUT,
    check: false
  })
  if (r.exitCode !== 0)
    throw new ActionError(`Input '${input}' is not a branch name: ${showValue(name)}.`, { input })
  return name
}

/**
 * The `-c` options that send `token` to origin's server as actions/checkout does. The header's
 * value is registered as a secret (scrubbed from every log and error). Without a token: none.
 */
export function authOptions(remoteUrl: string, token: string): string[] {
  if (!token) return []
  const m = /^(https?:\/\/[^/]+)\//i.exec(remoteUrl)
  const key = m ? `http.${m[1]}/.extraheader` : 'http.extraheader'
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64')
  secrets.add(token)
  secrets.add(basic)
  return ['-c', `${key}=`, '-c', `${key}=AUTHORIZATION: basic ${basic}`]
}

async function git(
  remote: Pick<GitRemote, 'root' | 'logger'>,
  args: string[],
  opts: {
    auth?: string[]
    env?: Record<string, string | undefined>
    check?: boolean
    input?: string
    what: string
  }
): Promise<RunResult> {
  return run(['git', ...(opts.auth ?? []), '-C', remote.root, ...args], {
    timeoutMs: GIT_TIMEOUT,
    logger: remote.logger,
    check: opts.check,
    input: opts.input,
    phase: 'push',
    what: opts.what,
    // Never wait for a password prompt.
    env: { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: undefined, ...opts.env }
  })
}

/** The URL of the `origin` remote. */
export async function originUrl(root: string, logger?: Logger): Promise<string> {
  const r = await git({ root, logger }, ['remote', 'get-url', 'origin'], {
    check: false,
    what: 'reading the origin remote'
  })
  if (r.exitCode !== 0 || !r.stdout.trim())
    throw new ActionError(
      `The repository at ${root} has no 'origin' remote to push the update branch to (check it out with actions/checkout).`,
      { phase: 'push' }
    )
  return r.stdout.trim()
}

/** origin's default branch (what its HEAD names), or undefined when origin does not say. */
export async function remoteDefaultBranch(remote: GitRemote): Promise<string | undefined> {
  const r = await git(remote, ['ls-remote', '--symref', 'origin', 'HEAD'], {
    auth: remote.auth,
    what: "asking origin for its default branch (input 'base')"
  })
  const m = /^ref:\s+refs\/heads\/(\S+)\s+HEAD$/m.exec(r.stdout)
  return m?.[1]
}

/** The commit `branch` points to on origin, or undefined when origin has no such branch. */
export async function remoteBranchCommit(
  remote: GitRemote,
  branch: string
): Promise<string | undefined> {
  const r = await git(remote, ['ls-remote', 'origin', `refs/heads/${branch}`], {
    auth: remote.auth,
    what: `asking origin for the branch ${branch}`
  })
  const m = /^([0-9a-f]{40,64})\s+refs\/heads\/(\S+)$/m.exec(r.stdout)
  return m && m[2] === branch ? m[1] : undefined
}

/** Fetches one commit of origin's `branch` (depth 1 in a shallow clone) and returns its id. */
export async function fetchBranch(remote: GitRemote, branch: string): Promise<string> {
  const shallow = await git(remote, ['rev-parse', '--is-shallow-repository'], {
    check: false,
    what: 'reading the checkout'
  })
  const depth = shallow.stdout.trim() === 'true' ? ['--depth=1'] : []
  const r = await git(
    remote,
    ['fetch', '--no-tags', '--quiet', ...depth, 'origin', `refs/heads/${branch}`],
    { auth: remote.auth, check: false, what: `fetching ${branch} from origin` }
  )
  if (r.exitCode !== 0)
    throw new ActionError(
      `Could not fetch the branch ${showValue(branch)} from origin (input 'base'): ${r.stderr.trim().split('\n').pop() ?? ''}`.replace(
        /[.:\s]*$/,
        '.'
      ),
      { input: 'base', phase: 'push' }
    )
  const head = await git(remote, ['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], {
    what: 'reading the fetched commit'
  })
  return head.stdout.trim()
}

/** A commit's tree and parents, read from the object itself (also in a shallow clone). */
export async function commitShape(
  remote: GitRemote,
  commit: string
): Promise<{ tree: string; parents: string[] } | undefined> {
  const r = await git(remote, ['cat-file', 'commit', commit], {
    check: false,
    what: `reading commit ${commit}`
  })
  if (r.exitCode !== 0) return undefined
  const header = r.stdout.split('\n\n')[0].split('\n')
  const tree = header.find(l => l.startsWith('tree '))?.slice(5)
  if (!tree) return undefined
  return {
    tree,
    parents: header.filter(l => l.startsWith('parent ')).map(l => l.slice(7))
  }
}

/**
 * A commit on top of `parent` whose tree is the parent's with `file` (repository-relative)
 * replaced by `content`. Nothing of the checkout changes: a private index builds the tree.
 * Returns the commit and its tree.
 */
export async function commitFile(
  remote: GitRemote,
  opts: { parent: string; file: string; content: string; message: string }
): Promise<{ commit: string; tree: string }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-deploy-index-'))
  try {
    const index = { GIT_INDEX_FILE: path.join(tmp, 'index') }
    const blobFile = path.join(tmp, 'blob')
    fs.writeFileSync(blobFile, opts.content)
    await git(remote, ['read-tree', opts.parent], { env: index, what: 'reading the base tree' })
    const blob = (
      await git(remote, ['hash-object', '-w', '--', blobFile], { what: 'storing flake.lock' })
    ).stdout.trim()
    await git(remote, ['update-index', '--add', '--cacheinfo', `100644,${blob},${opts.file}`], {
      env: index,
      what: 'staging flake.lock'
    })
    const tree = (
      await git(remote, ['write-tree'], { env: index, what: 'writing the tree' })
    ).stdout.trim()
    const named = await git(remote, ['config', 'user.email'], { check: false, what: 'git config' })
    const identity = named.stdout.trim()
      ? {}
      : {
          GIT_AUTHOR_NAME: BOT_NAME,
          GIT_AUTHOR_EMAIL: BOT_EMAIL,
          GIT_COMMITTER_NAME: BOT_NAME,
          GIT_COMMITTER_EMAIL: BOT_EMAIL
        }
    const commit = (
      await git(remote, ['commit-tree', tree, '-p', opts.parent, '-F', '-'], {
        env: identity,
        input: opts.message,
        what: 'committing flake.lock'
      })
    ).stdout.trim()
    return { commit, tree }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * Pushes `commit` to origin's `branch`, replacing what it held only if that is still `expected`
 * (undefined: the branch must not exist), so two runs at once cannot overwrite each other silently.
 */
export async function pushBranch(
  remote: GitRemote,
  opts: { commit: string; branch: string; expected: string | undefined }
): Promise<void> {
  const ref = `refs/heads/${opts.branch}`
  const r = await git(
    remote,
    [
      'push',
      '--quiet',
      `--force-with-lease=${ref}:${opts.expected ?? ''}`,
      'origin',
      `${opts.commit}:${ref}`
    ],
    { auth: remote.auth, check: false, what: `pushing ${opts.branch} to origin` }
  )
  if (r.exitCode !== 0) {
    const why = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${r.exitCode}`
    throw new ActionError(
      `Could not push the branch ${opts.branch} to origin (input 'branch'; the token needs contents: write): ${why}`.replace(
        /[.:\s]*$/,
        '.'
      ),
      { input: 'branch', phase: 'push' }
    )
  }
}
