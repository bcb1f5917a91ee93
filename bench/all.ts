/**
 * Runs every benchmark in bench/ (each as its own child process, so one's memory and event loop
 * do not colour another's), then gathers the `.bench/<name>.json` files they write into
 * docs/benchmarks.md with the machine they ran on. Run: `npm run bench`. It rewrites only the block
 * between its two markers in that file; the recorded runs and analyses written around it stay.
 *
 * Benchmarks: bench/matrix.ts, bench/diff.ts, bench/action.ts, bench/deploy.ts, bench/fleet.ts, bench/cache.ts; a missing one is
 * skipped (and said so). The whole run is kept under 10 minutes: each benchmark gets what is left
 * of that budget, and one that runs out is stopped and reported as such.
 *
 * A benchmark's JSON is free-form; `figures: [{ name, seconds }]` becomes a table, `ratios` and
 * any other numbers become a list, `notes` (string or list) are quoted.
 * Options: `--only matrix,diff` to run some; `--no-run` to only gather the JSON files present.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NIX_CONFIG } from '../test/harness/nix-env.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BENCHMARKS = ['matrix', 'diff', 'action', 'deploy', 'fleet', 'cache']
const BUDGET_MS = 10 * 60 * 1000
const args = process.argv.slice(2)
const onlyArg = args.indexOf('--only')
const only = onlyArg >= 0 ? args[onlyArg + 1].split(',') : null
const noRun = args.includes('--no-run')

const childEnv = {
  ...process.env,
  NIX_CONFIG: process.env.NIX_CONFIG || NIX_CONFIG,
  GIT_CONFIG_NOSYSTEM: '1'
}

interface Outcome {
  name: string
  status: 'ok' | 'failed' | 'timed out' | 'missing' | 'not run'
  seconds: number
  detail?: string
}

function runOne(name: string, timeoutMs: number): Promise<Outcome> {
  const file = path.join(root, 'bench', `${name}.ts`)
  if (!fs.existsSync(file)) return Promise.resolve({ name, status: 'missing', seconds: 0 })
  console.log(`\n######## bench/${name}.ts (at most ${Math.round(timeoutMs / 1000)} s)`)
  const t0 = performance.now()
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'inherit', 'pipe'],
      detached: true // its own process group, so a timeout stops its children too
    })
    let stderr = ''
    child.stderr.on('data', d => {
      process.stderr.write(d)
      stderr = (stderr + d).slice(-4000)
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-(child.pid as number), 'SIGTERM')
      } catch {
        child.kill('SIGTERM')
      }
    }, timeoutMs)
    child.on('close', code => {
      clearTimeout(timer)
      const seconds = (performance.now() - t0) / 1000
      if (timedOut) resolve({ name, status: 'timed out', seconds })
      else if (code === 0) resolve({ name, status: 'ok', seconds })
      else {
        const lines = stderr.trim().split('\n').filter(Boolean)
        const last = lines.find(l => /error/i.test(l)) ?? lines.pop() ?? `exit code ${code}`
        resolve({ name, status: 'failed', seconds, detail: last.slice(0, 300) })
      }
    })
  })
}

function firstLine(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: childEnv })
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : 'unknown'
}

function machine(): Record<string, string> {
  const cpus = os.cpus()
  return {
    CPU: `${cpus[0]?.model?.trim() ?? 'unknown'} (nproc ${os.availableParallelism?.() ?? cpus.length})`,
    Memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${os.type()} ${os.release()} ${os.arch()}`,
    Node: process.version,
    Nix: firstLine(['nix', '--version']),
    OpenSSH: (spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr ?? '').trim() || 'unknown',
    'Load average (1, 5, 15 min) at the end': os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(', '),
    Date: new Date().toISOString()
  }
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function fmtSeconds(x: number): string {
  if (x < 0.01) return `${(x * 1000).toFixed(2)} ms`
  if (x < 1) return `${(x * 1000).toFixed(0)} ms`
  return `${x.toFixed(2)} s`
}

/** Numbers anywhere in a JSON value, as `path: value` (figures and notes are rendered apart). */
function numbers(value: unknown, prefix = ''): [string, number][] {
  if (typeof value === 'number') return [[prefix, value]]
  if (Array.isArray(value)) {
    if (value.every(v => typeof v === 'number')) return [] // raw runs: the median is enough
    return value.flatMap((v, i) => numbers(v, `${prefix}[${i}]`))
  }
  if (value && typeof value === 'object')
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      ['figures', 'notes', 'date'].includes(k) && !prefix
        ? []
        : numbers(v, prefix ? `${prefix}.${k}` : k)
    )
  return []
}

