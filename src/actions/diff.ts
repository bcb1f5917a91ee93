/** The `diff` action: the closure diff of two systems, as outputs, files, summary and comment. */
import { diffCommand, type DiffRun } from '../commands/diff.js'
import { writeDiffFiles } from '../core/build.js'
import { parseBool } from '../core/inputs.js'
import { escapeMarkdown, heading, inlineCode, table } from '../core/markdown.js'
import { renderMarkdown } from '../core/render-diff.js'
import { commentDiff, diffDir, diffFileOutputs } from './build.js'
import { input, runAction, setOutputs, workspace, writeSummary } from './runtime.js'

export function diffSummary(run: DiffRun): string {
  const rows = [
    [
      'Before',
      `${escapeMarkdown(run.before.description)}: ${inlineCode(run.before.path, { inTable: true })}`
    ],
    [
      'After',
      `${escapeMarkdown(run.after.description)}: ${inlineCode(run.after.path, { inTable: true })}`
    ]
  ]
  return [
    heading(2, `Closure diff: ${run.label}`),
    table(['', ''], rows),
    renderMarkdown(run.diff, { detail: 'full', headingLevel: 0 })
  ].join('\n\n')
}

export async function runDiff(): Promise<void> {
  await runAction('diff', async log => {
    const comment = parseBool('comment', input('comment'), false)
    const run = await diffCommand({ get: input, cwd: workspace(), logger: log })
    const files = writeDiffFiles(run.diff, diffDir(), run.label)
    setOutputs({
      changed: String(run.diff.changed),
      'diff-summary': run.diff.summary,
      ...diffFileOutputs(files)
    })
    log.info(`${run.label}: ${run.diff.summary}`)
    if (comment) {
      await commentDiff(log, {
        host: run.label,
        changed: run.diff.changed,
        summary: run.diff.summary,
        diff: run.diff
      })
    }
    await writeSummary(diffSummary(run) + '\n')
  })
}
