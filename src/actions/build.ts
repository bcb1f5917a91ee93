/**
 * The `build` action: the engine's build and diff (`src/commands/build.ts`), then the GitHub side:
 * outputs, the diff files under $RUNNER_TEMP/nix-deploy/, the closure cache, the pull request's
 * sticky comment, the job summary. Also the pieces the `diff` action shares (files, comment).
 */
import os from 'node:os'
import path from 'node:path'
import * as core from '@actions/core'
import { buildCommand, buildOutputs, type BuildRun } from '../commands/build.js'
import { diffLevels, writeDiffFiles, type DiffFiles } from '../core/build.js'
import { formatBytes, type ClosureDiff } from '../core/diff.js'
import { parseBool } from '../core/inputs.js'
import type { Logger } from '../core/log.js'
import { escapeMarkdown, heading, inlineCode, table } from '../core/markdown.js'
import { renderMarkdown } from '../core/render-diff.js'
import { saveClosure, type SaveResult } from './actions-cache.js'
import { commentSection } from './pr-comment.js'
import {
  input,
  rememberSshFolder,
  runAction,
  setOutputs,
  workspace,
  writeSummary
} from './runtime.js'

export function runnerTemp(): string {
  return process.env.RUNNER_TEMP || os.tmpdir()
}

/** Where the diff files go: `$RUNNER_TEMP/nix-deploy/`. */
export function diffDir(): string {
  return path.join(runnerTemp(), 'nix-deploy')
}

/** The diff outputs (empty strings without a diff). */
export function diffFileOutputs(files: DiffFiles | null): Record<string, string> {
  return {
    'diff-json-file': files?.jsonFile ?? '',
    'diff-markdown-file': files?.markdownFile ?? ''
  }
}

/** What goes into the sticky comment for one host. */
export interface CommentContent {
  host: string
  changed: boolean
  summary: string
  diff: ClosureDiff | null
  /** Plain text shown instead of a diff (a new host). */
  note?: string
}

/**
 * Puts the host's section (kind `diff`) into the pull request's sticky comment. Never fails the
 * step: no pull request is a notice, a missing or read-only token a warning.
 */
export async function commentDiff(log: Logger, content: CommentContent): Promise<void> {
  const levels = content.diff
    ? diffLevels(content.diff)
    : (() => {
        const text = escapeMarkdown(content.note ?? content.summary)
        return { full: text, selected: text, summary: text }
      })()
  const section = {
    host: content.host,
    kind: 'diff',
    changed: content.changed,
    summary: content.summary,
    levels
  }
  await commentSection(
    log,
    input('github-token'),
    section,
    'diff',
    input('comment-author') || undefined
  )
}

function cacheLine(result: SaveResult | undefined): string {
  if (!result) return 'not used (cache: false)'
  switch (result.status) {
    case 'saved':
      return `saved as ${inlineCode(result.key)} (${formatBytes(result.bytes ?? 0)})`
    case 'exists':
      return `already cached as ${inlineCode(result.key)}`
    case 'unavailable':
      return 'the Actions cache is not available'
    default:
      return `not saved (${escapeMarkdown(result.message ?? 'failed')})`
  }
}

/** The job summary: what was built, then the full diff. */
export function buildSummary(run: BuildRun, cache: SaveResult | undefined): string {
  const rows: string[][] = []
  if (run.target.host) rows.push(['Host', escapeMarkdown(run.target.host)])
  else rows.push(['Installable', inlineCode(run.target.installable, { inTable: true })])
  rows.push(['Store path', inlineCode(run.built.storePath, { inTable: true })])
  rows.push(['Derivation', inlineCode(run.built.drvPath, { inTable: true })])
  rows.push(['Closure', `${formatBytes(run.closure.bytes)} in ${run.closure.paths} paths`])
  rows.push(['Build time', `${(run.built.durationMs / 1000).toFixed(1)} s`])
  if (run.diffAgainst)
    rows.push(['Compared with', escapeMarkdown(run.beforeDescription ?? run.diffAgainst)])
  rows.push(['Closure cache', cacheLine(cache)])
  const parts = [heading(2, `Build: ${run.label}`), table(['', ''], rows)]
  if (run.diff)
    parts.push(
      renderMarkdown(run.diff, { detail: 'full', headingLevel: 3, title: `Changes: ${run.label}` })
    )
  else if (run.note) parts.push(escapeMarkdown(run.note))
  else parts.push('_No `diff-against` given: nothing to compare with._')
  return parts.join('\n\n') + '\n'
}

export async function runBuild(): Promise<void> {
  await runAction('build', async log => {
    // Inputs the engine does not read are checked before the build too.
    const comment = parseBool('comment', input('comment'), false)
    const useCache = parseBool('cache', input('cache'), true)
    const run = await buildCommand(
      { get: input, cwd: workspace(), logger: log },
      // The post step (removeSshFolder) removes the SSH folder if the step is cancelled.
      { tempRoot: runnerTemp(), onSession: rememberSshFolder }
    )
    const files = run.diff ? writeDiffFiles(run.diff, diffDir(), run.label) : null
    setOutputs({ ...buildOutputs(run), ...diffFileOutputs(files) })
    log.info(
      `${run.label}: ${run.built.storePath}, closure ${formatBytes(run.closure.bytes)}${run.summary ? `; ${run.summary}` : ''}`
    )

    const cache = useCache
      ? await log.group('Saving the closure to the Actions cache', () =>
          saveClosure(run.built.storePath, {
            logger: log,
            host: run.target.host,
            tempRoot: runnerTemp()
          })
        )
      : undefined
    if (comment) {
      if (run.diff || run.note) {
        await commentDiff(log, {
          host: run.label,
          changed: run.changed,
          summary: run.summary,
          diff: run.diff,
          note: run.note
        })
      } else {
        core.notice(
          "comment is true, but 'diff-against' is empty: there is no diff to put into the pull request comment."
        )
      }
    }
    await writeSummary(buildSummary(run, cache))
  })
}
