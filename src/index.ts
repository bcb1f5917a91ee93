/**
 * The one bundle. Each action's entry file in dist/<action>/ is two lines that call `main` with
 * the action's name, so the whole suite ships as one shared bundle plus tiny stubs.
 *
 * Each action's adapter is imported only when that action runs (ncc puts each into a chunk of
 * its own), so a step loads the code it needs and no more: the diff action never loads the
 * Actions cache client (the Azure SDK) nor the deploy engine.
 */
type Entry = { main: () => Promise<void> }

const removeSshFolder = async () => (await import('./actions/runtime.js')).removeSshFolder()

const actions: Record<string, () => Promise<Entry>> = {
  check: async () => ({ main: (await import('./actions/check.js')).runCheck }),
  matrix: async () => ({ main: (await import('./actions/matrix.js')).runMatrix }),
  build: async () => ({ main: (await import('./actions/build.js')).runBuild }),
  diff: async () => ({ main: (await import('./actions/diff.js')).runDiff }),
  'dry-activate': async () => ({
    main: (await import('./actions/dry-activate.js')).runDryActivate
  }),
  deploy: async () => ({ main: (await import('./actions/deploy.js')).runDeploy }),
  rollback: async () => ({ main: (await import('./actions/deploy.js')).runRollback }),
  drift: async () => ({ main: (await import('./actions/drift.js')).runDrift }),
  update: async () => ({ main: (await import('./actions/update.js')).runUpdate })
}
/** The actions whose post step removes the SSH folder. */
const withPost = new Set(['build', 'dry-activate', 'deploy', 'rollback', 'drift'])

export async function main(action: string, phase: 'main' | 'post' = 'main'): Promise<void> {
  const load = actions[action]
  if (!load) throw new Error(`unknown action '${action}'`)
  if (phase === 'post') {
    if (withPost.has(action)) await removeSshFolder()
    return
  }
  await (await load()).main()
}

/** The terminal command (`nix-deploy`), loaded on first use. */
export async function cli(args: string[]): Promise<number> {
  return (await import('./cli.js')).cli(args)
}
