/**
 * The `build` action: the engine's build and diff (`src/commands/build.ts`), then the GitHub side:
 * outputs, the diff files under $RUNNER_TEMP/nix-deploy/, the closure cache, the pull request's
 * sticky comment, the job summary.
 */
import * as core from './runner-protocol.js'
import { defaultBool } from '../commands/inputs.js'
import { buildCommand, buildOutputs } from '../commands/build.js'
import { diffFileOutputs, writeDiffFiles } from '../core/build.js'
import { formatBytes } from '../core/diff.js'
import type { SaveResult } from '../core/model.js'
import { parseBool } from '../core/inputs.js'
import { buildSummary } from '../core/render-build.js'
import { commentDiff } from './pr-comment.js'
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

export async function runBuild(): Promise<void> {
  await runAction('build', async log => {
    // Inputs the engine does not read are checked before the build too.
    const comment = parseBool('comment', input('comment'), defaultBool('build', 'comment'))
    const useCache = parseBool('cache', input('cache'), defaultBool('build', 'cache'))
    const run = await buildCommand(
      { get: input, cwd: workspace(), logger: log },
      // The post step (removeSshFolder) removes the SSH folder if the step is cancelled.
      { tempRoot: runnerTemp(), onSession: rememberSshFolder }
    )
    const files = run.diff ? writeDiffFiles(run.diff, outputDir(), run.label) : null
    setOutputs({ ...buildOutputs(run), ...diffFileOutputs(files) })
    log.info(
      `${run.label}: ${run.built.storePath}, closure ${formatBytes(run.closure.bytes)}${run.summary ? `; ${run.summary}` : ''}`
    )

    // The Actions cache keeps only signed closures of trusted events: a pull request's entries are
    // scoped to it (no deploy reads them), and a deploy imports only paths its keys signed.
    const event = process.env.GITHUB_EVENT_NAME ?? ''
    const skipCache = !useCache
      ? ''
      : event.startsWith('pull_request')
        ? `not saved to the Actions cache on a ${event} event (only builds of the deploy branch are)`
        : !run.signedBy
          ? 'not saved to the Actions cache: give signing-key (a deploy imports only signed closures)'
          : ''
    if (skipCache) log.info(`The closure was ${skipCache}.`)
    const cache: SaveResult | undefined = skipCache
      ? { status: 'skipped', key: '', message: skipCache }
      : useCache
        ? await log.group('Saving the closure to the Actions cache', async () =>
            (await import('./actions-cache.js')).saveClosure(run.built.storePath, {
              logger: log,
              host: run.target.host,
              tempRoot: runnerTemp()
            })
          )
        : undefined
    if (comment) {
      if (run.diff || run.note) {
        await commentDiff(
          log,
          input('github-token'),
          {
            host: run.label,
            changed: run.changed,
            summary: run.summary,
            diff: run.diff,
            note: run.note
          },
          input('comment-author') || undefined
        )
      } else {
        core.notice(
          "comment is true, but 'diff-against' is empty: there is no diff to put into the pull request comment."
        )
      }
    }
    await writeSummary(buildSummary(run, cache))
  })
}
