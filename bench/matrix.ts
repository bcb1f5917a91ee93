/**
 * Benchmark of the matrix action's `changed-since` (not a test). Run: `npm run bench:matrix`.
 *
 * A generated fixture flake of 100 hosts (in a temporary git repository with the fixture library
 * as lib/; the hosts come from a Nix function over a list), with two commits: the base, and a
 * change that touches 5 hosts. Three ways to learn which hosts changed since the base:
 *
 *   1. ours: `planMatrix` (src/core/matrix.ts) with `changedSince`: one evaluation of the host
 *      inventory, one `nix eval` of every host's toplevel drvPath for the working tree and one for
 *      the base revision (`git+file://…?rev=…`).
 *   2. per host: one `nix eval …#nixosConfigurations.<host>.config.system.build.toplevel.drvPath`
 *      process per host and side (200 processes), sequentially and `nproc` at a time.
 *   3. bare: one `nix eval` of all 100 drvPaths (one side, no inventory, no comparison): the floor
 *      for what Nix itself needs.
 *
 * Then a fleet past GitHub's 256 matrix jobs: `--fleet N` hosts (default 300, the last 20 of them
 * aarch64-linux), planned by `planMatrix` with a `runners` map: every host (packed into at most
 * 256 shards of one system each), and with `changed-since` (5 changed: one entry each).
 *
 * The flake evaluation cache is off for all of them (`eval-cache = false`): a clean tree would
 * otherwise let repeated per-host `nix eval` calls read cached attributes. Prints the times and
 * ratios; writes `.bench/matrix.json`. Options: `--hosts N` (default 100), `--runs N` (default 3),
 * `--fleet N` (default 300).
 */
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { planMatrix } from '../src/core/matrix.js'
import { NIX_CONFIG } from '../test/harness/nix-env.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const HOSTS = option('--hosts', 100)
const RUNS = option('--runs', 3)
const CHANGED = 5
const FLEET = option('--fleet', 300)
const ARM = 20

process.env.NIX_CONFIG = [NIX_CONFIG, 'eval-cache = false'].join('\n')
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null'
}

/** `hosts` hosts from a list; `bumped` hosts get a newer `site` package after the change; the last `arm` are aarch64-linux. */
function flake(bumped: number, hosts = HOSTS, arm = 0): string {
  return `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      names = builtins.genList (i: "host-\${toString i}") ${hosts};
      index = n: builtins.fromJSON (builtins.substring 5 10 n);
      site = n: lib.mkPackage { pname = "site"; version = if index n < ${bumped} then "2.0" else "1.0"; };
      host = n: lib.mkHost {
        name = n;
        packages = [ pkgs.nginx (site n) ];
        deployment = { tags = [ (if builtins.bitAnd (index n) 1 == 0 then "even" else "odd") ]; };
        system = if index n >= ${hosts - arm} then "aarch64-linux" else "x86_64-linux";
      };
    in {
      nixosConfigurations = builtins.listToAttrs (map (n: { name = n; value = host n; }) names);
    };
}
`
}

function git(dir: string, argv: string[]): string {
  return execFileSync('git', ['-C', dir, ...argv], { env: GIT_ENV, encoding: 'utf8' }).trim()
}

function makeRepo(hosts = HOSTS, arm = 0): { dir: string; base: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-deploy-bench-matrix-'))
  fs.cpSync(path.join(root, 'test/fixtures/lib'), path.join(dir, 'lib'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'flake.nix'), flake(0, hosts, arm))
  git(dir, ['-c', 'init.defaultBranch=main', 'init', '-q'])
  git(dir, ['add', '-A'])
  git(dir, ['commit', '-q', '-m', 'base'])
  const base = git(dir, ['rev-parse', 'HEAD'])
  fs.writeFileSync(path.join(dir, 'flake.nix'), flake(CHANGED, hosts, arm))
  git(dir, ['commit', '-q', '-am', `bump site on ${CHANGED} hosts`])
  return { dir, base }
}

/** Killed by a signal from outside (seen on a shared machine): run again, counted and printed. */
let signalRetries = 0

