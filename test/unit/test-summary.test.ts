/**
 * The closing line of `npm test` (scripts/test-summary.mjs) and the skip policy: skipped tests are
 * counted, and with CI=true a skip fails the run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { skipPolicy } from '../harness/requires.js'

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/test-summary.mjs')
let dir = ''
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'test-summary-'))
})
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function results(
  name: string,
  counts: { passed: number; failed: number; pending: number; todo: number }
): string {
  const file = join(dir, name)
  const assertionResults = [
    ...Array.from({ length: counts.pending }, (_, i) => ({
      status: 'pending',
      fullName: `skipped ${i}`
    })),
    ...Array.from({ length: counts.todo }, (_, i) => ({ status: 'todo', fullName: `todo ${i}` }))
  ]
  writeFileSync(
    file,
    JSON.stringify({
      numPassedTests: counts.passed,
      numFailedTests: counts.failed,
      numRuntimeErrorTestSuites: 0,
      numPendingTests: counts.pending,
      numTodoTests: counts.todo,
      testResults: [{ name: `/repo/test/${name}.test.ts`, assertionResults }]
    })
  )
  return file
}

function summary(files: string[], ci: boolean) {
  const env = { ...process.env, CI: ci ? 'true' : '' }
  const r = spawnSync(process.execPath, [script, ...files], { env, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('the closing line of npm test', () => {
  it('counts passed, failed and skipped (pending and todo) over every result file', () => {
    const a = results('a', { passed: 3, failed: 1, pending: 2, todo: 0 })
    const b = results('b', { passed: 4, failed: 0, pending: 0, todo: 1 })
    const r = summary([a, b], false)
    expect(r.stdout.trim().split('\n').pop()).toBe('tests: 7 passed, 1 failed, 3 skipped')
    expect(r.stdout).toContain('skipped: /repo/test/a.test.ts: skipped 1')
    expect(r.stdout).toContain('skipped: /repo/test/b.test.ts: todo 0')
    expect(r.code).toBe(0)
  })

  it('with CI=true a skipped test fails the run; without skips it passes', () => {
    const skipping = results('c', { passed: 5, failed: 0, pending: 1, todo: 0 })
    const failedRun = summary([skipping], true)
    expect(failedRun.code).toBe(1)
    expect(failedRun.stdout).toContain('tests: 5 passed, 0 failed, 1 skipped')
    expect(failedRun.stderr).toMatch(/1 test\(s\) skipped; in CI every test must run/)
    const clean = results('d', { passed: 5, failed: 0, pending: 0, todo: 0 })
    expect(summary([clean], true).code).toBe(0)
  })

  it('a missing result file counts as one failure', () => {
    const r = summary([join(dir, 'absent.json')], false)
    expect(r.stdout.trim()).toBe('tests: 0 passed, 1 failed, 0 skipped')
  })
})

describe('tests that need nix or sshd', () => {
  it('run when the tools are there, skip on a developer machine, fail in CI', () => {
    expect(skipPolicy([], true)).toBe('run')
    expect(skipPolicy([], false)).toBe('run')
    expect(skipPolicy(['nix'], false)).toBe('skip')
    expect(skipPolicy(['nix'], true)).toBe('fail')
    expect(skipPolicy(['sshd'], true)).toBe('fail')
  })
})
