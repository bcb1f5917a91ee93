/** The `diff` action: the closure diff of two systems, as outputs, files, summary and comment. */
import * as core from './runner-protocol.js'
import { defaultBool } from '../commands/inputs.js'
import { diffCommand, diffReportCommand, type DiffReport } from '../commands/diff.js'
import { diffFileOutputs, diffLevels, writeDiffFiles, type DiffFiles } from '../core/build.js'
import { ActionError } from '../core/errors.js'
import { parseBool, parsePositiveInt } from '../core/inputs.js'
import type { Logger } from '../core/log.js'
import { diffSummary, reportSummary } from '../core/render-build.js'
import { readEvent } from './event.js'
import { input, outputDir, runAction, setOutputs, workspace, writeSummary } from './runtime.js'

export { diffSummary, reportSummary }

type PullRequest = { owner: string; repo: string; number: number }

/**
 * The comment code (the sticky comment's format, its compression, the GitHub client), loaded only
 * when the step comments: a diff that writes no comment should not pay for compiling it.
 */
const prComment = () => import('./pr-comment.js')

/**
 * The pull request to comment on: the event's, or the `pull-request` input. On a `workflow_run`
 * event from a fork GitHub gives no pull request, so the second workflow passes the number it
 * read from the first one's artifact: that number comes from the pull request's own run, so it is
 * only used when that pull request's head commit is the commit the workflow run built (otherwise
 * a pull request could direct its report into another one). Null (with a notice or a warning
 * saying why) when there is nothing to comment on.
 */
async function pullRequestToComment(log: Logger, token: string): Promise<PullRequest | null> {
  const { pullRequestFromPayload } = await prComment()
  const { name: eventName, payload } = readEvent()
  const fromEvent = pullRequestFromPayload(payload, eventName)
  const explicit = parsePositiveInt('pull-request', input('pull-request'), 0, { max: 2 ** 31 - 1 })
  if (!explicit) {
    if (!fromEvent) {
      core.notice(
        `comment is true, but this run (event '${eventName || 'unknown'}') has no pull request to comment on${eventName === 'workflow_run' ? " (GitHub names none for a run from a fork: pass its number in 'pull-request')" : ''}; the diff is in the job summary.`
      )
    }
    return fromEvent
  }
  if (fromEvent) {
    if (fromEvent.number !== explicit) {
      throw new ActionError(
        `Input 'pull-request' is ${explicit}, but this run's event is about pull request #${fromEvent.number}.`,
        { input: 'pull-request' }
      )
    }
    return fromEvent
  }
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo) {
    throw new ActionError(
      "Input 'pull-request' needs GITHUB_REPOSITORY (owner/name) to know the repository.",
      { input: 'pull-request' }
    )
  }
  const pr = { owner, repo, number: explicit }
  const run = (payload as { workflow_run?: Record<string, unknown> } | null)?.workflow_run
  if (eventName !== 'workflow_run') return pr
  const headSha = typeof run?.head_sha === 'string' ? run.head_sha : ''
  let prHead = ''
  try {
    const gh = await (await import('./octokit.js')).octokit(token)
    const { data } = await gh.rest.pulls.get({
      owner,
      repo,
      pull_number: explicit,
      request: { signal: AbortSignal.timeout(30_000) }
    })
    prHead = data.head.sha
  } catch (err) {
    const status = (err as { status?: number }).status
    log.warning(
      `Could not read pull request ${owner}/${repo}#${explicit} (input 'pull-request') to check it is the one the workflow run built (${status ?? 'no answer'}), so the comment was not written; the diff is in the job summary.`
    )
    return null
  }
  if (!headSha || prHead !== headSha) {
    log.warning(
      `Pull request ${owner}/${repo}#${explicit} (input 'pull-request') has head commit ${prHead.slice(0, 12) || 'unknown'}, not the commit ${headSha.slice(0, 12) || '(none in the event)'} the workflow run built, so the comment was not written (a newer push will comment again); the diff is in the job summary.`
    )
    return null
  }
  return pr
}

/** Puts each report's section into the pull request's sticky comment. Never fails on GitHub's side. */
async function commentReports(log: Logger, reports: DiffReport[]): Promise<void> {
  const token = input('github-token')
  if (!token) {
    log.warning(
      "Input 'github-token' is empty, so the pull request comment was not written; the diff is in the job summary."
    )
    return
  }
  const pr = await pullRequestToComment(log, token)
  if (!pr) return
  const { headShaFromPayload, runSummaryUrl, upsertSection } = await prComment()
  // The commit each section was built for: sections of an older push are then marked stale.
  const { name: eventName, payload } = readEvent()
  const headSha = headShaFromPayload(payload, eventName)
  await log.group(`Pull request comment (${pr.owner}/${pr.repo}#${pr.number})`, async () => {
    for (const r of reports) {
      await upsertSection({
        token,
        owner: pr.owner,
        repo: pr.repo,
        issue: pr.number,
        section: {
          host: r.label,
          kind: 'diff',
          changed: r.diff.changed,
          summary: r.diff.summary,
          levels: diffLevels(r.diff),
          updatedAt: new Date().toISOString(),
          runUrl: runSummaryUrl(),
          ...(headSha ? { headSha } : {})
        },
        author: input('comment-author') || undefined,
        summaryUrl: runSummaryUrl(),
        logger: log
      })
    }
  })
}

async function runReport(log: Logger, comment: boolean): Promise<void> {
  for (const name of ['before', 'after', 'host'])
    if (input(name))
      throw new ActionError(
        `Inputs 'report' and '${name}' are both given; with 'report' the diffs come from the report files.`,
        { input: name }
      )
  parsePositiveInt('pull-request', input('pull-request'), 0, { max: 2 ** 31 - 1 }) // checked early
  const reports = diffReportCommand({ get: input, cwd: workspace(), logger: log })
  let files: DiffFiles | null = null
  for (const r of reports) files = writeDiffFiles(r.diff, outputDir(), r.label)
  const changed = reports.filter(r => r.diff.changed).length
  setOutputs({
    changed: String(changed > 0),
    'diff-summary':
      reports.length === 1
        ? reports[0].diff.summary
        : `${changed} of ${reports.length} hosts change`,
    ...diffFileOutputs(reports.length === 1 ? files : null)
  })
  if (comment) await commentReports(log, reports)
  await writeSummary(reportSummary(reports))
}

export async function runDiff(): Promise<void> {
  await runAction('diff', async log => {
    const comment = parseBool('comment', input('comment'), defaultBool('diff', 'comment'))
    if (input('report')) return runReport(log, comment)
    if (input('pull-request'))
      throw new ActionError(
        "Input 'pull-request' is only read with 'report'; otherwise the pull request is the event's.",
        { input: 'pull-request' }
      )
    const run = await diffCommand({ get: input, cwd: workspace(), logger: log })
    const files = writeDiffFiles(run.diff, outputDir(), run.label)
    setOutputs({
      changed: String(run.diff.changed),
      'diff-summary': run.diff.summary,
      ...diffFileOutputs(files)
    })
    log.info(`${run.label}: ${run.diff.summary}`)
    if (comment) {
      const { commentDiff } = await prComment()
      await commentDiff(
        log,
        input('github-token'),
        {
          host: run.label,
          changed: run.diff.changed,
          summary: run.diff.summary,
          diff: run.diff
        },
        input('comment-author') || undefined
      )
    }
    await writeSummary(diffSummary(run) + '\n')
  })
}