function section(name: string, data: Record<string, unknown>, earlier: boolean): string {
  const title = typeof data.title === 'string' ? data.title : name
  const out: string[] = [`### ${title}${earlier ? ' (not run this time: an earlier run)' : ''}`, '']
  out.push(`\`bench/${name}.ts\`${typeof data.date === 'string' ? `, run ${data.date}` : ''}.`, '')
  const figures = Array.isArray(data.figures) ? (data.figures as Record<string, unknown>[]) : []
  const timed = figures.filter(f => typeof f.name === 'string' && typeof f.seconds === 'number')
  if (timed.length) {
    out.push('| Measurement | Time |', '| --- | --- |')
    for (const f of timed)
      out.push(`| ${esc(String(f.name))} | ${fmtSeconds(f.seconds as number)} |`)
    out.push('')
  }
  const rest = numbers(data)
  if (rest.length) {
    for (const [k, v] of rest) out.push(`- ${esc(k)}: ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    out.push('')
  }
  const notes =
    typeof data.notes === 'string' ? [data.notes] : Array.isArray(data.notes) ? data.notes : []
  for (const n of notes) out.push(`> ${esc(String(n))}`, '')
  return out.join('\n')
}

const started = Date.now()
const outcomes: Outcome[] = []
for (const name of BENCHMARKS) {
  if (only && !only.includes(name)) continue
  if (noRun) {
    outcomes.push({ name, status: 'not run', seconds: 0 })
    continue
  }
  const left = BUDGET_MS - (Date.now() - started)
  if (left < 5000) {
    outcomes.push({
      name,
      status: 'timed out',
      seconds: 0,
      detail: 'no time left in the 10-minute budget'
    })
    continue
  }
  outcomes.push(await runOne(name, left))
}

const benchDir = path.join(root, '.bench')
const docFile = path.join(root, 'docs/benchmarks.md')
const BEGIN =
  '<!-- npm run bench writes from here to the next marker; the rest of this file is kept as written -->'
const END = '<!-- end of what npm run bench writes -->'
const block: string[] = [
  BEGIN,
  '',
  '## Latest run of `npm run bench`',
  '',
  '### The machine',
  '',
  '| | |',
  '| --- | --- |',
  ...Object.entries(machine()).map(([k, v]) => `| ${k} | ${esc(v)} |`),
  '',
  '### Runs',
  '',
  '| Benchmark | Result | Wall time |',
  '| --- | --- | --- |',
  ...outcomes.map(
    o =>
      `| \`bench/${o.name}.ts\` | ${o.status}${o.detail ? `: ${esc(o.detail)}` : ''} | ${o.seconds ? fmtSeconds(o.seconds) : ''} |`
  ),
  ''
]
for (const name of BENCHMARKS) {
  const o = outcomes.find(x => x.name === name)
  const file = path.join(benchDir, `${name}.json`)
  if (!fs.existsSync(file)) continue
  // This run's figures; with --only or --no-run, what an earlier run left for the others, said so.
  const earlier = !o || o.status === 'not run'
  if (!earlier && (o.status !== 'ok' || fs.statSync(file).mtimeMs < started)) continue
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
    block.push(section(name, data, earlier))
  } catch (err) {
    block.push(
      `### ${name}`,
      '',
      `\`.bench/${name}.json\` could not be read: ${esc(String(err))}`,
      ''
    )
  }
}
block.push(END)

// Only the block between the markers is ours: the recorded runs and the analyses written by
// hand around it are kept. A file without the markers gets the block after its first heading.
const old = fs.existsSync(docFile) ? fs.readFileSync(docFile, 'utf8') : '# Benchmarks\n'
const b = old.indexOf(BEGIN)
const e = old.indexOf(END, b)
let doc: string
if (b >= 0 && e > b) doc = old.slice(0, b) + block.join('\n') + old.slice(e + END.length)
else {
  const firstBreak = old.indexOf('\n') + 1 || old.length
  doc = `${old.slice(0, firstBreak)}\n${block.join('\n')}\n${old.slice(firstBreak)}`
}
fs.mkdirSync(path.join(root, 'docs'), { recursive: true })
fs.writeFileSync(docFile, doc)
console.log(
  `\nwrote docs/benchmarks.md (${outcomes.map(o => `${o.name}: ${o.status}`).join(', ')}) in ${((Date.now() - started) / 1000).toFixed(0)} s`
)
process.exitCode = outcomes.some(o => o.status === 'failed' || o.status === 'timed out') ? 1 : 0
