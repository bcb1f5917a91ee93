/**
 * Plain records that several modules share: what a build or a diff produced, what the closure
 * cache did, what a deploy or a rollback did on each host. The engine fills them, and the job summary, the pull request comment and the
 * terminal output are renderings of them.
 */
import type { ActivationReport } from './activation-output.js'
import type { BuildTarget, Built } from './build.js'
import type { ClosureDiff } from './diff.js'
import type { CheckOutcome } from './health.js'

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
  /** `signing-key`: the closure was signed with that key (its name). */
  signedBy?: string
  /** `push-to`: the store the closure was copied to. */
  pushedTo?: string
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
  status: 'saved' | 'exists' | 'unavailable' | 'failed' | 'skipped'
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

/** What decides whether a change needs a reboot: the toplevel's links of these names, in this order. */
export type BootComponent = 'kernel' | 'initrd' | 'kernel-modules' | 'systemd'
export const BOOT_COMPONENTS: readonly BootComponent[] = [
  'kernel',
  'initrd',
  'kernel-modules',
  'systemd'
]

/**
 * Why a change needs a reboot to take full effect, one record for the closure diff and the
 * dry-activate report alike.
 */
export interface RebootReason {
  component: BootComponent
  /** One line for people (`linux 6.6.40 → 6.6.41`, `initrd changed`); see `rebootReason`. */
  detail: string
  /** The component's store path in the system before, when the system refers to one. */
  before?: string
  /** The same, in the system after. */
  after?: string
}

/**
 * The reboot reason for a component that differs between two systems, with the one wording the
 * suite uses, or null when the difference needs no reboot (systemd rebuilt at the same version
 * re-executes itself in place). Versions are the component's package versions when known.
 */
export function rebootReason(
  component: BootComponent,
  change: { before?: string; after?: string; beforeVersion?: string; afterVersion?: string }
): RebootReason | null {
  const vb = change.beforeVersion ?? ''
  const va = change.afterVersion ?? ''
  const moved = vb !== '' && va !== '' && vb !== va
  let detail: string
  switch (component) {
    case 'kernel':
      detail = moved
        ? `linux ${vb} → ${va}`
        : vb !== '' && vb === va
          ? 'kernel rebuilt'
          : 'kernel changed'
      break
    case 'initrd':
      detail = 'initrd changed'
      break
    case 'kernel-modules':
      detail = moved ? `kernel modules ${vb} → ${va}` : 'kernel modules changed'
      break
    case 'systemd':
      if (vb !== '' && vb === va) return null
      detail = `systemd ${vb || '∅'} → ${va || '∅'}`
      break
  }
  return {
    component,
    detail,
    ...(change.before ? { before: change.before } : {}),
    ...(change.after ? { after: change.after } : {})
  }
}

// Host results: what a deploy or a rollback did on each host, phase by phase.

export type DeployMode = 'switch' | 'boot' | 'test'
export type HostStatus = 'deployed' | 'unchanged' | 'rolled-back' | 'failed' | 'skipped'

export type PhaseName =
  | 'resolve'
  | 'probe'
  | 'lock'
  | 'copy'
  | 'record'
  | 'arm'
  | 'activate'
  | 'reboot'
  | 'verify'
  | 'confirm'
  | 'rollback'
  | 'dry-activate'

export interface PhaseRecord {
  name: PhaseName
  status: 'ok' | 'failed' | 'skipped'
  durationMs: number
  /** When the phase began and ended, in milliseconds since the epoch (the rollout's picture). */
  startedAt: number
  endedAt: number
  detail?: string
}

export interface HostResult {
  host: string
  status: HostStatus
  /** The store path the host was asked to run. */
  storePath: string
  /** What /run/current-system was before (null on a host's first deploy). */
  previousStorePath: string | null
  previousGeneration: number | null
  /** The system profile's generation after the deploy (or after the rollback). */
  generation: number | null
  /** What the host runs at the end, as read back from it (null when it could not be read). */
  activeStorePath: string | null
  durationSeconds: number
  phases: PhaseRecord[]
  health: CheckOutcome[]
  activation?: ActivationReport
  /** One sentence, naming the host and the phase, when status is rolled-back or failed. */
  error?: string
  failedPhase?: PhaseName
  failingCheck?: string
}

/** A host's record before anything is known about it. */
export function newHostResult(host: string, status: HostStatus, storePath = ''): HostResult {
  return {
    host,
    status,
    storePath,
    previousStorePath: null,
    previousGeneration: null,
    generation: null,
    activeStorePath: null,
    durationSeconds: 0,
    phases: [],
    health: []
  }
}

/** The `results` output: one record per host (contract field names). */
export function resultRecord(r: HostResult): Record<string, unknown> {
  return {
    host: r.host,
    status: r.status,
    'store-path': r.storePath,
    'previous-store-path': r.previousStorePath,
    'duration-seconds': Math.round(r.durationSeconds * 10) / 10,
    health: r.health.map(h => ({
      check: h.check,
      ok: h.ok,
      attempts: h.attempts,
      detail: h.detail
    })),
    error: r.error ?? null,
    phase: r.failedPhase ?? null,
    generation: r.generation,
    'previous-generation': r.previousGeneration
  }
}
