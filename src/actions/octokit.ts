/**
 * The GitHub API client, loaded on first use. @actions/github parses the event payload
 * (GITHUB_EVENT_PATH) when it is first imported; loading it lazily keeps a broken payload from
 * crashing an action that never talks to GitHub, and turns it into one sentence for those that do.
 *
 * Rate limits and transient errors are handled by the libraries made for them, not by hand:
 * - @octokit/plugin-throttling queues requests (content-creating ones one at a time, at least a
 *   second apart) and, on GitHub's rate-limit answers, waits as told and retries: a secondary
 *   limit (403 or 429 "secondary rate limit", with `retry-after` seconds) and the primary limit
 *   (403 or 429 with `x-ratelimit-remaining: 0`, until `x-ratelimit-reset`). See "Rate limits for
 *   the REST API", https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api.
 * - @octokit/plugin-retry retries server errors (5xx) and other transient answers, with growing
 *   delays (1, 4, 9 s by default).
 */
import { ActionError } from '../core/errors.js'

type GitHubModule = typeof import('@actions/github')
export type Octokit = ReturnType<GitHubModule['getOctokit']>

/** How long one rate-limited request may wait in total before it is given up, seconds. */
export const RATE_LIMIT_MAX_WAIT_S = 15 * 60
/** Longest extra wait added after a repeated secondary-limit answer, seconds (default). */
export const SECONDARY_BACKOFF_CAP_S = 60

/**
 * The wait before retrying a request GitHub refused for a rate limit, in seconds, given what
 * GitHub said (`retryAfter`) and how often this request was refused before (`retryCount`).
 *
 * Never less than `retryAfter`. For a secondary limit GitHub says "if your request continues to
 * fail due to a secondary rate limit, wait for an exponentially increasing amount of time
 * between retries" (Rate limits for the REST API): the n-th repeat adds a random extra wait of up
 * to retryAfter × (2^n − 1), at most `capS`. The randomness matters as much as the growth: many
 * writers told the same `retry-after` come back at the same moment, and the one that keeps
 * losing the race for the next free slot would otherwise lose it every time (seen: one update
 * refused 21 times in a row, each time after waiting exactly `retry-after`).
 */
export function rateLimitWaitS(
  kind: 'primary' | 'secondary',
  retryAfter: number,
  retryCount: number,
  capS = SECONDARY_BACKOFF_CAP_S,
  random: () => number = Math.random
): number {
  if (kind === 'primary' || retryCount === 0) return retryAfter
  const ceiling = Math.min(capS, Math.max(1, retryAfter) * (2 ** Math.min(retryCount, 20) - 1))
  return retryAfter + random() * ceiling
}

export interface ClientOptions {
  /** Unit of plugin-retry's delays (1, 4, 9 × this), ms; default 1000. */
  retryBaseMs?: number
  /** Retries of a failed request (5xx and other transient answers); default 3. */
  retries?: number
  /**
   * Timeout of each HTTP exchange, ms (default 30 s). It starts when the request is really sent,
   * not while the throttling queue holds it back.
   */
  requestTimeoutMs?: number
  /** Longest extra wait after a repeated secondary-limit answer, seconds (default 60). */
  secondaryBackoffCapS?: number
  /**
   * plugin-throttling's queue this client's requests join (its `id`): clients of one queue share
   * its pacing (content-creating requests one at a time, 1 s apart). Default: one queue per
   * process, which is one job. Tests that play several jobs in one process give each its own.
   */
  queue?: string
  /** Told when a request waits for a rate limit (seconds, what kind). */
  onWait?: (seconds: number, kind: 'primary' | 'secondary', retry: number) => void
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

/**
 * Thrown, instead of sending it, for a request whose moment has passed (see `sendBy`). Named
 * AbortError because @octokit/request passes such an error through as it is (any other error
 * from fetch becomes a 500 that plugin-retry would send again); neither plugin retries it.
 */
export class LateRequest extends Error {
  override name = 'AbortError'
  readonly late = true
  constructor(readonly lateByMs: number) {
    super(`not sent: ${lateByMs} ms past its deadline`)
  }
}

export function isLateRequest(err: unknown): err is LateRequest {
  return err instanceof LateRequest || (err as { late?: unknown } | null)?.late === true
}

/** fetch with a timeout for each HTTP exchange (from when it is really sent). */
function timedFetch(timeoutMs: number) {
  return (url: string | URL, init: RequestInit = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs)
    return fetch(url, {
      ...init,
      signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    })
  }
}

