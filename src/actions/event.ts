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
 * Whether a pull request comes from another repository than the one the workflow runs in. The head
 * repository's `full_name` is compared with the base repository's (GitHub names compare without
 * case). `head.repo.fork` is not used: in a repository that is itself a fork, every pull request
 * between its own branches has `fork: true`, yet gets the repository's secrets. A head repository
 * that is missing (`null` once the fork is deleted) cannot be shown to be this repository, so it
 * counts as a fork.
 */
export function isForkPullRequest(payload: unknown): boolean | null {
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  const root = obj(payload)
  const pr = obj(root?.pull_request)
  if (!pr) return null
  const name = (v: unknown): string | undefined =>
    typeof v === 'string' && v.includes('/') ? v.toLowerCase() : undefined
  const head = name(obj(obj(pr.head)?.repo)?.full_name)
  const base =
    name(obj(obj(pr.base)?.repo)?.full_name) ??
    name(obj(root?.repository)?.full_name) ??
    name(process.env.GITHUB_REPOSITORY)
  if (!head || !base) return true
  return head !== base
}

/**
 * Why `action` must not run for this event, or null. A pull request from a fork gets no secrets
 * (no SSH key); under `pull_request_target` it would get them, and the action would run the pull
 * request's system as root on the hosts, so that is refused too.
 */
export function forkRefusal(action: string, eventName: string, payload: unknown): string | null {
  if (!eventName.startsWith('pull_request')) return null
  if (isForkPullRequest(payload) !== true) return null
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
