/**
 * The release logic (scripts/release.sh, which .github/workflows/release.yml runs) against a local
 * bare repository standing in for GitHub: a clone of this repository's HEAD, with its real
 * `npm run package`. It refuses stale bundles, a version that is not package.json's, a bad
 * version and a tag that exists; it tags vX.Y.Z and moves the major tag on each release.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { repoRoot } from '../harness/action-runner.js'

const T = 300_000
let dir: string
let work: string
let bare: string

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'release test',
  GIT_AUTHOR_EMAIL: 'release@example.invalid',
  GIT_COMMITTER_NAME: 'release test',
  GIT_COMMITTER_EMAIL: 'release@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1'
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
  return r.stdout.trim()
}

function release(version: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', ['scripts/release.sh', version, 'origin'], {
    cwd: work,
    env: { ...gitEnv, ...env },
    encoding: 'utf8'
  })
  return { status: r.status, stderr: r.stderr, stdout: r.stdout }
}

/** The commit a tag names in the bare repository, or '' when it has no such tag. */
function remoteTag(tag: string): string {
  const r = spawnSync('git', ['rev-parse', '-q', '--verify', `refs/tags/${tag}^{commit}`], {
    cwd: bare,
    env: gitEnv,
    encoding: 'utf8'
  })
  return r.status === 0 ? r.stdout.trim() : ''
}

function setVersion(v: string): void {
  const p = path.join(work, 'package.json')
  const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }
  pkg.version = v
  fs.writeFileSync(p, JSON.stringify(pkg, null, 2) + '\n')
  git(work, 'commit', '-qam', `version ${v}`)
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-deploy-release-'))
  bare = path.join(dir, 'remote.git')
  work = path.join(dir, 'work')
  git(dir, 'init', '-q', '--bare', bare)
  git(dir, 'clone', '-q', '--no-checkout', repoRoot, work)
  git(work, 'checkout', '-q', '-B', 'main', git(repoRoot, 'rev-parse', 'HEAD'))
  git(work, 'remote', 'set-url', 'origin', bare)
  git(work, 'push', '-q', 'origin', 'main')
  // A node_modules folder of the clone's own, not a link: ncc names its chunks after the modules'
  // real paths, so a linked node_modules outside the clone builds other chunk names than the
  // committed dist/ (built, like every user's, with node_modules inside the checkout). Hard links
  // where the file system allows, else a copy.
  const modules = path.join(repoRoot, 'node_modules')
  const linked = spawnSync('cp', ['-al', modules, path.join(work, 'node_modules')])
  if (linked.status !== 0) {
    fs.rmSync(path.join(work, 'node_modules'), { recursive: true, force: true })
    const copied = spawnSync('cp', ['-a', modules, path.join(work, 'node_modules')])
    if (copied.status !== 0) throw new Error(`copying node_modules: ${copied.stderr}`)
  }
})
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

describe('release', () => {
  it('the workflow runs the script with the version through env:, with contents: write only', () => {
    const doc = YAML.parse(
      fs.readFileSync(path.join(repoRoot, '.github/workflows/release.yml'), 'utf8')
    ) as { jobs: Record<string, { permissions: unknown; steps: Record<string, unknown>[] }> }
    const job = doc.jobs.release
    expect(job.permissions).toEqual({ contents: 'write' })
    const step = job.steps.find(s => String(s.run ?? '').includes('scripts/release.sh'))!
    expect(step.run).toContain('bash scripts/release.sh "$VERSION" origin')
    expect(step.env).toEqual({ VERSION: '${{ inputs.version }}' })
  })

  it(
    'refuses bad versions, stale dist/ and existing tags; tags vX.Y.Z and moves the major tag',
    () => {
      expect(release('v1.2.3').stderr).toContain("the version 'v1.2.3' is not X.Y.Z")
      expect(release('1.2').stderr).toContain("the version '1.2' is not X.Y.Z")
      setVersion('1.2.3')
      expect(release('1.2.4').stderr).toContain('package.json says version 1.2.3, not 1.2.4')

      // A commit whose dist/ is not what the sources build: refused by the real build.
      const good = git(work, 'rev-parse', 'HEAD')
      fs.appendFileSync(path.join(work, 'dist/index.js'), '\n// edited by hand\n')
      git(work, 'commit', '-qam', 'stale bundle')
      const stale = release('1.2.3')
      expect(stale.status).not.toBe(0)
      expect(stale.stderr).toContain('dist/ is not what the sources build')
      expect(remoteTag('v1.2.3')).toBe('')
      expect(remoteTag('v1')).toBe('')

      // Back to fresh bundles: released.
      git(work, 'checkout', '-q', good, '--', 'dist')
      git(work, 'commit', '-qam', 'fresh bundle')
      const head = git(work, 'rev-parse', 'HEAD')
      const first = release('1.2.3')
      expect(first.stderr).not.toContain('release: the')
      expect(first.status).toBe(0)
      expect(remoteTag('v1.2.3')).toBe(head)
      expect(remoteTag('v1')).toBe(head)

      // The same version again: refused, nothing moves.
      expect(release('1.2.3').stderr).toContain('the tag v1.2.3 already exists')

      // The next release moves v1 and leaves v1.2.3 where it was. (The build is the real one
      // above; here it is skipped, as only the tags are under test.)
      setVersion('1.2.4')
      const next = git(work, 'rev-parse', 'HEAD')
      const second = release('1.2.4', { RELEASE_BUILD: 'true' })
      expect(second.status).toBe(0)
      expect(remoteTag('v1.2.4')).toBe(next)
      expect(remoteTag('v1')).toBe(next)
      expect(remoteTag('v1.2.3')).toBe(head)
    },
    T
  )
})
