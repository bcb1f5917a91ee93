/**
 * The `update` action: updates flake.lock, and when an input moved, commits it to the update
 * branch and opens (or updates) one pull request whose body shows what the update does to every
 * host. Outputs and the job summary; everything else is in commands/update.ts and core/update.ts.
 */
import * as core from '@actions/core'
import { publishUpdate, updateCommand, type PublishedBranch } from '../commands/update.js'
import { ActionError } from '../core/errors.js'
import { parseList, replaceControlCharacters } from '../core/inputs.js'
import type { Logger } from '../core/log.js'
import { inlineCode } from '../core/markdown.js'
import { renderUpdateBody, renderUpdateSummary, type UpdateResult } from '../core/update.js'
import { defaultOf } from '../commands/inputs.js'
import { octokit } from './octokit.js'
import { runSummaryUrl } from './pr-comment.js'
import { input, runAction, secretInput, setOutputs, workspace, writeSummary } from './runtime.js'

/** GitHub's limit on a pull request body, characters. */
export const PULL_REQUEST_BODY_LIMIT = 65536

/** Why a pull request opened with the workflow's own token is a problem, and the fix. */
const DEFAULT_TOKEN_DOC =
  'https://docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication#using-the-github_token-in-a-workflow'

export interface PullRequestResult {
  number: number
  url: string
  operation: 'created' | 'updated' | 'unchanged'
  /** The account that opened it (`github-actions[bot]` for the workflow's GITHUB_TOKEN). */
  author: string
}

/** The fields of a pull request read here. */
interface PullLike {
  number: number
  html_url: string
  title: string
  body: string | null
  base: { ref: string }
  labels?: ({ name?: string } | string)[]
  user?: { login: string } | null
}

/** A body without what changes from run to run (links to the run), for comparing two bodies. */
function stable(body: string | null | undefined): string {
  return (body ?? '').replace(/https?:\/\/[^\s)]*\/actions\/runs\/[^\s)]*/g, '').trim()
}

/** Opens or updates the one pull request from `branch` into `base`; adds missing labels. */
async function upsertPullRequest(
  log: Logger,
  token: string,
  opts: { published: PublishedBranch; title: string; body: string; labels: string[] }
): Promise<PullRequestResult> {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo)
    throw new ActionError(
      'GITHUB_REPOSITORY (owner/name) is not set, so the pull request cannot be opened.',
      { phase: 'pull-request' }
    )
  const { branch, base } = opts.published
  const gh = await octokit(token)
  const request = { signal: AbortSignal.timeout(60_000) }
  const failed = (what: string) => (err: unknown) => {
    const status = (err as { status?: number }).status
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new ActionError(
      `Could not ${what} (${status ?? 'no answer'}: ${replaceControlCharacters(message)}); the token (input 'token') needs pull-requests: write and contents: write.`,
      { input: 'token', phase: 'pull-request' }
    )
  }
  const { data: open } = await gh.rest.pulls
    .list({ owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 10, request })
    .catch(failed(`list the open pull requests of ${branch}`))
  let pr: PullLike | undefined = open[0]
  let operation: PullRequestResult['operation']
  if (pr) {
    const same =
      pr.title === opts.title && pr.base.ref === base && stable(pr.body) === stable(opts.body)
    if (same && !opts.published.pushed) operation = 'unchanged'
    else {
      const number = pr.number
      pr = (
        await gh.rest.pulls
          .update({
            owner,
            repo,
            pull_number: number,
            title: opts.title,
            body: opts.body,
            base,
            request
          })
          .catch(failed(`update pull request #${number}`))
      ).data
      operation = 'updated'
    }
  } else {
    pr = (
      await gh.rest.pulls
        .create({ owner, repo, title: opts.title, head: branch, base, body: opts.body, request })
        .catch(failed(`open a pull request from ${branch} into ${base}`))
    ).data
    operation = 'created'
  }
  const number = pr.number
  const have = new Set((pr.labels ?? []).map(l => (typeof l === 'string' ? l : l.name)))
  const missing = opts.labels.filter(l => !have.has(l))
  if (missing.length) {
    await gh.rest.issues
      .addLabels({ owner, repo, issue_number: number, labels: missing, request })
      .catch(err => {
        log.warning(
          `Could not add the labels ${missing.join(', ')} to pull request #${number} (${(err as { status?: number }).status ?? 'no answer'}); the token needs issues: write or pull-requests: write.`
        )
      })
  }
  log.info(`Pull request #${pr.number} ${operation}: ${pr.html_url}`)
  return { number: pr.number, url: pr.html_url, operation, author: pr.user?.login ?? '' }
}

