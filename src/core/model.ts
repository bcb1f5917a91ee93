/**
 * Plain records that several modules share: what a build or a diff produced, what the closure
 * cache did. The engine fills them, and the job summary, the pull request comment and the
 * terminal output are renderings of them.
 */
import type { BuildTarget, Built } from './build.js'
import type { ClosureDiff } from './diff.js'

/** One `build` run: what was built, its closure and, with `diff-against`, the diff. */
export interface BuildRun {
  flake: string
  target: BuildTarget
  /** The host, or the built path's name: names files, headings and the comment's section. */
  label: string
  built: Built
  closure: { bytes: number; paths: number }
  /** The `diff-against` input as given ('' when none). */
  diffAgainst: string
  /** What the other side was (`revision 1a2b3c4d5e6f (main)`, `deployed on web1`), when there is one. */
  beforeDescription?: string
  diff: ClosureDiff | null
  /** Set when `diff-against` was given but there is nothing to compare with (a new host). */
  note?: string
  /** `changed` output: diff-against given and the store paths differ. */
  changed: boolean
  /** `diff-summary` output: one line ('' without diff-against). */
  summary: string
}

/** One `diff` run: the two systems and their closure diff. */
export interface DiffRun {
  flake: string
  host?: string
  /** The host, or the after path's name: names files, headings and the comment's section. */
  label: string
  before: { path: string; description: string }
  after: { path: string; description: string }
  diff: ClosureDiff
}

/** What saving a closure to the Actions cache did. */
export interface SaveResult {
  status: 'saved' | 'exists' | 'unavailable' | 'failed'
  key: string
  /** Bytes of the binary cache folder that was saved. */
  bytes?: number
  message?: string
}

/** What restoring a closure from the Actions cache did. */
export interface RestoreResult {
  status: 'present' | 'restored' | 'miss' | 'unavailable' | 'failed'
  key: string
  message?: string
}
