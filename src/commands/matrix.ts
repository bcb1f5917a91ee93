import { parseFlakeRef, parsePositiveInt } from '../core/inputs.js'
import { planMatrix, parseRunners, GITHUB_MATRIX_LIMIT, type MatrixPlan } from '../core/matrix.js'
import { assertFlakeExists } from '../core/local-flake.js'
import type { CommandContext } from './types.js'
import { defaultInt, defaultOf } from './inputs.js'

export async function matrixCommand(
  ctx: CommandContext,
  mustDeploy?: (unchanged: string[]) => Promise<Record<string, string>>
): Promise<MatrixPlan> {
  const flake = parseFlakeRef('flake', ctx.get('flake') || defaultOf('matrix', 'flake'))
  assertFlakeExists(flake, ctx.cwd)
  const maxJobs = parsePositiveInt(
    'max-jobs',
    ctx.get('max-jobs'),
    defaultInt('matrix', 'max-jobs'),
    {
      max: GITHUB_MATRIX_LIMIT
    }
  )
  const runners = parseRunners(ctx.get('runners'))
  return ctx.logger.group('Selecting hosts', () =>
    planMatrix({
      flake,
      on: ctx.get('on'),
      changedSince: ctx.get('changed-since'),
      maxJobs,
      runners,
      cwd: ctx.cwd,
      logger: ctx.logger,
      mustDeploy
    })
  )
}

export function matrixOutputs(plan: MatrixPlan): Record<string, string> {
  return {
    matrix: JSON.stringify(plan.matrix),
    hosts: JSON.stringify(plan.hosts),
    count: String(plan.hosts.length),
    skipped: JSON.stringify(plan.skipped)
  }
}
