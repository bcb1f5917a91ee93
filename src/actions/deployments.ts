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
 *
 * The payload `{host, storePath}` is part of the public contract: the drift action
 * (`lastSuccessfulDeploys` below) reads each host's expected system from it.
 */
import { octokit, type Octokit } from './octokit.js'
import { ActionError, describeError } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import type { HostResult } from '../core/model.js'
import { runSummaryUrl } from './pr-comment.js'
import type { DeployedRecord } from '../commands/drift.js'

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
        task: hostTask(host),
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

/** The task of a host's own deployment records (GitHub keeps at most 100 characters of it). */
function hostTask(host: string): string {
  return `deploy:${host}`.slice(0, 100)
}

/**
 * The newest status of a deployment, and whether it means the host runs (or ran, until a later
 * deploy superseded it) the deployed system: `success`, or `inactive`, which GitHub sets on a
 * success once a newer deployment succeeds. Anything else (failure, error, a deploy that never
 * finished) does not.
 */
async function newestState(
  gh: Octokit,
  owner: string,
  repo: string,
  deploymentId: number
): Promise<{ state: string | undefined; succeeded: boolean }> {
  const statuses = await gh.rest.repos.listDeploymentStatuses({
    owner,
    repo,
    deployment_id: deploymentId,
    per_page: 1
  })
  const state = statuses.data[0]?.state
  return { state, succeeded: state === 'success' || state === 'inactive' }
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
        task: hostTask(host),
        per_page: 1
      })
      const last = deps.data[0]
      if (!last) continue
      const { state, succeeded } = await newestState(gh, owner, repo, last.id)
      if (!succeeded)
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

/** Deployments examined per host, newest first, before giving up on finding a successful one. */
const RECORDS_PER_HOST = 50

/**
 * Each host's last successful deployment in `environment`, from the records the deploy action
 * writes (`task: deploy:<host>`, `payload: {host, storePath}`): the newest deployment whose newest
 * status is `success` (or `inactive`: GitHub marks a success inactive once superseded). A host
 * with no such record maps to null. Records that cannot be read are an error naming the token's
 * permission: without them drift has nothing to compare with.
 */
export async function lastSuccessfulDeploys(
  token: string,
  environment: string,
  hosts: string[],
  env: NodeJS.ProcessEnv = process.env
): Promise<Map<string, DeployedRecord | null>> {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo)
    throw new ActionError(
      "expected: deployed reads the repository's deployment records, but GITHUB_REPOSITORY is not set (run it in a workflow, or use expected: flake).",
      { input: 'expected' }
    )
  const out = new Map<string, DeployedRecord | null>()
  try {
    const gh = await octokit(token, env.GITHUB_API_URL || 'https://api.github.com')
    for (const host of hosts) {
      out.set(host, null)
      let seen = 0
      for (let page = 1; seen < RECORDS_PER_HOST; page++) {
        const deps = await gh.rest.repos.listDeployments({
          owner,
          repo,
          environment,
          task: hostTask(host),
          per_page: 25,
          page
        })
        for (const d of deps.data) {
          seen++
          const storePath = recordedStorePath(d.payload, host)
          if (!storePath) continue
          if ((await newestState(gh, owner, repo, d.id)).succeeded) {
            out.set(host, { storePath, deploymentId: d.id, sha: d.sha, createdAt: d.created_at })
            break
          }
        }
        if (out.get(host) || deps.data.length < 25) break
      }
    }
  } catch (err) {
    if (err instanceof ActionError) throw err
    throw new ActionError(
      `Could not read the deployment records of environment '${environment}': ${describeError(err)} (the token needs deployments: read).`,
      { input: 'github-token' }
    )
  }
  return out
}

/**
 * The store path a deploy record names for `host`: its payload `{host, storePath}`, what the
 * deploy action writes. (Its description names the path too, but cut to GitHub's 140 characters.)
 */
export function recordedStorePath(payload: unknown, host: string): string | null {
  const valid = (p: unknown): p is string =>
    typeof p === 'string' && /^\/nix\/store\/[0-9a-z]{32}-[^/\s]+$/.test(p)
  let data = payload
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data)
    } catch {
      data = null
    }
  }
  if (data && typeof data === 'object') {
    const p = data as { host?: unknown; storePath?: unknown }
    if (p.host === host && valid(p.storePath)) return p.storePath
  }
  return null
}
