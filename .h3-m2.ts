import { run } from './src/core/process.js'
const A='/nix/store/jn01l5hx176cjf0ba5l3xxv23864i3p9-nixos-system-bench-24.05.before', B='/nix/store/kx8w11izdspjnv6zzxra0fbffg9jk1gv-nixos-system-bench-24.05.after'
const env = { NIX_CONFIG: 'experimental-features = nix-command flakes\nsandbox = false\nsubstituters =\nwarn-dirty = false' }
for (const argv of [['nix', 'store', 'diff-closures', A, B], ['nix', 'path-info', '-r', '--json', A, B], ['nix', 'path-info', '-r', '-s', A, B], ['nix-store', '-qR', A, B]]) {
  const ts: number[] = []
  for (let r = 0; r < 7; r++) { const t = performance.now(); await run(argv, { timeoutMs: 60000, env }); ts.push(performance.now() - t) }
  ts.sort((a, b) => a - b); console.log(argv.slice(0, 3).join(' '), ts.map(x => x.toFixed(0)).join(' '))
}
