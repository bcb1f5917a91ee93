/** The `deploy` action (and the root action): health-gated deploy with automatic rollback. */
import { deployCommand, deployFailure, rollbackCommand } from '../commands/deploy.js'
import { renderDeployMarkdown } from '../core/deploy/render.js'
import { resultRecord } from '../core/model.js'
import { DeploymentRecorder } from './deployments.js'
import {
  input,
  rememberSshFolder,
  runAction,
  runnerTemp,
  setOutputs,
  workspace,
  writeSummary
} from './runtime.js'
import { refuseForkPullRequest } from './event.js'
import { readApproval } from './approval.js'
import {
  approversText,
  enforceReviewers,
  noReviewersWarning,
  renderApproval,
  type Approval
} from '../core/approval.js'
import { ActionError } from '../core/errors.js'
import { parseBool } from '../core/inputs.js'
import { parseTrustedKeys } from '../core/binary-cache.js'

export async function runDeploy(): Promise<void> {
  await runAction('deploy', async log => {
    refuseForkPullRequest('deploy')
    const environment = input('environment')
    const token = input('github-token')
    const requireReviewers = parseBool('require-reviewers', input('require-reviewers'), false)
    let approval: Approval | null = null
    if (environment) {
      approval = await readApproval(token, environment, log)
      enforceReviewers(approval, requireReviewers)
      const warning = noReviewersWarning(approval)
      if (warning) log.warning(warning)
    } else if (requireReviewers) {
      throw new ActionError(
        'require-reviewers is true but the environment input is empty: name the environment the deploy job runs in.'
      )
    }
    const recorder = environment
      ? new DeploymentRecorder(
          token,
          environment,
          log,
          process.env,
          approval ? approversText(approval) : ''
        )
      : null
    const run = await deployCommand(
      { get: input, cwd: workspace(), logger: log },
      {
        tempRoot: runnerTemp(),
        onSession: rememberSshFolder,
        ensureLocal: async (storePath, host) => {
          const r = await (
            await import('./actions-cache.js')
          ).restoreClosure(storePath, {
            logger: log,
            host,
            trustedKeys: parseTrustedKeys('trusted-public-keys', input('trusted-public-keys'))
          })
          return r.status === 'present' || r.status === 'restored'
        },
        onHostStart: recorder ? (host, storePath) => recorder.start(host, storePath) : undefined,
        onHostDone: recorder ? r => recorder.finish(r) : undefined
      }
    )
    const single = run.results.length === 1 ? run.results[0] : null
    setOutputs({
      status: run.status,
      'store-path': single?.storePath ?? '',
      'previous-store-path': single?.previousStorePath ?? '',
      results: JSON.stringify(run.results.map(resultRecord))
    })
    await writeSummary(
      (approval ? `${renderApproval(approval)}\n\n` : '') +
        renderDeployMarkdown(run.results, {
          title: `Deploy (${run.mode}${run.results.length > 1 ? `, ${run.strategy.kind === 'waves' ? `waves:${run.strategy.waves}` : run.strategy.kind}` : ''}): ${run.status}`,
          waves: run.waves,
          haltedAtWave: run.haltedAtWave
        })
    )
    return deployFailure(run.results)
  })
}

export async function runRollback(): Promise<void> {
  await runAction('rollback', async log => {
    refuseForkPullRequest('rollback')
    const run = await rollbackCommand(
      { get: input, cwd: workspace(), logger: log },
      { tempRoot: runnerTemp(), onSession: rememberSshFolder }
    )
    const single = run.results.length === 1 ? run.results[0] : null
    setOutputs({
      status: run.status,
      'store-path': single?.activeStorePath ?? '',
      results: JSON.stringify(run.results.map(resultRecord))
    })
    await writeSummary(renderDeployMarkdown(run.results, { title: `Rollback: ${run.status}` }))
    return deployFailure(
      run.results.filter(r => r.status === 'failed'),
      'rollback'
    )
  })
}
