/**
 * Reads approval on record for a deploy: the environment's protection rules
 * (`GET /repos/{owner}/{repo}/environments/{name}`) and the run's approvals
 * (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`), both with `actions: read`.
 * What cannot be read is `null` (unknown), never an error: only `require-reviewers: true` turns
 * unknown or missing reviewers into a refusal (src/core/approval.ts).
 */
import { octokit } from './octokit.js'
import { describeError } from '../core/errors.js'
import {
  approvers,
  requiredReviewers,
  type Approval,
  type EnvironmentRules,
  type RunReview
} from '../core/approval.js'
import type { Logger } from '../core/log.js'

export async function readApproval(
  token: string,
  environment: string,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env
): Promise<Approval> {
  const approval: Approval = { environment, reviewers: null, approvedBy: null }
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo || !token) return approval
  const gh = await octokit(token, env.GITHUB_API_URL || 'https://api.github.com')
  try {
    const res = await gh.request('GET /repos/{owner}/{repo}/environments/{environment_name}', {
      owner,
      repo,
      environment_name: environment
    })
    approval.reviewers = requiredReviewers(res.data as EnvironmentRules)
  } catch (err) {
    // 404: nobody created the environment, so it has no rules.
    if ((err as { status?: number }).status === 404) approval.reviewers = []
    else
      (logger.notice ?? logger.info).call(
        logger,
        `Could not read the protection rules of environment '${environment}': ${describeError(err)} (the token needs actions: read).`
      )
  }
  const runId = Number(env.GITHUB_RUN_ID)
  if (Number.isSafeInteger(runId) && runId > 0) {
    try {
      const res = await gh.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals', {
        owner,
        repo,
        run_id: runId
      })
      approval.approvedBy = approvers(res.data as RunReview[], environment)
    } catch (err) {
      ;(logger.notice ?? logger.info).call(
        logger,
        `Could not read who approved this run: ${describeError(err)} (the token needs actions: read).`
      )
    }
  }
  return approval
}
