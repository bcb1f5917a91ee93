/**
 * The workflow event, read defensively (a payload of an unexpected shape, or not JSON at all, is
 * "no event"), and the one rule for fork pull requests shared by every action that holds secrets.
 */
import fs from 'node:fs'
import { ActionError } from '../core/errors.js'

/** The one reader of an event payload file: its JSON, or null when it cannot be read or parsed. */
export function readEventFile(file: string): unknown {
  if (!file) return null
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown
  } catch {
    return null
  }
}

/** This run's event: its name (GITHUB_EVENT_NAME) and payload (GITHUB_EVENT_PATH, read once). */
export function readEvent(): { name: string; payload: unknown } {
  const name = process.env.GITHUB_EVENT_NAME ?? ''
  const file = process.env.GITHUB_EVENT_PATH ?? ''
  if (!cached || cached.file !== file) cached = { file, payload: readEventFile(file) }
  return { name, payload: cached.payload }
}
let cached: { file: string; payload: unknown } | null = null

/**
 * Why `action` must not run for this event, or null. A pull request from a fork gets no secrets
 * (no SSH key); under `pull_request_target` it would get them, and the action would run the pull
 * request's system as root on the hosts, so that is refused too.
 */
export function forkRefusal(action: string, eventName: string, payload: unknown): string | null {
  if (!eventName.startsWith('pull_request')) return null
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  const pr = obj(obj(payload)?.pull_request)
  const headRepo = obj(obj(pr?.head)?.repo)
  const baseRepo = obj(obj(pr?.base)?.repo)
  if (!pr || !headRepo) return null
  const fromFork =
    headRepo.fork === true ||
    (typeof headRepo.full_name === 'string' &&
      typeof baseRepo?.full_name === 'string' &&
      headRepo.full_name !== baseRepo.full_name)
  if (!fromFork) return null
  return eventName === 'pull_request_target'
    ? `${action} refuses to run for a pull request from a fork under pull_request_target: it would run the fork's system as root on your hosts with your secrets.`
    : `${action} needs secrets (the SSH key) that GitHub does not give to pull requests from forks, so it does not run for this pull request from a fork; run it after merging (the workflow_run pattern covers reports).`
}

/** Throws the refusal as the step's one sentence. */
export function refuseForkPullRequest(action: string): void {
  const event = readEvent()
  const refusal = forkRefusal(action, event.name, event.payload)
  if (refusal) throw new ActionError(refusal, { phase: 'start' })
}
