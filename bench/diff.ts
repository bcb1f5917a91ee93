/**
 * Benchmark of the closure diff engine (not a test). Run: `npx tsx bench/diff.ts`.
 *
 * 1. Synthetic: two generated closures of 25,000 store paths each, as `nix path-info --json`
 *    output; times parse, diff and every rendering, with memory.
 * 2. Real: two closures of about 2,100 tiny store paths each, really built (cached under
 *    `.bench/` so a second run does not rebuild); times our query of both closures plus the diff
 *    against `nix store diff-closures` on the same pair, and compares peak memory.
 *
 * Options: `--synthetic-only`, `--real-only`, `--paths N` (synthetic size), `--runs N`.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { parsePathInfo, queryClosure, queryClosures } from '../src/core/closure.js'
import { diffClosures, formatBytes, selectedPackages } from '../src/core/diff.js'
import { renderMarkdown, renderText, toJson } from '../src/core/render-diff.js'
import { run } from '../src/core/process.js'
import { NIX_CONFIG } from '../test/harness/nix-env.js'

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const RUNS = option('--runs', 5)
const NIX_ENV = { ...process.env, NIX_CONFIG }

function ms(t: number): string {
  return `${t.toFixed(1)} ms`
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`
}
/** What `.bench/diff.json` gets (for bench/all.ts and docs/benchmarks.md). */
const report: {
  benchmark: string
  title: string
  date: string
  runs: number
  figures: { name: string; seconds: number }[]
  notes: string[]
} = {
  benchmark: 'diff',
  title: 'closure diff engine',
  date: new Date().toISOString(),
  runs: RUNS,
  figures: [],
  notes: []
}

async function time<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const out = await fn()
  return [out, performance.now() - t0]
}

// ---------------------------------------------------------------------------------------------
// 1. Synthetic closures

const PREFIXES = [
  'lib',
  'python3.11-',
  'perl5.38.0-',
  'xorg-',
  'gnome-',
  'haskell-',
  'node-',
  'rust-',
  'go-',
  'font-',
  'kde-',
  'qt6-'
]
const OUTPUTS = ['', '-bin', '-dev', '-lib', '-man', '-doc']
const ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz'

function hash(seed: string): string {
  const digest = createHash('sha256').update(seed).digest()
  let out = ''
  for (let i = 0; i < 32; i++) out += ALPHABET[digest[i] % 32]
  return out
}

/** Two closures of about `n` paths: of the packages 5% upgraded, 0.5% removed, 10% rebuilt; 0.5% of `n` added. */
function syntheticPair(n: number): {
  before: string
  after: string
  beforeTop: string
  afterTop: string
} {
  let rnd = 12345
  const rand = () => ((rnd = (rnd * 1103515245 + 12345) % 2147483648), rnd / 2147483648)
  type P = { name: string; salt: string; size: number }
  const pkgs: P[] = []
  const afterPkgs: P[] = []
  // One fate per package, shared by all its outputs (1 to 3 of them).
  for (let i = 0; pkgs.length < n - 2; i++) {
    const base = `${PREFIXES[i % PREFIXES.length]}pkg${i}`
    const version = `${1 + (i % 7)}.${i % 13}.${i % 5}`
    const bumped = `${1 + (i % 7)}.${(i % 13) + 1}.${i % 5}`
    const r = rand()
    for (const out of OUTPUTS.slice(0, 1 + (i % 3))) {
      const size = Math.floor(rand() * 400_000) + 1000
      const p = { name: `${base}-${version}${out}`, salt: 'a', size }
      pkgs.push(p)
      if (r < 0.005) continue // removed
      if (r < 0.055)
        afterPkgs.push({ name: `${base}-${bumped}${out}`, salt: 'b', size: size + 512 }) // upgraded
      else if (r < 0.155)
        afterPkgs.push({ ...p, salt: 'b', size: size + 64 }) // rebuilt
      else afterPkgs.push(p)
    }
  }
  for (let i = 0; i < n * 0.005; i++)
    afterPkgs.push({ name: `newpkg${i}-0.${i}`, salt: 'b', size: 5000 }) // added

  const render = (list: P[], top: string) => {
    const paths = list.map(p => `/nix/store/${hash(p.name + p.salt)}-${p.name}`)
    const sw = `/nix/store/${hash(top + 'sw')}-system-path`
    const topPath = `/nix/store/${hash(top)}-nixos-system-big-24.05.${top}`
    const infos = list.map((p, i) => ({
      path: paths[i],
      narHash: `sha256-${hash(paths[i])}`,
      narSize: p.size,
      references: [paths[Math.floor(i / 2)], paths[Math.floor(i / 3)], paths[Math.floor(i / 5)]],
      deriver: `${paths[i]}.drv`,
      registrationTime: 1700000000,
      ultimate: true
    }))
    infos.push({
      path: sw,
      narHash: '',
      narSize: 100000,
      references: paths.slice(0, 300),
      deriver: '',
      registrationTime: 0,
      ultimate: true
    })
    infos.push({
      path: topPath,
      narHash: '',
      narSize: 5000,
      references: [sw, ...paths.slice(0, 5)],
      deriver: '',
      registrationTime: 0,
      ultimate: true
    })
    return { json: JSON.stringify(infos), top: topPath }
  }
  const b = render(pkgs, '1')
  const a = render(afterPkgs, '2')
  return { before: b.json, after: a.json, beforeTop: b.top, afterTop: a.top }
}

