/** The `matrix` action: the hosts to build, as a GitHub Actions matrix. */
import { matrixCommand, matrixOutputs } from '../commands/matrix.js'
import { renderMatrixMarkdown } from '../core/render-matrix.js'
import { failedLastDeploys } from './deployments.js'
import { input, runAction, setOutputs, workspace, writeSummary } from './runtime.js'

export async function runMatrix(): Promise<void> {
  await runAction('matrix', async log => {
    const environment = input('environment')
    const token = input('github-token')
    const plan = await matrixCommand(
      { get: input, cwd: workspace(), logger: log },
      environment && token
        ? unchanged => failedLastDeploys(token, environment, unchanged, log)
        : undefined
    )
    log.info(`${plan.hosts.length} host(s) to build: ${plan.hosts.join(', ') || '(none)'}`)
    if (plan.skipped.length)
      log.info(`${plan.skipped.length} unchanged: ${plan.skipped.join(', ')}`)
    setOutputs(matrixOutputs(plan))
    await writeSummary(renderMatrixMarkdown(plan))
  })
}
