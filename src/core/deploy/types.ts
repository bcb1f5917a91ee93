/** Plain records passed between the deploy phases and rendered by the summary, the comment and the terminal. */
import type { ActivationReport } from '../activation-output.js'
import type { CheckOutcome } from '../health.js'

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
