/**
 * The `drift` action: the command (src/commands/drift.ts) with GitHub's deployment records as the
 * expected systems, then the outputs, the report file under $RUNNER_TEMP/nix-deploy/, the job
 * summary and, with `issue: true`, the drift issue (drift-issue.ts). Drift is a report, not a
 * failure: the step fails only when it cannot tell (bad input, unreadable records, an issue it
 * was asked to keep and could not). Its post step removes the SSH folder.
 */
import fs from 'node:fs'
import path from 'node:path'
import { driftCommand } from '../commands/drift.js'
import { defaultOf } from '../commands/inputs.js'
import {
  driftedHosts,
  driftRecord,
  driftSummaryLine,
  renderDriftMarkdown,
  type DriftReport
} from '../core/drift.js'
import { inlineCode } from '../core/markdown.js'
import { lastSuccessfulDeploys } from './deployments.js'
import { issueFailure, syncDriftIssue } from './drift-issue.js'
import {
  input,
  outputDir,
  rememberSshFolder,
  runAction,
  runnerTemp,
  setOutputs,
  workspace,
  writeSummary
} from './runtime.js'

/** Writes the report as JSON: `$RUNNER_TEMP/nix-deploy/drift.json`. */
export function writeDriftReport(report: DriftReport, dir = outputDir()): string {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'drift.json')
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        schemaVersion: 1,
        expected: report.expected,
        ...(report.environment ? { environment: report.environment } : {}),
        drifted: driftedHosts(report.results),
        results: report.results.map(r => ({
          ...driftRecord(r),
          ...(r.diff ? { diff: r.diff } : {})
        }))
      },
      null,
      2
    ) + '\n'
  )
  return file
}

export async function runDrift(): Promise<void> {
  await runAction('drift', async log => {
    const token = input('github-token')
    const run = await driftCommand(
      { get: input, cwd: workspace(), logger: log },
      {
        tempRoot: runnerTemp(),
        onSession: rememberSshFolder,
        deployedRecords: (environment, hosts) => lastSuccessfulDeploys(token, environment, hosts)
      }
    )
    const { report } = run
    const drifted = driftedHosts(report.results)
    setOutputs({
      drifted: JSON.stringify(drifted),
      count: drifted.length,
      results: JSON.stringify(report.results.map(driftRecord)),
      'report-file': writeDriftReport(report)
    })
    log.info(`Drift: ${driftSummaryLine(report.results)}.`)
    let failure: string | null = null
    let issueLine = ''
    if (run.issue) {
      try {
        const author = input('issue-author') || defaultOf('drift', 'issue-author')
        const outcome = await syncDriftIssue(token, author, report, log)
        if (outcome.number)
          issueLine = `\nDrift issue ${inlineCode(`#${outcome.number}`)}: ${outcome.action}${outcome.url ? ` (${outcome.url})` : ''}.\n`
      } catch (err) {
        failure = issueFailure(err)
        log.error(failure)
      }
    }
    await writeSummary(renderDriftMarkdown(report) + issueLine)
    return failure
  })
}
