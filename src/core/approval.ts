/**
 * Approval on record: what GitHub says about a deploy environment's protection rules and about
 * who approved the run, turned into the sentences the summary, the deployment records and the
 * log carry. Plain data in, plain data out; the adapter fetches it.
 *
 * Required reviewers exist for public repositories, and for private or internal ones on GitHub
 * Enterprise plans only: on other plans an environment admits every job without review, so the
 * deploy warns (and refuses with `require-reviewers: true`).
 */
import { ActionError } from './errors.js'
import { escapeMarkdown, inlineCode } from './markdown.js'

/** The environment as `GET /repos/{owner}/{repo}/environments/{name}` describes it (the parts read). */
export interface EnvironmentRules {
  protection_rules?: {
    type?: string
    reviewers?: {
      type?: string
      reviewer?: { login?: string; slug?: string; name?: string } | null
    }[]
  }[]
}

/** One entry of `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`. */
export interface RunReview {
  environments?: { name?: string }[]
  state?: string
  comment?: string
  user?: { login?: string } | null
}

export interface Approval {
  environment: string
  /** Required reviewers (user logins, team slugs); null: not known (the API did not answer). */
  reviewers: string[] | null
  /** Who approved this run for this environment; null: not known. */
  approvedBy: { login: string; comment: string }[] | null
}

/** The required reviewers an environment names ([] when it has no required_reviewers rule). */
export function requiredReviewers(env: EnvironmentRules): string[] {
  return (env.protection_rules ?? [])
    .filter(r => r.type === 'required_reviewers')
    .flatMap(r => r.reviewers ?? [])
    .map(r => r.reviewer?.login ?? r.reviewer?.slug ?? r.reviewer?.name ?? '')
    .filter(Boolean)
}

/** Who approved the run for `environment` (names compare case-insensitively, as GitHub's do). */
export function approvers(
  reviews: RunReview[],
  environment: string
): { login: string; comment: string }[] {
  const want = environment.toLowerCase()
  return reviews
    .filter(r => r.state === 'approved')
    .filter(r => (r.environments ?? []).some(e => (e.name ?? '').toLowerCase() === want))
    .map(r => ({ login: r.user?.login ?? 'unknown', comment: r.comment ?? '' }))
}

/** The refusal under `require-reviewers: true`, or null when the deploy may go on. */
export function reviewerRefusal(a: Approval, requireReviewers: boolean): string | null {
  if (!requireReviewers) return null
  if (a.reviewers === null)
    return `Refusing to deploy: the protection rules of environment '${a.environment}' could not be read, and require-reviewers is true (the token needs actions: read).`
  if (a.reviewers.length === 0)
    return `Refusing to deploy: environment '${a.environment}' has no required reviewers, and require-reviewers is true (add them under Settings → Environments → ${a.environment}).`
  return null
}

/** The warning when nobody was asked to approve (null when reviewers are required or unknown). */
export function noReviewersWarning(a: Approval): string | null {
  if (a.reviewers === null || a.reviewers.length > 0) return null
  return `Environment '${a.environment}' has no required reviewers, so nobody approved this deploy. Add them under Settings → Environments → ${a.environment} (public repositories, or private ones on GitHub Enterprise plans), and set require-reviewers: true to refuse without them.`
}

/** `alice, bob` (plain text, for records), or '' when nobody is on record. */
export function approversText(a: Approval): string {
  return (a.approvedBy ?? []).map(x => x.login).join(', ')
}

/** The summary's line on approval (Markdown). */
export function renderApproval(a: Approval): string {
  const env = inlineCode(a.environment)
  if (a.approvedBy === null)
    return `**Approval:** not known for environment ${env} (the token could not read the run's approvals; it needs actions: read).`
  if (a.approvedBy.length === 0)
    return a.reviewers && a.reviewers.length === 0
      ? `**Approval:** none: environment ${env} has no required reviewers.`
      : `**Approval:** no approval of this run is on record for environment ${env}.`
  const who = a.approvedBy
    .map(
      x =>
        `@${escapeMarkdown(x.login)}${x.comment ? ` (“${escapeMarkdown(x.comment.slice(0, 200))}”)` : ''}`
    )
    .join(', ')
  return `**Approved by** ${who} for environment ${env}.`
}

/** Throws the refusal as the step's one sentence. */
export function enforceReviewers(a: Approval, requireReviewers: boolean): void {
  const refusal = reviewerRefusal(a, requireReviewers)
  if (refusal) throw new ActionError(refusal)
}
