import { checkFlake, type CheckReport } from '../core/check.js'
import { parseBool, parseFlakeRef, parsePositiveInt } from '../core/inputs.js'
import { assertFlakeExists } from '../core/local-flake.js'
import { describeNixError } from '../core/nix-errors.js'
import type { CommandContext } from './types.js'
import { defaultBool, defaultInt, defaultOf } from './inputs.js'

export interface CheckRun {
  flake: string
  lockMaxAgeDays: number
  report: CheckReport
}

export async function checkCommand(ctx: CommandContext): Promise<CheckRun> {
  const flake = parseFlakeRef('flake', ctx.get('flake') || defaultOf('check', 'flake'))
  assertFlakeExists(flake, ctx.cwd)
  const lockMaxAgeDays = parsePositiveInt(
    'lock-max-age-days',
    ctx.get('lock-max-age-days'),
    defaultInt('check', 'lock-max-age-days'),
    { min: 0, max: 36500 }
  )
  const format = parseBool('format', ctx.get('format'), defaultBool('check', 'format'))
  const report = await ctx.logger.group(`nix flake check ${flake}`, () =>
    checkFlake({ flake, lockMaxAgeDays, format, cwd: ctx.cwd, logger: ctx.logger })
  )
  return { flake, lockMaxAgeDays, report }
}

/** One sentence for a failed check. */
export function checkFailure(run: CheckRun): string | null {
  const { report, flake } = run
  if (report.result === 'passed') return null
  if (report.errors.length > 0) {
    const e = report.errors[0]
    const count =
      report.errors.length === 1 ? 'an error' : `${report.errors.length} errors, the first`
    const at = e.file ? ` at ${e.file}${e.line ? `:${e.line}` : ''}` : ''
    return `check: nix flake check of '${flake}' found ${count}${at}: ${describeNixError(e)}`
  }
  if (report.failureTail === '' && report.unformatted.length > 0) {
    return `check: the flake's formatter changes ${report.unformatted.length} file(s): ${report.unformatted.slice(0, 5).join(', ')}`
  }
  return `check: nix flake check of '${flake}' failed; its output is in the log and the job summary`
}
