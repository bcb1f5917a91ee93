/**
 * The sticky pull request comment over the GitHub REST API (@actions/github). The format and
 * the merging are `src/core/sticky-comment.ts`; this file finds the comment, writes it and makes
 * sure no host's section is lost when many matrix jobs write at once.
 *
 * GitHub has no conditional update for comments, so concurrency is handled optimistically:
 * read, merge your section, write, wait a moment, read back; if your section is not there (a
 * writer that read before you wrote has overwritten it) or there are two sticky comments (two
 * writers created the first one at once), do it again after a random, growing delay. The oldest
 * sticky comment is the one every writer keeps (all writers pick the same one); the sections of
 * any newer duplicate are merged into it and the duplicate is deleted. A writer checks its own
 * section in the oldest comment, so a section that was only in a deleted duplicate is written
 * again by its own job.
 *
 * Only comments written by the token's own identity count (`author`: `github-actions[bot]` for
 * the workflow's GITHUB_TOKEN, the App's bot user for an App token). A comment by anyone else
 * that carries the marker is ignored, with a warning, and never edited or deleted: anyone who
 * can comment on the pull request could otherwise forge the sections shown, or have this action
 * edit or delete their comment.
 *
 * The comment is a convenience and the job summary is the record: nothing here throws. A token
 * without write access (a pull request from a fork) gives `skipped-no-permission` and a warning;
 * anything else that goes wrong gives `failed` and one sentence, and the caller decides.
 */
import { readEvent, readEventFile } from './event.js'
import { isLateRequest, octokit, RATE_LIMIT_MAX_WAIT_S, sendBy, type Octokit } from './octokit.js'
import { diffLevels } from '../core/build.js'
import type { ClosureDiff } from '../core/diff.js'
import { ActionError, describeError } from '../core/errors.js'
import { escapeMarkdown } from '../core/markdown.js'
import type { Logger } from '../core/log.js'
import {
  commentMarker,
  fitComment,
  isSameOrNewer,
  isCommit,
  isStickyComment,
  markStale,
  mergeSections,
  parseComment,
  sectionKey,
  type HostSection
} from '../core/sticky-comment.js'

export interface UpsertOptions {
  token: string
  owner: string
  repo: string
  /** The pull request's number (its issue number). */
  issue: number
  section: HostSection
  /** The run's page, where the job summaries hold the full detail. */
  summaryUrl?: string
  /** Keeps a separate comment per id (two workflows commenting on the same pull request). */
  commentId?: string
  /** The login that writes with `token`: only its comments are the sticky comment (default `github-actions[bot]`). */
  author?: string
  logger: Logger
  /** The REST API's URL (default GITHUB_API_URL, then https://api.github.com). */
  baseUrl?: string
  /** The comment's heading. */
  title?: string
  /** Longest body (default GitHub's 65,536 characters). */
  maxChars?: number
  /**
   * Read-merge-write rounds before giving up (default 8): a round starts again only when another
   * writer overwrote this section. Failed requests are retried by the client (plugin-retry, and
   * plugin-throttling for GitHub's rate limits, which waits as GitHub says).
   */
  maxAttempts?: number
  /** Unit of the client's retry delays for failed requests (1, 4, 9 × this), ms; default 1000. */
  retryBaseMs?: number
  /** Retries of a failed request; default 3. */
  retries?: number
  /** Longest extra wait after a repeated secondary-limit answer, seconds (default 60). */
  secondaryBackoffCapS?: number
  /** Random delay before a new round, ms: from `min` up to a ceiling that doubles each round, at most `max` (default 200-2000). */
  retryDelayMs?: { min: number; max: number }
  /**
   * How long after starting its read a writer may still send the write merged from it, ms
   * (default 3000). A write that waited longer (in the client's queue, or for a rate limit) is
   * not sent: the writer reads and merges again. This bounds how late a stale write can land.
   */
  freshMs?: number
  /**
   * Wait between writing and reading back, beyond `freshMs`, ms. Another writer that read the
   * comment before our write sends its (stale) write within `freshMs` of its read; reading back
   * `freshMs` plus this margin after our write catches it. Default: twice our own write's
   * round trip, at least 1 s, at most 5 s.
   */
  settleMs?: number
  /** Longest time the whole update may take, ms, rate-limit waits included (default 15 min). */
  maxWaitMs?: number
  /** The client's throttling queue (see `ClientOptions.queue`): tests give each writer its own, as jobs have. */
  queue?: string
  /** Timeout of each request, ms (default 30 s). */
  requestTimeoutMs?: number
}