async function synthetic(): Promise<void> {
  const n = option('--paths', 25000)
  const pair = syntheticPair(n)
  console.log(
    `\n== Synthetic: two closures of ${n} paths (${formatBytes(pair.before.length)} + ${formatBytes(pair.after.length)} of JSON)`
  )
  const rssBefore = process.memoryUsage().rss
  const timings: Record<string, number[]> = {
    parse: [],
    diff: [],
    markdownFull: [],
    markdown65k: [],
    json: [],
    text: [],
    total: []
  }
  let result: ReturnType<typeof diffClosures> | undefined
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    const [[b, a], tParse] = await time(() => [
      parsePathInfo(pair.before),
      parsePathInfo(pair.after)
    ])
    const [d, tDiff] = await time(() =>
      diffClosures(b, a, {
        beforePath: pair.beforeTop,
        afterPath: pair.afterTop,
        host: 'big',
        selected: {
          before: selectedPackages(pair.beforeTop, b),
          after: selectedPackages(pair.afterTop, a)
        }
      })
    )
    const [md, tMd] = await time(() => renderMarkdown(d))
    const [md65, tMd65] = await time(() => renderMarkdown(d, { maxChars: 65536 }))
    const [, tJson] = await time(() => toJson(d))
    const [, tText] = await time(() => renderText(d))
    const total = performance.now() - t0
    timings.parse.push(tParse)
    timings.diff.push(tDiff)
    timings.markdownFull.push(tMd)
    timings.markdown65k.push(tMd65)
    timings.json.push(tJson)
    timings.text.push(tText)
    timings.total.push(total)
    result = d
    if (r === 0)
      console.log(
        `summary: ${d.summary}; ${d.packages.length} changed packages; markdown full ${md.length} chars, budgeted ${md65.length} chars`
      )
  }
  for (const [k, v] of Object.entries(timings)) {
    console.log(`${k.padEnd(13)} median ${ms(median(v))} (min ${ms(Math.min(...v))}, ${RUNS} runs)`)
    report.figures.push({ name: `synthetic ${n} paths: ${k} (median)`, seconds: median(v) / 1000 })
  }
  const mem = process.memoryUsage()
  console.log(
    `memory: rss ${formatBytes(mem.rss)} (+${formatBytes(mem.rss - rssBefore)} over the start of this part), heap used ${formatBytes(mem.heapUsed)}, peak rss (maxRSS) ${mib(process.resourceUsage().maxRSS)}`
  )
  void result
}

// ---------------------------------------------------------------------------------------------
// 2. A real pair

