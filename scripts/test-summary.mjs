// The closing line of `npm test`, from jest's --json result files given as arguments:
//   tests: N passed, N failed, N skipped
// A result file that is missing or unreadable counts as one failure. Skipped counts jest's pending
// tests (it.skip, describe.skip, a -t filter) and todo tests. With CI=true a skipped test is an
// error: every test in this suite needs nix or sshd or neither, and in CI all of them must run.
import { readFileSync } from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0
const skippedNames = []
for (const file of process.argv.slice(2)) {
  let r
  try {
    r = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    console.error(`test summary: no readable results in ${file}`)
    failed++
    continue
  }
  passed += r.numPassedTests
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites
  skipped += r.numPendingTests + r.numTodoTests
  for (const suite of r.testResults ?? [])
    for (const t of suite.assertionResults ?? [])
      if (['pending', 'skipped', 'todo', 'disabled'].includes(t.status))
        skippedNames.push(`${suite.name}: ${t.fullName}`)
}
for (const name of skippedNames) console.log(`skipped: ${name}`)
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
if (process.env.CI === 'true' && skipped > 0) {
  console.error(
    `error: ${skipped} test(s) skipped; in CI every test must run (a test that needs nix or sshd may not be skipped)`
  )
  process.exit(1)
}