export interface UpsertResult {
  status: 'written' | 'skipped-no-permission' | 'failed'
  commentUrl?: string
  message?: string
}

interface StickyComment {
  id: number
  body: string
  html_url: string
}

/** An Octokit error's HTTP status and message, without depending on its class. */
function httpError(err: unknown): { status?: number; message: string; rateLimited: boolean } {
  const e = err as {
    status?: unknown
    message?: unknown
    response?: { headers?: Record<string, unknown> }
  }
  const status = typeof e?.status === 'number' ? e.status : undefined
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err)
  const headers = e?.response?.headers ?? {}
  const rateLimited =
    status === 429 ||
    (status === 403 &&
      (String(headers['x-ratelimit-remaining']) === '0' || /rate limit/i.test(message)))
  return { status, message, rateLimited }
}

type Step = 'list' | 'create' | 'update' | 'delete'

class NoPermission extends Error {}
class Fatal extends Error {}
/** Another writer changed the comment under us: read, merge and write again. */
class Conflict extends Error {}

/** Sorts a failed request into: no permission (stop, warn), fatal (stop, fail) or worth retrying. */
function classify(err: unknown, step: Step): Error {
  // Not a request that failed: a mistake in what was asked (an ActionError) or a bug.
  if (err instanceof ActionError) return new Fatal(err.message)
  const { status, message, rateLimited } = httpError(err)
  if (rateLimited)
    return new Fatal(`GitHub's rate limit was still hit after waiting as told (${message})`)
  if (status === 403) return new NoPermission(`${status} ${message}`)
  // A 404 on a comment we just listed: another writer deleted it as a duplicate. Elsewhere, the
  // pull request is not visible to the token.
  if (status === 404)
    return step === 'update'
      ? new Conflict('the comment was deleted meanwhile')
      : new NoPermission(`${status} ${message}`)
  if (status === 401) return new Fatal(`GitHub refused the token (401 ${message})`)
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409) {
    return new Fatal(
      `GitHub answered ${status} ${message} to ${step === 'list' ? 'listing the comments' : `the ${step} of the comment`}`
    )
  }
  const attempts = attemptsOf(err)
  return new Fatal(
    `${status === undefined ? message : `${status} ${message}`}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`
  )
}

/** How many times the client sent the failed request (plugin-retry counts the retries). */
function attemptsOf(err: unknown): number {
  const n = (err as { request?: { request?: { retryCount?: unknown } } })?.request?.request
    ?.retryCount
  return typeof n === 'number' ? n + 1 : 1
}

/** Who writes with the workflow's GITHUB_TOKEN. */
export const DEFAULT_COMMENT_AUTHOR = 'github-actions[bot]'

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

/**
 * Puts `section` into the pull request's sticky comment (creating the comment if there is none)
 * and checks it stayed there. Never throws.
 */
