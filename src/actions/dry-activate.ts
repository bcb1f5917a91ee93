/**
 * The `dry-activate` action: the engine's dry-activate (`src/commands/dry-activate.ts`), then the
 * GitHub side: outputs, the report file under $RUNNER_TEMP/nix-deploy/, the job summary, and the
 * host's `dry-activate` section of the pull request's sticky comment. Its post step removes the
 * SSH session's folder (key and known_hosts) when the main step could not (a crash, a cancel).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { dryActivateCommand, dryActivateOutputs } from '../commands/dry-activate.js'
import { fileLabel } from '../core/build.js'
import type { DryActivateReport } from '../core/dry-activate.js'
import { ActionError } from '../core/errors.js'
import { parseBool } from '../core/inputs.js'
import type { Logger } from '../core/log.js'
import { escapeMarkdown, heading } from '../core/markdown.js'
import {
  dryActivateLevels,
  dryActivateSummaryLine,
  renderDryActivateMarkdown
} from '../core/render-dry-activate.js'
import { restoreClosure } from './actions-cache.js'
import { commentSection } from './pr-comment.js'
import {
  input,
  rememberSshFolder,
  runAction,
  setOutputs,
  workspace,
  writeSummary
} from './runtime.js'

/** The state key holding the SSH session's folder, for the post step. */
/** Every SSH session folder is named so (see SshSession.create): the post step removes nothing else. */

function runnerTemp(): string {
  return process.env.RUNNER_TEMP || os.tmpdir()
}

/**
 * Why this event must not run dry-activate, or null. A pull request from a fork gets no secrets
 * (no SSH key); with `pull_request_target` it would get them, and dry-activate runs the pull
 * request's system as root on the host, so that is refused too.
 */
export function forkRefusal(eventName: string, payload: unknown): string | null {
  if (eventName !== 'pull_request' && eventName !== 'pull_request_target') return null
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  const pr = obj(obj(payload)?.pull_request)
  const headRepo = obj(obj(pr?.head)?.repo)
  const baseRepo = obj(obj(pr?.base)?.repo)
  if (!pr || !headRepo) return null
  const fromFork =
    headRepo.fork === true ||
    (typeof headRepo.full_name === 'string' &&
      typeof baseRepo?.full_name === 'string' &&
      headRepo.full_name !== baseRepo.full_name)
  if (!fromFork) return null
  return eventName === 'pull_request'
    ? 'dry-activate needs secrets (the SSH key) that GitHub does not give to pull requests from forks, so it does not run for this pull request from a fork.'
    : "dry-activate refuses to run for a pull request from a fork under pull_request_target: it would run the fork's system as root on your hosts with your secrets."
}

function readEvent(): { name: string; payload: unknown } {
  const name = process.env.GITHUB_EVENT_NAME ?? ''
  const file = process.env.GITHUB_EVENT_PATH ?? ''
  try {
    return { name, payload: file ? JSON.parse(fs.readFileSync(file, 'utf8')) : null }
  } catch {
    return { name, payload: null }
  }
}

/** Writes the report as JSON: `$RUNNER_TEMP/nix-deploy/dry-activate-<host>.json`. */
export function writeReportFile(
  report: DryActivateReport,
  dir = path.join(runnerTemp(), 'nix-deploy')
): string {
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
  await commentSection(log, input('github-token'), section, 'report')
}

export async function runDryActivate(): Promise<void> {
  await runAction('dry-activate', async log => {
    const event = readEvent()
    const refusal = forkRefusal(event.name, event.payload)
    if (refusal) throw new ActionError(refusal, { phase: 'start' })
    const comment = parseBool('comment', input('comment'), false)
    const host = input('host')
    try {
      const run = await dryActivateCommand(
        { get: input, cwd: workspace(), logger: log },
        {
          tempRoot: runnerTemp(),
          onSession: rememberSshFolder,
          ensureLocal: async (storePath, h) => {
            const r = await log.group(`Restoring ${storePath}`, () =>
              restoreClosure(storePath, { logger: log, host: h, tempRoot: runnerTemp() })
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
