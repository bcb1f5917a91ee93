/** The `check` action: nix flake check, annotations at the right file and line, lock freshness. */
import { checkCommand, checkFailure } from '../commands/check.js'
import { renderCheckMarkdown } from '../core/render-check.js'
import { input, runAction, setFailed, setOutputs, workspace, writeSummary } from './runtime.js'

export async function runCheck(): Promise<void> {
  await runAction('check', async log => {
    const run = await checkCommand({ get: input, cwd: workspace(), logger: log })
    const { report } = run
    for (const e of report.errors) {
      log.error(e.message, {
        file: e.file,
        line: e.line,
        column: e.column,
        title: 'nix flake check'
      })
    }
    for (const f of report.unformatted)
      log.error(`${f} is not formatted: run nix fmt.`, { file: f, title: 'nix fmt' })
    for (const s of report.staleInputs) {
      log.warning(
        `flake.lock input '${s.input}' was last updated ${Math.floor(s.ageDays)} days ago (limit ${run.lockMaxAgeDays}); run nix flake update.`,
        { file: 'flake.lock', title: 'Stale flake input' }
      )
    }
    setOutputs({ result: report.result, errors: report.errors.length })
    await writeSummary(renderCheckMarkdown(report, run.flake))
    const failure = checkFailure(run)
    if (failure) setFailed(failure)
  })
}
