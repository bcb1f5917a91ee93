/**
 * The drift issue (`issue: true`): ONE issue per environment, found by a hidden marker in its
 * body among the issues `issue-author` opened, kept in step with the report:
 * - hosts drift, no issue: open one; an open one: edit its title and body in place; a closed one:
 *   reopen it with the new body and a comment saying drift returned;
 * - no host drifts and every host answered, an open issue: a comment saying so, then close it
 *   (`state_reason: completed`); no issue or a closed one: nothing;
 * - no host drifts but some did not answer: an open issue stays open, edited to say which (they
 *   are not known to be fixed); no issue is opened for unreachable hosts alone (the step warns).
 * The marker can be copied by anyone into an issue of theirs: only the author's issue counts.
 * https://docs.github.com/rest/issues/issues
 */
import { describeError } from '../core/errors.js'
import {
  driftedHosts,
  driftIssueMarker,
  driftIssueTitle,
  renderDriftIssue,
  type DriftReport
} from '../core/drift.js'
import type { Logger } from '../core/log.js'
import { escapeMarkdown, truncateText } from '../core/markdown.js'
import { octokit } from './octokit.js'
import { runSummaryUrl } from './pr-comment.js'

/** GitHub's limit on an issue body, characters. */
const BODY_LIMIT = 65536
/** Pages of 100 issues by the author searched for the marker, newest first. */
const PAGES = 5

export interface IssueOutcome {
  action: 'opened' | 'updated' | 'reopened' | 'closed' | 'none'
  number?: number
  url?: string
}

export async function syncDriftIssue(
  token: string,
  author: string,
  report: DriftReport,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env
): Promise<IssueOutcome> {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo) throw new Error('GITHUB_REPOSITORY is not set')
  const gh = await octokit(token, env.GITHUB_API_URL || 'https://api.github.com')
  const marker = driftIssueMarker(report)
  let found: { number: number; state: string; html_url: string } | undefined
  for (let page = 1; page <= PAGES && !found; page++) {
    const list = await gh.rest.issues.listForRepo({
      owner,
      repo,
      creator: author,
      state: 'all',
      sort: 'created',
      direction: 'desc',
      per_page: 100,
      page
    })
    found = list.data.find(
      i => !i.pull_request && i.user?.login === author && (i.body ?? '').includes(marker)
    )
    if (list.data.length < 100) break
  }
  const drifted = driftedHosts(report.results)
  const runUrl = runSummaryUrl(env)
  const run = runUrl ? ` ([run](${runUrl}))` : ''
  const unreachable = report.results.filter(r => r.state === 'unreachable').length
  if (drifted.length === 0 && unreachable > 0) {
    // Not known to be fixed: an open issue stays open, saying which hosts did not answer.
    if (!found || found.state !== 'open') return { action: 'none', number: found?.number }
    await gh.rest.issues.update({
      owner,
      repo,
      issue_number: found.number,
      title: `Drift: ${unreachable === 1 ? '1 host' : `${unreachable} hosts`} could not be checked`,
      body: truncateText(renderDriftIssue(report, runUrl), BODY_LIMIT)
    })
    logger.info(
      `Updated drift issue #${found.number}: no host drifts, but not every host answered.`
    )
    return { action: 'updated', number: found.number, url: found.html_url }
  }
  if (drifted.length === 0) {
    if (!found || found.state !== 'open') return { action: 'none', number: found?.number }
    await gh.rest.issues.createComment({
      owner,
      repo,
      issue_number: found.number,
      body: `No host drifts any more: every checked host runs what it should${run}. Closing.`
    })
    await gh.rest.issues.update({
      owner,
      repo,
      issue_number: found.number,
      state: 'closed',
      state_reason: 'completed'
    })
    logger.info(`Closed drift issue #${found.number}: no host drifts.`)
    return { action: 'closed', number: found.number, url: found.html_url }
  }
  const title = driftIssueTitle(drifted.length)
  const body = truncateText(renderDriftIssue(report, runUrl), BODY_LIMIT)
  if (!found) {
    const created = await gh.rest.issues.create({ owner, repo, title, body })
    logger.info(`Opened drift issue #${created.data.number}.`)
    return { action: 'opened', number: created.data.number, url: created.data.html_url }
  }
  const reopen = found.state !== 'open'
  await gh.rest.issues.update({
    owner,
    repo,
    issue_number: found.number,
    title,
    body,
    ...(reopen ? { state: 'open' as const } : {})
  })
  if (reopen) {
    await gh.rest.issues.createComment({
      owner,
      repo,
      issue_number: found.number,
      body: `Drift is back: ${drifted.map(escapeMarkdown).join(', ')} ${drifted.length === 1 ? 'does' : 'do'} not run what ${drifted.length === 1 ? 'it' : 'they'} should${run}.`
    })
    logger.info(`Reopened drift issue #${found.number}.`)
    return { action: 'reopened', number: found.number, url: found.html_url }
  }
  logger.info(`Updated drift issue #${found.number}.`)
  return { action: 'updated', number: found.number, url: found.html_url }
}

/** The warning for an issue that could not be kept, naming the permission. */
export function issueFailure(err: unknown): string {
  return `Could not keep the drift issue: ${describeError(err).replace(/\.$/, '')} (the token needs issues: write).`
}
