import { queryClosure, parsePathInfo } from './src/core/closure.js'
import { run } from './src/core/process.js'
import { diffClosures, selectedPackages } from './src/core/diff.js'
const A='/nix/store/jn01l5hx176cjf0ba5l3xxv23864i3p9-nixos-system-bench-24.05.before', B='/nix/store/kx8w11izdspjnv6zzxra0fbffg9jk1gv-nixos-system-bench-24.05.after'
const env = { NIX_CONFIG: 'experimental-features = nix-command flakes\nsandbox = false\nsubstituters =\nwarn-dirty = false' }
for (let r = 0; r < 4; r++) {
  let t = performance.now()
  const res = await run(['nix', 'path-info', '--recursive', '--json', A, B], { timeoutMs: 60000, env })
  const t1 = performance.now() - t; t = performance.now()
  const infos = parsePathInfo(res.stdout)
  const t2 = performance.now() - t; t = performance.now()
  const a = await queryClosure(A, { timeoutMs: 60000, env }); const t3 = performance.now() - t; t = performance.now()
  const b = await queryClosure(B, { timeoutMs: 60000, env }); const t4 = performance.now() - t; t = performance.now()
  const d = diffClosures(a, b, { beforePath: A, afterPath: B, selected: { before: selectedPackages(A, a), after: selectedPackages(B, b) } })
  const t5 = performance.now() - t
  console.log(`run AB ${t1.toFixed(0)} parse ${t2.toFixed(0)} (${res.stdout.length} bytes, ${infos.length}) qA ${t3.toFixed(0)} qB ${t4.toFixed(0)} diff ${t5.toFixed(0)}`)
}