export async function upsertSection(opts: UpsertOptions): Promise<UpsertResult> {
  const where = `${opts.owner}/${opts.repo}#${opts.issue}`
  const what = `${opts.section.host} (${opts.section.kind})`
  const log = opts.logger
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 8)
  const delay = opts.retryDelayMs ?? { min: 200, max: 2000 }
  const timeoutMs = opts.requestTimeoutMs ?? 30_000
  const freshMs = Math.max(0, opts.freshMs ?? 3000)
  const deadline = Date.now() + (opts.maxWaitMs ?? RATE_LIMIT_MAX_WAIT_S * 1000)
  const key = sectionKey(opts.section)

  let gh: Octokit
  try {
    commentMarker(opts.commentId) // refuses an id that cannot be a marker, before any request
    gh = await octokit(opts.token, opts.baseUrl, {
      retryBaseMs: opts.retryBaseMs,
      retries: opts.retries,
      secondaryBackoffCapS: opts.secondaryBackoffCapS,
      requestTimeoutMs: timeoutMs,
      queue: opts.queue,
      onWait: (seconds, kind, retry) =>
        log.info(
          `GitHub's ${kind} rate limit on ${where}: waiting ${seconds} s as GitHub says (retry ${retry}).`
        )
    })
  } catch (err) {
    return failed(log, where, describeError(err).replace(/\.$/, ''))
  }
  // The client times each HTTP exchange itself (from when it is sent, not while it is queued).
  const request = () => ({})
  const base = { owner: opts.owner, repo: opts.repo }

  let author = (opts.author || DEFAULT_COMMENT_AUTHOR).toLowerCase()
  const ignored = new Set<number>()
  /** Every sticky comment (with our id) by `author` on the pull request, oldest first, all pages. */
  const listSticky = async (): Promise<StickyComment[]> => {
    const all = await gh.paginate(gh.rest.issues.listComments, {
      ...base,
      issue_number: opts.issue,
      per_page: 100,
      request: request()
    })
    const marked = all.filter(c => isStickyComment(c.body, opts.commentId))
    for (const c of marked) {
      const login = c.user?.login ?? ''
      if (login.toLowerCase() === author || ignored.has(c.id)) continue
      ignored.add(c.id)
      log.warning(
        `Comment ${c.id} on ${where} carries this action's marker but was written by ${JSON.stringify(login || 'an unknown user')}, not ${JSON.stringify(author)} (input 'comment-author'): ignored, neither read nor edited. It may be a forgery; the real comment is the one by ${JSON.stringify(author)}.`
      )
    }
    return marked
      .filter(c => (c.user?.login ?? '').toLowerCase() === author)
      .map(c => ({ id: c.id, body: c.body ?? '', html_url: c.html_url }))
      .sort((a, b) => a.id - b.id)
  }

  let lastProblem = ''
  // A round starts again (after a random, growing delay) when another writer overwrote this
  // section; at once, without counting, when the write waited too long to be sent (`freshMs`).
  let attempt = 1
  let late = 0
  for (let again = false; attempt <= maxAttempts; again = true) {
    if (again && Date.now() > deadline) {
      return failed(
        log,
        where,
        `gave up after ${Math.round((opts.maxWaitMs ?? RATE_LIMIT_MAX_WAIT_S * 1000) / 1000)} s (last: ${lastProblem})`
      )
    }
    if (again && late === 0) {
      const ceiling = Math.min(delay.max, delay.min * 2 ** (attempt - 1))
      await sleep(delay.min + Math.random() * Math.max(0, ceiling - delay.min))
    }
    late = 0
    let step: Step = 'list'
    try {
      const readAt = Date.now()
      const sticky = await listSticky()
      // Sections of hosts this push left out (built for an older head commit) are marked stale.
      const merged = markStale(
        mergeSections(
          ...sticky.map(c => parseComment(c.body, { id: opts.commentId })?.sections ?? []),
          [opts.section]
        ),
        opts.section
      )
      const fitted = fitComment(merged, {
        maxChars: opts.maxChars,
        summaryUrl: opts.summaryUrl,
        title: opts.title,
        id: opts.commentId
      })
      if (fitted.dropped.includes(key)) {
        return failed(
          log,
          where,
          `the comment has no room left for ${what} among ${merged.length} sections; its detail is in the job summary`
        )
      }

      // Write into the oldest sticky comment, or create the first one.
      let target: StickyComment
      if (sticky.length === 0) {
        step = 'create'
        const { data } = await gh.rest.issues.createComment({
          ...base,
          issue_number: opts.issue,
          body: fitted.body,
          request: request()
        })
        target = { id: data.id, body: data.body ?? '', html_url: data.html_url }
        // The token's identity is whoever GitHub says wrote this comment. When it is not the
        // configured author (an App token with the default), keep to it for this run and say so:
        // later runs would not find this comment.
        const login = data.user?.login ?? ''
        if (login && login.toLowerCase() !== author) {
          log.warning(
            `The token writes comments as ${JSON.stringify(login)}, not ${JSON.stringify(author)}: set input 'comment-author' to ${JSON.stringify(login)}, or later runs will not find the comment on ${where} and write a new one.`
          )
          author = login.toLowerCase()
        }
      } else {
        target = sticky[0]
        if (target.body !== fitted.body) {
          step = 'update'
          await gh.rest.issues.updateComment({
            ...base,
            comment_id: target.id,
            body: fitted.body,
            // Sent only while what it was merged from is fresh; otherwise read and merge again.
            request: sendBy(readAt + freshMs, timeoutMs)
          })
        }
      }
      // Newer duplicates: their sections are in what was just written.
      step = 'delete'
      for (const extra of sticky.slice(1)) {
        try {
          await gh.rest.issues.deleteComment({ ...base, comment_id: extra.id, request: request() })
          log.debug(`Deleted duplicate sticky comment ${extra.id} on ${where}.`)
        } catch (err) {
          if (httpError(err).status !== 404) throw err
          // 404: another writer deleted it first and is deleting the others; leave them to it
          // (each content-creating request counts against GitHub's secondary limits). Any left
          // are seen on reading back, and deleted in the next round.
          break
        }
      }

      // Read back once any writer that read before our write has had time to write: it sends
      // within `freshMs` of its read, or not at all.
      const written = Date.now()
      await sleep(
        freshMs + (opts.settleMs ?? Math.min(5000, Math.max(1000, 2 * (written - readAt))))
      )
      step = 'list'
      const after = await listSticky()
      const kept =
        after[0] &&
        parseComment(after[0].body, { id: opts.commentId })?.sections.find(
          s => sectionKey(s) === key
        )
      if (kept && isSameOrNewer(kept, opts.section) && after.length === 1) {
        log.info(
          `Wrote ${what} into the pull request comment on ${where}${attempt > 1 ? ` (attempt ${attempt})` : ''}: ${after[0].html_url}`
        )
        return { status: 'written', commentUrl: after[0].html_url }
      }
      lastProblem =
        after.length === 0
          ? 'the comment was deleted meanwhile'
          : !kept || !isSameOrNewer(kept, opts.section)
            ? 'another job overwrote the section'
            : `${after.length} sticky comments exist`
      log.debug(
        `Pull request comment on ${where}, attempt ${attempt}: ${lastProblem}; trying again.`
      )
      attempt++
    } catch (err) {
      if (isLateRequest(err)) {
        late++
        lastProblem = `the write waited longer than ${freshMs} ms after its read (rate limit or queue)`
        log.debug(`Pull request comment on ${where}: ${lastProblem}; reading again.`)
        continue
      }
      const problem = classify(err, step)
      if (problem instanceof NoPermission) {
        const message =
          `Cannot write the pull request comment on ${where}: the token has no write access to it (${problem.message}), ` +
          'as for a pull request from a fork. The diff is in the job summary. To comment on pull requests from forks, ' +
          'post the comment from a workflow triggered by `workflow_run`, whose token can write.'
        log.warning(message)
        return { status: 'skipped-no-permission', message }
      }
      if (problem instanceof Fatal) return failed(log, where, `gave up: ${problem.message}`)
      lastProblem = problem.message
      log.debug(
        `Pull request comment on ${where}, attempt ${attempt}: ${lastProblem}; trying again.`
      )
      attempt++
    }
  }
  return failed(log, where, `gave up after ${maxAttempts} attempts (last: ${lastProblem})`)
}