function summaryOf(
  r: UpdateResult,
  pr: PullRequestResult | undefined,
  published: PublishedBranch | undefined
): string {
  const parts: string[] = []
  if (pr?.author === 'github-actions[bot]')
    parts.push(
      `> [!WARNING]\n> Pull request #${pr.number} was opened by \`github-actions[bot]\`, that is with the workflow's default \`GITHUB_TOKEN\`: pull requests and pushes made with it start no workflows, so its checks will not run. Give \`token\` a GitHub App token or a personal access token ([why](${DEFAULT_TOKEN_DOC})).`
    )
  if (pr)
    parts.push(
      `Pull request [#${pr.number}](${pr.url}) ${pr.operation}, from ${inlineCode(published?.branch ?? '')} into ${inlineCode(published?.base ?? '')}${published && !published.pushed ? ' (the branch already held this update: nothing pushed)' : ''}.`
    )
  else if (!r.changed) parts.push('No input moved: nothing committed, no pull request.')
  parts.push(renderUpdateSummary(r))
  return parts.join('\n\n') + '\n'
}

export async function runUpdate(): Promise<void> {
  await runAction('update', async log => {
    const token = secretInput('token').trim()
    // The form git sends it in (authOptions): masked too, should git ever print its headers.
    if (token) core.setSecret(Buffer.from(`x-access-token:${token}`).toString('base64'))
    const labels = parseList(input('labels'))
    const title = replaceControlCharacters(input('title') || defaultOf('update', 'title'))
    const ctx = { get: input, cwd: workspace(), logger: log }
    if (!token)
      throw new ActionError(
        "Input 'token' is empty: it pushes the branch and opens the pull request.",
        { input: 'token' }
      )
    const update = await updateCommand(ctx)
    const r = update.result
    const outputs = {
      changed: String(r.changed),
      'inputs-changed': JSON.stringify(r.inputs.map(i => i.input)),
      'pull-request-number': '',
      'pull-request-url': '',
      'pull-request-operation': 'none'
    }
    setOutputs(outputs)
    if (!r.changed) {
      log.info('No input moved: nothing to commit.')
      await writeSummary(summaryOf(r, undefined, undefined))
      return
    }
    let published: PublishedBranch | undefined
    let pr: PullRequestResult | undefined
    try {
      published = await publishUpdate(ctx, update, token)
      const { body, collapsed } = renderUpdateBody(r, {
        maxChars: PULL_REQUEST_BODY_LIMIT,
        summaryUrl: runSummaryUrl()
      })
      if (collapsed)
        log.info(
          "The pull request body is collapsed to fit GitHub's limit; the job summary has everything."
        )
      const branch = published
      pr = await log.group('Pull request', () =>
        upsertPullRequest(log, token, { published: branch, title, body, labels })
      )
      if (pr.author === 'github-actions[bot]')
        log.warning(
          `Pull request #${pr.number} was opened by github-actions[bot], with the default GITHUB_TOKEN: it starts no workflows, so its checks will not run; give 'token' a GitHub App or personal token.`
        )
      setOutputs({
        'pull-request-number': String(pr.number),
        'pull-request-url': pr.url,
        'pull-request-operation': pr.operation
      })
    } finally {
      // Also when the push or the pull request failed: the diffs were worth computing.
      await writeSummary(summaryOf(r, pr, published))
    }
  })
}
