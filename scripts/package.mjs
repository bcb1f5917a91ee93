#!/usr/bin/env node
// Builds dist/: ONE shared bundle (dist/index.js, built by @vercel/ncc from src/index.ts) and a
// two-line entry file per action phase that action.yml files point at (dist/<action>/main.js,
// dist/<action>/post.js), plus dist/cli.js for the terminal command. Users download the
// repository on every job, so one shared bundle beats one bundle per action.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import esbuild from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
// An optional argument builds elsewhere (the freshness test compares that build with dist/).
const finalDist = path.resolve(root, process.argv[2] ?? 'dist')
const committedDist = path.join(root, 'dist')
// Build next to it and swap at the end, so a test running meanwhile never sees a half-built dist/.
const dist = `${finalDist}.tmp-${process.pid}`

fs.rmSync(dist, { recursive: true, force: true })
execFileSync(
  process.execPath,
  [
    path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
    'build',
    'src/index.ts',
    '-o',
    dist,
    '--minify',
    '--target',
    'es2022',
    '--license',
    'licenses.txt',
    '--quiet'
  ],
  { cwd: root, stdio: 'inherit' }
)

// ncc minifies the entry file but not the chunks that dynamic imports make (one per action, the
// Actions cache client, @actions/github): minify those too, since a step compiles every chunk it
// loads and compile time is most of a refusal's.
for (const name of fs.readdirSync(dist)) {
  if (!/^\d+\.index\.js$/.test(name)) continue
  const file = path.join(dist, name)
  const out = esbuild.transformSync(fs.readFileSync(file, 'utf8'), {
    minify: true,
    format: 'esm',
    target: 'es2022',
    legalComments: 'none' // ncc writes them into licenses.txt
  })
  fs.writeFileSync(file, out.code)
}

// Every action.yml (the root one and one per folder) names its entry files; write a stub for each.
const actionFiles = [path.join(root, 'action.yml')]
for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
  if (entry.isDirectory() && fs.existsSync(path.join(root, entry.name, 'action.yml'))) {
    actionFiles.push(path.join(root, entry.name, 'action.yml'))
  }
}
const stubs = new Map()
for (const file of actionFiles) {
  if (!fs.existsSync(file)) continue
  const runs = YAML.parse(fs.readFileSync(file, 'utf8')).runs ?? {}
  if (runs.using !== 'node24') continue
  for (const phase of ['main', 'post']) {
    if (!runs[phase]) continue
    const target = path.resolve(path.dirname(file), runs[phase])
    const rel = path.relative(committedDist, target)
    const m = /^([a-z-]+)\/(main|post)\.js$/.exec(rel)
    if (!m)
      throw new Error(
        `${path.relative(root, file)}: runs.${phase} must point at dist/<action>/(main|post).js, not ${runs[phase]}`
      )
    stubs.set(rel, { action: m[1], phase: m[2] })
  }
}
for (const [rel, { action, phase }] of stubs) {
  const file = path.join(dist, rel)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(
    file,
    `import { main } from '../index.js'\nawait main('${action}', '${phase}')\n`
  )
}
fs.writeFileSync(
  path.join(dist, 'cli.js'),
  `#!/usr/bin/env node\nimport { cli } from './index.js'\nprocess.exitCode = await cli(process.argv.slice(2))\n`,
  { mode: 0o755 }
)

const old = `${finalDist}.old-${process.pid}`
if (fs.existsSync(finalDist)) fs.renameSync(finalDist, old)
fs.renameSync(dist, finalDist)
fs.rmSync(old, { recursive: true, force: true })

let total = 0
const walk = dir => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p)
    else total += fs.statSync(p).size
  }
}
walk(finalDist)
console.log(
  `${path.relative(root, finalDist) || finalDist}/: ${stubs.size} entry files + shared bundle, ${(total / 1024).toFixed(0)} KiB in total`
)
