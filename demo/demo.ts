/**
 * `npm run demo`: the pipeline on a fixture fleet, through the real bundles run the way GitHub's
 * runner runs them. Prints what a user would see (summaries, outputs) and where the reports are.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction, type ActionRun } from '../test/harness/action-runner.js'
import { fixturesDir, makeFlakeRepo } from '../test/harness/flake-repo.js'

const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-deploy-demo-'))
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)

function show(title: string, run: ActionRun): void {
  console.log(`\n${bold(`━━ ${title} ━━`)}  (exit code ${run.exitCode})`)
  for (const a of run.annotations)
    console.log(`  [${a.level}] ${a.file ? `${a.file}:${a.line ?? ''} ` : ''}${a.message}`)
  for (const [k, v] of Object.entries(run.outputs))
    console.log(`  output ${k} = ${v.length > 160 ? `${v.slice(0, 157)}...` : v}`)
  const file = path.join(reportDir, `${title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.md`)
  fs.writeFileSync(file, run.summary)
  console.log(
    run.summary
      .trim()
      .split('\n')
      .map(l => `  │ ${l}`)
      .join('\n')
  )
}

async function main(): Promise<void> {
  const flake = fs
    .readFileSync(path.join(fixturesDir, 'fleet/flake.nix'), 'utf8')
    .replace('import ../lib', 'import ./lib')
  const repo = makeFlakeRepo({ 'flake.nix': flake }, { prefix: 'demo-fleet-' })
  console.log(bold('nix-deploy-action demo'))
  console.log(
    `A fixture fleet flake in ${repo.dir} (no nixpkgs needed); the actions run from dist/ as on GitHub.`
  )
  try {
    show(
      'check',
      await runAction({
        action: 'check',
        workspace: repo.dir,
        inputs: { 'lock-max-age-days': '0' }
      })
    )
    show('matrix', await runAction({ action: 'matrix', workspace: repo.dir }))
    const before = repo.head()
    repo.commit({ 'flake.nix': flake.replace('pkgs.htop', 'pkgs.htop pkgs.curl') }, 'db1: add curl')
    show(
      'matrix (changed since the previous commit)',
      await runAction({
        action: 'matrix',
        workspace: repo.dir,
        inputs: { 'changed-since': before }
      })
    )
  } finally {
    repo.remove()
  }
  console.log(`\nThe job summaries are in ${reportDir}`)
}

main().catch(err => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
