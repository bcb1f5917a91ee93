/**
 * The `dry-activate` action: the engine's dry-activate (`src/commands/dry-activate.ts`), then the
 * GitHub side: outputs, the report file under $RUNNER_TEMP/nix-deploy/, the job summary, and the
 * host's `dry-activate` section of the pull request's sticky comment. Its post step removes the
 * SSH session's folder (key and known_hosts) when the main step could not (a crash, a cancel).
 */
import fs from 'node:fs'
import { defaultBool } from '../commands/inputs.js'
import path from 'node:path'
import { dryActivateCommand, dryActivateOutputs } from '../commands/dry-activate.js'
import { fileLabel } from '../core/build.js'
import type { DryActivateReport } from '../core/dry-activate.js'
import { ActionError } from '../core/errors.js'
import { parseBool } from '../core/inputs.js'
import { parseTrustedKeys } from '../core/binary-cache.js'
import type { Logger } from '../core/log.js'
import { escapeMarkdown, heading } from '../core/markdown.js'
import {
  dryActivateLevels,
  dryActivateSummaryLine,
  renderDryActivateMarkdown
} from '../core/render-dry-activate.js'
import { commentSection } from './pr-comment.js'
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
import { refuseForkPullRequest } from './event.js'

/** Writes the report as JSON: `$RUNNER_TEMP/nix-deploy/dry-activate-<host>.json`. */
export function writeReportFile(report: DryActivateReport, dir = outputDir()): string {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `dry-activate-${fileLabel(report.host)}.json`)
  fs.writeFileSync(file, JSON.stringify({ schemaVersion: 1, ...report }, null, 2) + '\n')
  return file
}

/** Puts the host's `dry-activate` section into the sticky comment. Never fails the step. */
async function commentReport(log: Logger, report: DryActivateReport): Promise<void> {
  const section = {
    host: report.host,
    kind: 'dry-activate',
    changed: report.changed,
    summary: dryActivateSummaryLine(report),
    levels: dryActivateLevels(report)
  }
  await commentSection(
    log,
    input('github-token'),
    section,
    'report',
    input('comment-author') || undefined
  )
}

export async function runDryActivate(): Promise<void> {
  await runAction('dry-activate', async log => {
    refuseForkPullRequest('dry-activate')
    const comment = parseBool('comment', input('comment'), defaultBool('dry-activate', 'comment'))
    const host = input('host')
    try {
      const run = await dryActivateCommand(
        { get: input, cwd: workspace(), logger: log },
        {
          tempRoot: runnerTemp(),
          onSession: rememberSshFolder,
          ensureLocal: async (storePath, h) => {
            const r = await log.group(`Restoring ${storePath}`, async () =>
              (await import('./actions-cache.js')).restoreClosure(storePath, {
                logger: log,
                host: h,
                trustedKeys: parseTrustedKeys('trusted-public-keys', input('trusted-public-keys')),
                tempRoot: runnerTemp()
              })
            )
            if (r.status === 'present' || r.status === 'restored') return
            throw new ActionError(
              `Input 'store-path': ${storePath} is not in the local Nix store, and the Actions cache does not have its closure (${r.message?.replace(/\.$/, '') ?? r.status}); build it in this job, or with the build action (cache: true) in an earlier one.`,
              { input: 'store-path', host: h }
            )
          }
        }
      )
      const report = run.report
      const reportFile = writeReportFile(report)
      setOutputs({ ...dryActivateOutputs(report), 'report-file': reportFile })
      log.info(`${report.host}: ${dryActivateSummaryLine(report)}`)
      if (comment) await commentReport(log, report)
      await writeSummary(renderDryActivateMarkdown(report))
    } catch (err) {
      // The summary says what failed too; the step fails with the error's sentence.
      if (err instanceof ActionError) {
        await writeSummary(
          `${heading(2, `Dry-activate: ${host || 'no host'}`)}\n\n**Failed:** ${escapeMarkdown(err.message)}\n`
        )
      }
      throw err
    }
  })
}
