/** The `deploy` action (and the root action): health-gated deploy with automatic rollback. */
import path from 'node:path'
import { deployCommand, deployFailure, rollbackCommand } from '../commands/deploy.js'
import { renderDeployMarkdown } from '../core/deploy/render.js'
import { resultRecord } from '../core/deploy/types.js'
import { restoreClosure } from './actions-cache.js'
import { DeploymentRecorder } from './deployments.js'
import {
  input,
  rememberSshFolder,
  runAction,
  setFailed,
  setOutputs,
  workspace,
  writeSummary
} from './runtime.js'
import { refuseForkPullRequest } from './event.js'

function tempRoot(): string {
  return path.join(process.env.RUNNER_TEMP || '/tmp', 'nix-deploy')
}

export async function runDeploy(): Promise<void> {
  await runAction('deploy', async log => {
    refuseForkPullRequest('deploy')
    const environment = input('environment')
    const token = input('github-token')
    const recorder = environment ? new DeploymentRecorder(token, environment, log) : null
    const run = await deployCommand(
      { get: input, cwd: workspace(), logger: log },
      {
        tempRoot: tempRoot(),
        onSession: rememberSshFolder,
        ensureLocal: async (storePath, host) => {
          const r = await restoreClosure(storePath, { logger: log, host })
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
      renderDeployMarkdown(run.results, {
        title: `Deploy (${run.mode}${run.results.length > 1 ? `, ${run.strategy.kind === 'waves' ? `waves:${run.strategy.waves}` : run.strategy.kind}` : ''}): ${run.status}`,
        waves: run.waves,
        haltedAtWave: run.haltedAtWave
      })
    )
    const failure = deployFailure(run.results)
    if (failure) setFailed(failure)
  })
}

export async function runRollback(): Promise<void> {
  await runAction('rollback', async log => {
    refuseForkPullRequest('rollback')
    const run = await rollbackCommand(
      { get: input, cwd: workspace(), logger: log },
      { tempRoot: tempRoot(), onSession: rememberSshFolder }
    )
    const single = run.results.length === 1 ? run.results[0] : null
    setOutputs({
      status: run.status,
      'store-path': single?.activeStorePath ?? '',
      results: JSON.stringify(run.results.map(resultRecord))
    })
    await writeSummary(renderDeployMarkdown(run.results, { title: `Rollback: ${run.status}` }))
    const failure = deployFailure(
      run.results.filter(r => r.status === 'failed'),
      'rollback'
    )
    if (failure) setFailed(failure)
  })
}