/** Layers of tiny packages; each refers to three of the layer below. `after` changes some. */
const REAL_NIX = `{ variant, layers ? 21, width ? 100 }:
let
  after = variant == "after";
  mk = name: deps: derivation {
    inherit name deps;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "PATH=/usr/bin:/bin; mkdir $out; for d in $deps; do echo $d; done > $out/deps; echo \${name} > $out/name" ];
  };
  # Version of package i in layer l: the top layers move on in the after system.
  version = l: i: if after && l >= layers - 2 && i < 20 then "2.\${toString i}" else if after && l == layers - 1 && i >= 20 && i < 25 then "0.\${toString i}" else "1.\${toString i}";
  layer = l: below: builtins.genList (i:
      let ds = if below == [ ] then [ ] else [ (builtins.elemAt below (i - (i / width) * width)) (builtins.elemAt below (builtins.div (i * 7) 1 - builtins.div (i * 7) width * width)) (builtins.elemAt below (builtins.div (i * 13) 1 - builtins.div (i * 13) width * width)) ];
          extra = if after && l == 10 && i == 0 then [ "rebuilt" ] else [ ];
      in mk "l\${toString l}-pkg\${toString i}-\${version l i}" (ds ++ extra))
    (if after && l == layers - 1 then width + 10 else width);
  build = l: if l == 0 then layer 0 [ ] else layer l (build (l - 1));
  all = builtins.genList (l: build l) layers;
  removedOnly = if after then [ ] else builtins.genList (i: mk "gone\${toString i}-1.0" [ ]) 10;
  systemPath = mk "system-path" (builtins.elemAt all (layers - 1) ++ removedOnly);
in
mk "nixos-system-bench-24.05.\${variant}" ([ systemPath ] ++ builtins.concatLists all)
`

function nix(argv: string[], input?: string): string {
  return execFileSync('nix', argv, {
    env: NIX_ENV,
    encoding: 'utf8',
    input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'pipe']
  })
}

