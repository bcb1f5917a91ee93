/**
 * Temporary git repositories holding fixture flakes (flakes see only what git tracks), with the
 * fixture host library copied in as `lib/`, and a helper to commit changes for `changed-since`.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot } from './action-runner.js'

export const fixturesDir = path.join(repoRoot, 'test/fixtures')

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: os.tmpdir()
}

export interface FlakeRepo {
  dir: string
  /** Writes files (relative paths; null deletes), commits them, returns the new commit id. */
  commit(files: Record<string, string | null>, message?: string): string
  /** Writes files without committing (they are `git add`ed so the flake sees them). */
  write(files: Record<string, string | null>): void
  head(): string
  remove(): void
}

function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8'
  }).trim()
}

function writeFiles(dir: string, files: Record<string, string | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel)
    if (content === null) fs.rmSync(file, { force: true })
    else {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content)
    }
  }
}

/** A new repository with `files`, and the fixture library as `lib/` unless `withLib` is false. */
export function makeFlakeRepo(
  files: Record<string, string>,
  opts: { withLib?: boolean; prefix?: string; dir?: string } = {}
): FlakeRepo {
  const dir = opts.dir
    ? path.resolve(opts.dir)
    : fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? 'flake-repo-'))
  fs.mkdirSync(dir, { recursive: true })
  git(dir, ['init', '-q', '-b', 'main'])
  if (opts.withLib !== false)
    fs.cpSync(path.join(fixturesDir, 'lib'), path.join(dir, 'lib'), { recursive: true })
  writeFiles(dir, files)
  git(dir, ['add', '-A'])
  git(dir, ['commit', '-q', '-m', 'initial'])
  let tick = 0
  return {
    dir,
    commit(changes, message = 'change') {
      writeFiles(dir, changes)
      git(dir, ['add', '-A'])
      tick++
      execFileSync('git', ['-C', dir, 'commit', '-q', '--allow-empty', '-m', message], {
        env: {
          ...process.env,
          ...GIT_ENV,
          GIT_COMMITTER_DATE: `2026-01-01T00:00:${String(tick).padStart(2, '0')}Z`
        }
      })
      return git(dir, ['rev-parse', 'HEAD'])
    },
    write(changes) {
      writeFiles(dir, changes)
      git(dir, ['add', '-A'])
    },
    head: () => git(dir, ['rev-parse', 'HEAD']),
    remove: () => fs.rmSync(dir, { recursive: true, force: true })
  }
}