function nixEval(argv: string[], cwd: string, attempt = 1): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nix', ['eval', ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', d => (out += d))
    child.stderr.on('data', d => (err += d))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out.trim())
      else if (signal && attempt < 3) {
        signalRetries++
        nixEval(argv, cwd, attempt + 1).then(resolve, reject)
      } else reject(new Error(`nix eval ${argv.join(' ')}: ${signal ?? ''} ${err}`))
    })
  })
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i])
      }
    })
  )
  return out
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const r = await fn()
  return [r, (performance.now() - t0) / 1000]
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const s = (x: number): string => `${x.toFixed(2)} s`

const { dir, base } = makeRepo()
const names = Array.from({ length: HOSTS }, (_, i) => `host-${i}`)
const sides = [
  { label: 'working tree', ref: `git+file://${dir}` },
  { label: 'base revision', ref: `git+file://${dir}?rev=${base}` }
]
const nproc = os.availableParallelism?.() ?? os.cpus().length
console.log(
  `== matrix changed-since: ${HOSTS} hosts, ${CHANGED} changed, ${RUNS} runs, nproc ${nproc}`
)

try {
  // Warm up: the fixture library's sources into the store, git's caches.
  await nixEval(
    ['--raw', `${sides[0].ref}#nixosConfigurations.host-0.config.system.build.toplevel.drvPath`],
    dir
  )

  // 1. Ours.
  const ours: number[] = []
  let plan: Awaited<ReturnType<typeof planMatrix>> | undefined
  for (let r = 0; r < RUNS; r++) {
    const [p, t] = await timed(() =>
      planMatrix({ flake: '.', on: '', changedSince: base, maxJobs: 256, cwd: dir })
    )
    plan = p
    ours.push(t)
  }
  if (!plan || plan.hosts.length !== CHANGED || plan.skipped.length !== HOSTS - CHANGED)
    throw new Error(`planMatrix found ${plan?.hosts.length} changed hosts, expected ${CHANGED}`)
  console.log(
    `ours (planMatrix, changed-since)            median ${s(median(ours))}  [${ours.map(s).join(', ')}]`
  )

  // 2. One process per host and side.
  const perHost = async (limit: number): Promise<number> => {
    const [drvs, t] = await timed(() =>
      Promise.all(
        sides.map(side =>
          mapLimit(names, limit, n =>
            nixEval(
              [
                '--raw',
                `${side.ref}#nixosConfigurations.${n}.config.system.build.toplevel.drvPath`
              ],
              dir
            )
          )
        )
      )
    )
    const changed = names.filter((_, i) => drvs[0][i] !== drvs[1][i])
    if (changed.length !== CHANGED)
      throw new Error(`per-host evaluation found ${changed.length} changed hosts`)
    return t
  }
  // Sequential: one side after the other, one host after the other (mapLimit 1 per side, sides
  // in parallel would be 2 at a time: run the sides one by one instead).
  const [, seq] = await timed(async () => {
    const drvs: string[][] = []
    for (const side of sides) {
      const list: string[] = []
      for (const n of names)
        list.push(
          await nixEval(
            ['--raw', `${side.ref}#nixosConfigurations.${n}.config.system.build.toplevel.drvPath`],
            dir
          )
        )
      drvs.push(list)
    }
    return drvs
  })
  console.log(`per host, sequential (${2 * HOSTS} nix eval processes)    ${s(seq)}`)
  const par = await perHost(Math.max(1, Math.floor(nproc / 2)))
  console.log(`per host, ${nproc} at a time (${2 * HOSTS} processes)          ${s(par)}`)

  // 3. Bare: all drvPaths of one side in one nix eval.
  const bare: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const [out, t] = await timed(() =>
      nixEval(
        [
          '--json',
          `${sides[0].ref}#nixosConfigurations`,
          '--apply',
          'cs: builtins.mapAttrs (n: c: c.config.system.build.toplevel.drvPath) cs'
        ],
        dir
      )
    )
    if (Object.keys(JSON.parse(out) as object).length !== HOSTS)
      throw new Error('bare eval: wrong host count')
    bare.push(t)
  }
  console.log(
    `bare: one nix eval of ${HOSTS} drvPaths (one side)      median ${s(median(bare))}  [${bare.map(s).join(', ')}]`
  )

  // 4. A fleet past 256: every host packed into shards, and changed-since, with a runners map.
  const fleet = makeRepo(FLEET, ARM)
  const runners = { 'aarch64-linux': 'ubuntu-24.04-arm', '*': 'ubuntu-latest' }
  const fleetAll: number[] = []
  const fleetChanged: number[] = []
  let entries = 0
  try {
    for (let r = 0; r < RUNS; r++) {
      const [p, t] = await timed(() =>
        planMatrix({ flake: '.', on: '', changedSince: '', maxJobs: 256, runners, cwd: fleet.dir })
      )
      fleetAll.push(t)
      const include = p.matrix.include as { hosts?: string[]; system: string | null }[]
      const covered = include.flatMap(e => e.hosts ?? [])
      if (!p.sharded || include.length > 256 || new Set(covered).size !== FLEET)
        throw new Error(`${FLEET} hosts: ${include.length} entries covering ${covered.length}`)
      entries = include.length
      const [c, t2] = await timed(() =>
        planMatrix({
          flake: '.',
          on: '',
          changedSince: fleet.base,
          maxJobs: 256,
          runners,
          cwd: fleet.dir
        })
      )
      if (c.hosts.length !== CHANGED) throw new Error(`${FLEET} hosts: ${c.hosts.length} changed`)
      fleetChanged.push(t2)
    }
  } finally {
    fs.rmSync(fleet.dir, { recursive: true, force: true })
  }
  console.log(
    `${FLEET} hosts (${ARM} aarch64), every host, packed into ${entries} shards   median ${s(median(fleetAll))}  [${fleetAll.map(s).join(', ')}]`
  )
  console.log(
    `${FLEET} hosts, changed-since (${CHANGED} changed)                 median ${s(median(fleetChanged))}  [${fleetChanged.map(s).join(', ')}]`
  )

  const o = median(ours)
  const b = median(bare)
  console.log(
    `ratios: per host sequential / ours ${(seq / o).toFixed(1)}×; per host parallel / ours ${(par / o).toFixed(1)}×; ours / bare ${(o / b).toFixed(1)}× (ours evaluates two sides and the inventory)`
  )

  const result = {
    benchmark: 'matrix',
    title: `matrix changed-since on ${HOSTS} hosts (${CHANGED} changed), and a fleet of ${FLEET} hosts past 256`,
    date: new Date().toISOString(),
    hosts: HOSTS,
    fleet: FLEET,
    fleetShards: entries,
    changed: CHANGED,
    runs: RUNS,
    nproc,
    figures: [
      {
        name: 'ours: planMatrix with changed-since (inventory + 2 evaluations)',
        seconds: o,
        runs: ours
      },
      { name: `per host: ${2 * HOSTS} nix eval processes, sequential`, seconds: seq },
      {
        name: `per host: ${2 * HOSTS} nix eval processes, ${Math.max(1, Math.floor(nproc / 2))} at a time per side (${nproc} in all)`,
        seconds: par
      },
      { name: `bare: one nix eval of ${HOSTS} drvPaths (one side)`, seconds: b, runs: bare },
      {
        name: `${FLEET} hosts (${ARM} aarch64-linux), runners map: every host, packed into ${entries} shards of one system`,
        seconds: median(fleetAll),
        runs: fleetAll
      },
      {
        name: `${FLEET} hosts, runners map, changed-since (${CHANGED} changed; inventory + 2 evaluations)`,
        seconds: median(fleetChanged),
        runs: fleetChanged
      }
    ],
    ratios: {
      perHostSequentialOverOurs: seq / o,
      perHostParallelOverOurs: par / o,
      oursOverBare: o / b
    },
    notes: [
      'eval-cache = false for every command; times are wall-clock seconds.',
      `per-host nix eval processes killed by a signal from outside and run again: ${signalRetries}`
    ]
  }
  fs.mkdirSync(path.join(root, '.bench'), { recursive: true })
  fs.writeFileSync(path.join(root, '.bench/matrix.json'), JSON.stringify(result, null, 2) + '\n')
  console.log('wrote .bench/matrix.json')
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
