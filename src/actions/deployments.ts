/**
 * GitHub deployment records for the `environment` input: one deployment per host, with an
 * in_progress status when its deploy starts and success or failure at the end, each linking the
 * run (`log_url`) and naming who approved it when GitHub reports it.
 * A record is a convenience: failures to write one are warnings, never a failed deploy.
 *
 * How they relate to the job's own deployment: a job with `environment:` makes GitHub create one
 * deployment for the job (the run, approved as a whole). The per-host records are extra records
 * in the same environment, with `task: deploy:<host>`, one per host and run, so the environment's
 * history says which host runs what. Every status is written with `auto_inactive: false`:
 * GitHub's default (true) marks every earlier successful deployment of a non-production
 * environment inactive, so each host's record would hide the other hosts' and the job's own.
 */
import { octokit } from './octokit.js'
import { describeError } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import type { HostResult } from '../core/model.js'
import { runSummaryUrl } from './pr-comment.js'

export class DeploymentRecorder {
  private readonly ids = new Map<string, number>()
  private warned = false

  constructor(
    private readonly token: string,
    private readonly environment: string,
    private readonly logger: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Who approved the run (`alice, bob`), '' when nobody is on record. */
    private readonly approvedBy = ''
  ) {}

  private client() {
    return octokit(this.token, this.env.GITHUB_API_URL || 'https://api.github.com')
  }

  private repo(): { owner: string; repo: string } | null {
    const [owner, repo] = (this.env.GITHUB_REPOSITORY ?? '').split('/')
    return owner && repo ? { owner, repo } : null
  }

  private warn(what: string, err: unknown): void {
    if (this.warned) return
    this.warned = true
    this.logger.warning(
      `Could not ${what} in environment '${this.environment}': ${describeError(err)} (the deploy itself is not affected; the token needs deployments: write).`
    )
  }

  async start(host: string, storePath: string): Promise<void> {
    const repo = this.repo()
    if (!repo || !this.token) return
    try {
      const gh = await this.client()
      const created = await gh.rest.repos.createDeployment({
        ...repo,
        ref: this.env.GITHUB_SHA || this.env.GITHUB_REF || 'HEAD',
        environment: this.environment,
        task: `deploy:${host}`.slice(0, 100),
        description: `${host}: ${storePath}`.slice(0, 140),
        auto_merge: false,
        required_contexts: [],
        payload: {
          host,
          storePath,
          ...(this.approvedBy ? { approvedBy: this.approvedBy } : {}),
          ...(runSummaryUrl(this.env) ? { run: runSummaryUrl(this.env) } : {})
        },
        transient_environment: false
      })
      const id = (created.data as { id?: number }).id
      if (typeof id !== 'number') return
      this.ids.set(host, id)
      await gh.rest.repos.createDeploymentStatus({
        ...repo,
        deployment_id: id,
        state: 'in_progress',
        log_url: runSummaryUrl(this.env),
        description:
          `Deploying ${host}${this.approvedBy ? `, approved by ${this.approvedBy}` : ''}`.slice(
            0,
            140
          ),
        auto_inactive: false
      })
    } catch (err) {
      this.warn(`record the deployment of ${host}`, err)
    }
  }

  async finish(result: HostResult): Promise<void> {
    const repo = this.repo()
    const id = this.ids.get(result.host)
    if (!repo || id === undefined) return
    const ok = result.status === 'deployed' || result.status === 'unchanged'
    try {
      await (
        await this.client()
      ).rest.repos.createDeploymentStatus({
        ...repo,
        deployment_id: id,
        state: ok ? 'success' : 'failure',
        log_url: runSummaryUrl(this.env),
        description: (ok
          ? `${result.host} runs ${result.storePath}${this.approvedBy ? `, approved by ${this.approvedBy}` : ''}`
          : (result.error ?? `${result.host} ${result.status}`)
        ).slice(0, 140),
        auto_inactive: false
      })
    } catch (err) {
      this.warn(`update the deployment of ${result.host}`, err)
    }
  }
}

/**
 * Hosts among `hosts` whose last deploy in `environment` did not succeed, with the reason: the
 * newest per-host record (`task: deploy:<host>`) and its newest status, two reads per host. A
 * host with no record, or whose last record succeeded (or was superseded), is left out; so is every host when the
 * records cannot be read (a notice says so: the matrix then skips unchanged hosts as before).
 */
export async function failedLastDeploys(
  token: string,
  environment: string,
  hosts: string[],
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env
): Promise<Record<string, string>> {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  const out: Record<string, string> = {}
  if (!owner || !repo) return out
  try {
    const gh = await octokit(token, env.GITHUB_API_URL || 'https://api.github.com')
    for (const host of hosts) {
      const deps = await gh.rest.repos.listDeployments({
        owner,
        repo,
        environment,
        task: `deploy:${host}`.slice(0, 100),
        per_page: 1
      })
      const last = deps.data[0]
      if (!last) continue
      const statuses = await gh.rest.repos.listDeploymentStatuses({
        owner,
        repo,
        deployment_id: last.id,
        per_page: 1
      })
      const state = statuses.data[0]?.state
      // success: running it; inactive: superseded after a success. Anything else (failure,
      // error, or a deploy that never finished) means the host may not run this system.
      if (state !== 'success' && state !== 'inactive')
        out[host] =
          `unchanged, but its last deploy to ${environment} ended in ${state ?? 'no status'}`
    }
  } catch (err) {
    ;(logger.notice ?? logger.info).call(
      logger,
      `Could not read the deployment records of environment '${environment}' (${describeError(err)}); unchanged hosts are left out even if their last deploy failed (the token needs deployments: read).`
    )
  }
  return out
}