function failed(log: Logger, where: string, reason: string): UpsertResult {
  const message = `The pull request comment on ${where} was not updated: ${reason}. The diff is in the job summary.`
  log.warning(message)
  return { status: 'failed', message }
}

/**
 * The pull request an event is about, from the event payload (GITHUB_EVENT_PATH):
 * `pull_request`, `pull_request_target` and the review events carry it; `issue_comment` on a
 * pull request too; a `workflow_run` event has it in `workflow_run.pull_requests[0]` (GitHub
 * leaves that empty for runs from forks). Anything else, or a payload that cannot be read or is
 * not shaped as expected, gives null: not a pull request, no comment, no error. A caller that was
 * explicitly asked for a comment should say so in a notice.
 */
export function pullRequestFromEvent(
  eventPath: string,
  eventName: string
): { owner: string; repo: string; number: number } | null {
  return pullRequestFromPayload(readEventFile(eventPath), eventName)
}

/** `pullRequestFromEvent` on a payload already read (`readEvent().payload`). */
export function pullRequestFromPayload(
  data: unknown,
  eventName: string
): { owner: string; repo: string; number: number } | null {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null
  const payload = data as Record<string, unknown>
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined

  let number: unknown
  switch (eventName) {
    case 'pull_request':
    case 'pull_request_target':
    case 'pull_request_review':
    case 'pull_request_review_comment':
      number = obj(payload.pull_request)?.number ?? payload.number
      break
    case 'issue_comment': {
      const issue = obj(payload.issue)
      if (!issue || !obj(issue.pull_request)) return null
      number = issue.number
      break
    }
    case 'workflow_run': {
      const prs = obj(payload.workflow_run)?.pull_requests
      number = Array.isArray(prs) ? obj(prs[0])?.number : undefined
      break
    }
    default:
      return null
  }
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0) return null

  // The comment goes to the repository the workflow runs in (the pull request's base).
  const repository = obj(payload.repository)
  let owner = obj(repository?.owner)?.login
  let repo = repository?.name
  if (
    (typeof owner !== 'string' || typeof repo !== 'string') &&
    typeof repository?.full_name === 'string'
  ) {
    ;[owner, repo] = repository.full_name.split('/')
  }
  if (typeof owner !== 'string' || typeof repo !== 'string' || !owner || !repo) return null
  return { owner, repo, number }
}

