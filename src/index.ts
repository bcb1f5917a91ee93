/**
 * The one bundle. Each action's entry file in dist/<action>/ is two lines that call `main` with
 * the action's name, so the whole suite ships as one shared bundle plus tiny stubs.
 */
import { runCheck } from './actions/check.js'
import { runMatrix } from './actions/matrix.js'
import { runBuild } from './actions/build.js'
import { runDiff } from './actions/diff.js'
import { runDryActivate } from './actions/dry-activate.js'
import { runDeploy, runRollback } from './actions/deploy.js'
import { removeSshFolder } from './actions/runtime.js'

const actions: Record<string, { main: () => Promise<void>; post?: () => Promise<void> }> = {
  check: { main: runCheck },
  matrix: { main: runMatrix },
  build: { main: runBuild, post: removeSshFolder },
  diff: { main: runDiff },
  'dry-activate': { main: runDryActivate, post: removeSshFolder },
  deploy: { main: runDeploy, post: removeSshFolder },
  rollback: { main: runRollback, post: removeSshFolder }
}

export async function main(action: string, phase: 'main' | 'post' = 'main'): Promise<void> {
  const entry = actions[action]
  if (!entry) throw new Error(`unknown action '${action}'`)
  const fn = phase === 'post' ? entry.post : entry.main
  if (fn) await fn()
}

export { cli } from './cli.js'