function realPair(): { before: string; after: string } {
  const dir = join(process.cwd(), '.bench')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'diff-real.nix')
  const cache = join(dir, 'diff-real.json')
  const key = createHash('sha256').update(REAL_NIX).digest('hex')
  if (existsSync(cache)) {
    const c = JSON.parse(readFileSync(cache, 'utf8')) as {
      key: string
      before: string
      after: string
    }
    const valid =
      spawnSync('nix-store', ['--check-validity', c.before, c.after], { env: NIX_ENV }).status === 0
    if (c.key === key && valid) {
      console.log('(using the pair built earlier, cached in .bench/diff-real.json)')
      return c
    }
  }
  writeFileSync(file, REAL_NIX)
  const build = (variant: string) => {
    const t0 = performance.now()
    const out = JSON.parse(
      nix([
        'build',
        '--no-link',
        '--json',
        '-j',
        '8',
        '--file',
        file,
        '--argstr',
        'variant',
        variant
      ])
    ) as { outputs: { out: string } }[]
    console.log(`built the ${variant} closure in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    return out[0].outputs.out
  }
  const pair = { key, before: build('before'), after: build('after') }
  // Register them as GC roots so a garbage collection does not take the cached pair away.
  for (const [name, p] of [
    ['before', pair.before],
    ['after', pair.after]
  ]) {
    spawnSync(
      'nix-store',
      ['--add-root', join(dir, `diff-real-${name}`), '--indirect', '--realise', p],
      { env: NIX_ENV }
    )
  }
  writeFileSync(cache, JSON.stringify(pair, null, 2))
  return pair
}

/** Wall time and peak RSS of a command, through GNU time when it is there. */
function measure(argv: string[]): { ms: number; maxRssKiB?: number; stdout: string } {
  const haveTime = existsSync('/usr/bin/time')
  const full = haveTime ? ['/usr/bin/time', '-f', 'MAXRSS %M', ...argv] : argv
  const t0 = performance.now()
  const res = spawnSync(full[0], full.slice(1), {
    env: NIX_ENV,
    encoding: 'utf8',
    maxBuffer: 1 << 30
  })
  const took = performance.now() - t0
  if (res.status !== 0) throw new Error(`${argv.join(' ')} failed: ${res.stderr}`)
  const m = /MAXRSS (\d+)/.exec(res.stderr)
  return { ms: took, maxRssKiB: m ? Number(m[1]) : undefined, stdout: res.stdout }
}

async function real(): Promise<void> {
  console.log('\n== Real closures built with Nix')
  const { before, after } = realPair()
  const nPaths = nix(['path-info', '-r', after]).trim().split('\n').length
  console.log(`before ${before}\nafter  ${after}\n${nPaths} store paths in the after closure`)

  const env = { NIX_CONFIG: NIX_ENV.NIX_CONFIG }
  const ours: number[] = []
  const oursQuery: number[] = []
  const oursTwo: number[] = []
  const theirs: number[] = []
  const theirsRun: number[] = []
  let theirsRss = 0
  let summary = ''
  for (let r = 0; r < RUNS; r++) {
    // Ours: one nix process for both closures, then the diff with the system's selection.
    const t0 = performance.now()
    const [b, a] = await queryClosures([before, after], { timeoutMs: 120_000, env })
    const tq = performance.now() - t0
    const d = diffClosures(b, a, {
      beforePath: before,
      afterPath: after,
      selected: { before: selectedPackages(before, b), after: selectedPackages(after, a) }
    })
    ours.push(performance.now() - t0)
    oursQuery.push(tq)
    summary = d.summary
    // The same with one query per closure, in parallel.
    const t1 = performance.now()
    const [b2, a2] = await Promise.all([
      queryClosure(before, { timeoutMs: 120_000, env }),
      queryClosure(after, { timeoutMs: 120_000, env })
    ])
    diffClosures(b2, a2, { beforePath: before, afterPath: after })
    oursTwo.push(performance.now() - t1)
    // Nix: through the same process runner, and through GNU time for its memory.
    const t2 = performance.now()
    await run(['nix', 'store', 'diff-closures', before, after], { timeoutMs: 120_000, env })
    theirsRun.push(performance.now() - t2)
    const m = measure(['nix', 'store', 'diff-closures', before, after])
    theirs.push(m.ms)
    theirsRss = Math.max(theirsRss, m.maxRssKiB ?? 0)
  }
  const pathInfoRss = measure(['nix', 'path-info', '--recursive', '--json', after]).maxRssKiB ?? 0
  const o = median(ours)
  const t = median(theirsRun)
  const line = (label: string, v: number) => console.log(`${label.padEnd(56)} median ${ms(v)}`)
  console.log(`our summary: ${summary} (${RUNS} runs of each)`)
  line('ours: queryClosures (one nix process) + diffClosures', o)
  line('  of which the query', median(oursQuery))
  line('ours: two queryClosure in parallel + diffClosures', median(oursTwo))
  line('nix store diff-closures, through the same run()', t)
  line('nix store diff-closures, through /usr/bin/time', median(theirs))
  console.log(
    `ratio: ours takes ${(o / t).toFixed(2)}× the time of nix store diff-closures (${o < t ? 'faster' : 'slower'})`
  )
  report.figures.push(
    {
      name: `real ${nPaths} paths: ours, queryClosures + diffClosures (median)`,
      seconds: o / 1000
    },
    {
      name: `real ${nPaths} paths: ours, of which the query (median)`,
      seconds: median(oursQuery) / 1000
    },
    {
      name: `real ${nPaths} paths: ours, two queryClosure in parallel + diff (median)`,
      seconds: median(oursTwo) / 1000
    },
    { name: `real ${nPaths} paths: nix store diff-closures (median)`, seconds: t / 1000 }
  )
  report.notes.push(
    `real pair: ours takes ${(o / t).toFixed(2)}× the time of nix store diff-closures; peak memory of nix store diff-closures ${mib(theirsRss)}, of each nix path-info child ${mib(pathInfoRss)}`
  )
  console.log(
    `peak memory: nix store diff-closures ${mib(theirsRss)}; ours: node maxRSS ${mib(process.resourceUsage().maxRSS)} (whole benchmark process) + each nix path-info child ${mib(pathInfoRss)}`
  )
}

if (!flag('--real-only')) await synthetic()
if (!flag('--synthetic-only')) await real()
mkdirSync(join(process.cwd(), '.bench'), { recursive: true })
writeFileSync(join(process.cwd(), '.bench', 'diff.json'), JSON.stringify(report, null, 2) + '\n')
console.log('wrote .bench/diff.json')
