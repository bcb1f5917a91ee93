/**
 * Tests that need a tool of the machine (nix, sshd) declare it here instead of skipping quietly:
 * on a developer's machine without the tool they are skipped (and the closing line of `npm test`
 * counts them); in CI (CI=true) they fail, naming what is missing, because CI must run them.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { it } from '@jest/globals'

export type Tool = 'nix' | 'sshd'

const present: Record<Tool, () => boolean> = {
  nix: () => spawnSync('nix', ['--version'], { stdio: 'ignore' }).status === 0,
  sshd: () => existsSync('/usr/sbin/sshd')
}

/** What to do with a test whose `missing` tools are absent: run it, skip it, or fail it. */
export function skipPolicy(missing: Tool[], ci: boolean): 'run' | 'skip' | 'fail' {
  if (missing.length === 0) return 'run'
  return ci ? 'fail' : 'skip'
}

/** `it` for tests that need `tools`: see the module comment. */
export function itWith(tools: Tool[]): typeof it.skip {
  const missing = tools.filter(t => !present[t]())
  const policy = skipPolicy(missing, process.env.CI === 'true')
  if (policy === 'run') return it
  if (policy === 'skip') return it.skip
  const failing = (name: string, _fn?: unknown, timeout?: number) =>
    it(
      name,
      () => {
        throw new Error(
          `this test needs ${missing.join(' and ')}, missing on this machine; in CI it must run, not be skipped`
        )
      },
      timeout
    )
  return failing as unknown as typeof it.skip
}