/**
 * Per-request options (`request: sendBy(…)`) for a write whose body was computed from an earlier
 * read: the request is sent only until `deadline` (epoch ms), and fails with `LateRequest`
 * otherwise. The check is in fetch, the last step: after the throttling queue and after every
 * wait for a rate limit, so a write that waited cannot overwrite what others wrote meanwhile.
 */
export function sendBy(deadline: number, timeoutMs = 30_000): { fetch: typeof fetch } {
  const send = timedFetch(timeoutMs)
  return {
    fetch: ((url: string | URL, init?: RequestInit) => {
      const late = Date.now() - deadline
      return late > 0 ? Promise.reject(new LateRequest(late)) : send(url, init)
    }) as typeof fetch
  }
}

let loaded: GitHubModule | null = null
type Plugin = Parameters<GitHubModule['getOctokit']>[2]
let plugins: Plugin[] | null = null

export async function octokit(
  token: string,
  baseUrl?: string,
  options: ClientOptions = {}
): Promise<Octokit> {
  if (!loaded) {
    try {
      loaded = await import('@actions/github')
    } catch (err) {
      throw new ActionError(
        `The event payload at GITHUB_EVENT_PATH could not be read (${err instanceof Error ? err.message.split('\n')[0] : String(err)}), so the GitHub API cannot be used.`
      )
    }
  }
  if (!plugins) {
    const [{ throttling }, { retry }] = await Promise.all([
      import('@octokit/plugin-throttling'),
      import('@octokit/plugin-retry')
    ])
    plugins = [throttling, retry] as unknown as Plugin[]
  }
  // Per request (its options object, the same on every retry): seconds waited so far.
  const waited = new WeakMap<object, number>()
  const wait =
    (kind: 'primary' | 'secondary') =>
    async (retryAfter: number, req: object, _client: unknown, retryCount: number) => {
      const seconds = rateLimitWaitS(kind, retryAfter, retryCount, options.secondaryBackoffCapS)
      const total = (waited.get(req) ?? 0) + seconds
      if (total > RATE_LIMIT_MAX_WAIT_S) return false
      waited.set(req, total)
      options.onWait?.(Math.round(seconds * 10) / 10, kind, retryCount + 1)
      // plugin-throttling waits `retryAfter` itself once this says yes; the extra is waited here.
      if (seconds > retryAfter) await sleep((seconds - retryAfter) * 1000)
      return true
    }
  return loaded.getOctokit(
    token,
    {
      baseUrl: (baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(
        /\/+$/,
        ''
      ),
      throttle: {
        id: options.queue ?? 'nix-deploy-action',
        onRateLimit: wait('primary'),
        onSecondaryRateLimit: wait('secondary')
      },
      request: { fetch: timedFetch(options.requestTimeoutMs ?? 30_000) },
      retry: {
        // Rate-limit answers are plugin-throttling's alone. By default plugin-retry retries a
        // 429 (not a 403) once throttling has given it up, on its own schedule, ignoring
        // `retry-after`; its delay, (n+1)² s, reads `options.request.retryCount`, which
        // plugin-throttling overwrites with its own count, while throttling keeps counting on
        // the request function (`request.retryCount`), so every later rate-limit answer came
        // with throttling's count already spent. 403 is in plugin-retry's default list.
        doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
        ...(options.retries !== undefined ? { retries: options.retries } : {}),
        ...(options.retryBaseMs !== undefined ? { retryAfterBaseValue: options.retryBaseMs } : {})
      }
    } as Parameters<GitHubModule['getOctokit']>[1],
    ...plugins
  )
}