/**
 * The pull request's head commit the run builds, from the event payload: `pull_request.head.sha`
 * (not GITHUB_SHA, which is the test merge commit and changes when the base branch moves), or
 * `workflow_run.head_sha`. Undefined when the payload has none or it is not a commit's hex name.
 */
export function headShaFromPayload(data: unknown, eventName: string): string | undefined {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined
  const payload = data as Record<string, unknown>
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  const sha =
    eventName === 'workflow_run'
      ? obj(payload.workflow_run)?.head_sha
      : obj(obj(payload.pull_request)?.head)?.sha
  return isCommit(sha) ? sha : undefined
}

/** The run's page (`${GITHUB_SERVER_URL}/${repo}/actions/runs/${id}`), where the job summaries are. */
export function runSummaryUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '')
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return undefined
  const attempt =
    env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== '1'
      ? `/attempts/${env.GITHUB_RUN_ATTEMPT}`
      : ''
  return `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${attempt}`
}

/**
 * Puts one host's section into the pull request's sticky comment, for the actions' `comment:
 * true`. Never fails the step: no pull request is a notice, a missing or read-only token a
 * warning; `what` names what stays in the job summary ("diff", "report").
 */
export async function commentSection(
  log: Logger,
  token: string,
  section: Omit<HostSection, 'updatedAt' | 'runUrl'>,
  what: string,
  author = DEFAULT_COMMENT_AUTHOR
): Promise<void> {
  const { name: eventName, payload } = readEvent()
  const pr = pullRequestFromPayload(payload, eventName)
  if (!pr) {
    const message = `comment is true, but this run (event '${eventName || 'unknown'}') has no pull request to comment on; the ${what} is in the job summary.`
    if (log.notice) log.notice(message)
    else log.info(message)
    return
  }
  if (!token) {
    log.warning(
      `Input 'github-token' is empty, so the pull request comment was not written; the ${what} is in the job summary.`
    )
    return
  }
  const headSha = headShaFromPayload(payload, eventName)
  const full: HostSection = {
    ...section,
    updatedAt: new Date().toISOString(),
    runUrl: runSummaryUrl(),
    ...(headSha ? { headSha } : {})
  }
  await log.group(`Pull request comment (${pr.owner}/${pr.repo}#${pr.number})`, () =>
    upsertSection({
      token,
      owner: pr.owner,
      repo: pr.repo,
      issue: pr.number,
      section: full,
      author,
      summaryUrl: runSummaryUrl(),
      logger: log
    })
  )
}

/** What goes into the sticky comment for one host's diff. */
export interface CommentContent {
  host: string
  changed: boolean
  summary: string
  diff: ClosureDiff | null
  /** Plain text shown instead of a diff (a new host). */
  note?: string
}

/**
 * Puts the host's section (kind `diff`) into the pull request's sticky comment. Never fails the
 * step: no pull request is a notice, a missing or read-only token a warning.
 */
export async function commentDiff(
  log: Logger,
  token: string,
  content: CommentContent,
  author?: string
): Promise<void> {
  const levels = content.diff
    ? diffLevels(content.diff)
    : (() => {
        const text = escapeMarkdown(content.note ?? content.summary)
        return { full: text, selected: text, summary: text }
      })()
  const section = {
    host: content.host,
    kind: 'diff',
    changed: content.changed,
    summary: content.summary,
    levels
  }
  await commentSection(log, token, section, 'diff', author)
}
