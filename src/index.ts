/**
 * The one bundle. Each action's entry file in dist/<action>/ is two lines that call `main` with
 * the action's name, so the whole suite ships as one shared bundle plus tiny stubs.
 */
import { runCheck } from './actions/check.js'
import { runMatrix } from './actions/matrix.js'

const actions: Record<string, { main: () => Promise<void>; post?: () => Promise<void> }> = {
  check: { main: runCheck },
  matrix: { main: runMatrix }
}

export async function main(action: string, phase: 'main' | 'post' = 'main'): Promise<void> {
  const entry = actions[action]
  if (!entry) throw new Error(`unknown action '${action}'`)
  const fn = phase === 'post' ? entry.post : entry.main
  if (fn) await fn()
}

export { cli } from './cli.js'
