/**
 * GitHub deployment records for the `environment` input: one deployment per host, with an
 * in_progress status when its deploy starts and success or failure (linking the run) at the end.
 * A record is a convenience: failures to write one are warnings, never a failed deploy.
 */
import { octokit } from './octokit.js'
import { describeError } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import type { HostResult } from '../core/deploy/types.js'
import { runSummaryUrl } from './pr-comment.js'

export class DeploymentRecorder {
  private readonly ids = new Map<string, number>()
  private warned = false

  constructor(
    private readonly token: string,
    private readonly environment: string,
    private readonly logger: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env
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
        task: 'deploy',
        description: `${host}: ${storePath}`.slice(0, 140),
        auto_merge: false,
        required_contexts: [],
        payload: { host, storePath },
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
        description: `Deploying ${host}`.slice(0, 140)
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
          ? `${result.host} runs ${result.storePath}`
          : (result.error ?? `${result.host} ${result.status}`)
        ).slice(0, 140),
        auto_inactive: ok
      })
    } catch (err) {
      this.warn(`update the deployment of ${result.host}`, err)
    }
  }
}
