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
import { parseHostsInput, shardFailure } from '../commands/build.js'
import { fileLabel } from '../core/build.js'
import type { DryActivateReport } from '../core/dry-activate.js'
import { ActionError, describeError } from '../core/errors.js'
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
    // `hosts` (a matrix shard): each host in turn, with its own report and comment section.
    const hosts = parseHostsInput(input('hosts'))
    if (hosts.length > 0) {
      for (const other of ['host', 'store-path', 'target'])
        if (input(other))
          throw new ActionError(
            `Inputs 'hosts' and '${other}' are both given: with several hosts each one's ${other === 'host' ? 'name comes from hosts' : other === 'store-path' ? 'system comes from store-paths (its entry) or is built here' : 'SSH destination comes from the flake'}.`,
            { input: other }
          )
    } else if (!input('host')) {
      throw new ActionError(
        "Input 'host' is required (a nixosConfigurations attribute name), unless 'hosts' lists several.",
        { input: 'host' }
      )
    }
    const names = hosts.length > 0 ? hosts : [input('host')]
    const reports: DryActivateReport[] = []
    const files: string[] = []
    const failures: { host: string; error: unknown }[] = []
    const summaries: string[] = []
    for (const host of names) {
      const get = (name: string) => (name === 'host' ? host : name === 'hosts' ? '' : input(name))
      try {
        const report = await dryActivateOne(log, get)
        reports.push(report)
        files.push(writeReportFile(report))
        log.info(`${report.host}: ${dryActivateSummaryLine(report)}`)
        if (comment) await commentReport(log, report)
        summaries.push(renderDryActivateMarkdown(report))
      } catch (err) {
        // The summary says what failed too; the step fails with the error's sentence.
        if (err instanceof ActionError) {
          summaries.push(
            `${heading(2, `Dry-activate: ${host || 'no host'}`)}\n\n**Failed:** ${escapeMarkdown(err.message)}\n`
          )
        }
        if (names.length === 1 || (err instanceof ActionError && err.kind === 'input')) {
          await writeSummary(summaries.join('\n'))
          throw err
        }
        log.error(`${host}: ${describeError(err)}`)
        failures.push({ host, error: err })
      }
    }
    if (reports.length === 1 && names.length === 1) {
      setOutputs({ ...dryActivateOutputs(reports[0]), 'report-file': files[0] })
    } else {
      setOutputs(shardOutputs(reports))
    }
    await writeSummary(summaries.join('\n'))
    const failure = shardFailure(failures, names.length, 'dry-activate')
    if (failure) throw failure
  })
}

/**
 * The outputs for several hosts: each units list is the union over the hosts (sorted), each flag
 * true when it is for any host; store-path, current-system and report-file are empty (each
 * host's report is its own file under $RUNNER_TEMP/nix-deploy/ and its own summary section).
 */
function shardOutputs(reports: DryActivateReport[]): Record<string, string> {
  const union = (pick: (r: DryActivateReport) => string[]) =>
    JSON.stringify([...new Set(reports.flatMap(pick))].sort())
  return {
    'units-stop': union(r => r.stop),
    'units-restart': union(r => r.restart),
    'units-reload': union(r => r.reload),
    'units-start': union(r => r.start),
    'units-not-restarted': union(r => r.notStopped),
    'units-new': union(r => r.newUnits),
    'restart-systemd': String(reports.some(r => r.restartSystemd)),
    'reboot-required': String(reports.some(r => r.rebootRequired)),
    'store-path': '',
    'current-system': '',
    changed: String(reports.some(r => r.changed)),
    'report-file': ''
  }
}

async function dryActivateOne(
  log: Logger,
  get: (name: string) => string
): Promise<DryActivateReport> {
  const run = await dryActivateCommand(
    { get, cwd: workspace(), logger: log },
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
  return run.report
}
