/**
 * Phase 7, verify: proves the new system. First a login of its own (not the host's shared
 * connection: the new system must accept new SSH logins), then the health checks, for as long as
 * health-timeout allows, while the heartbeat keeps the host's watchdog waiting.
 */
import { runHealthChecks, type HealthResult } from '../../health.js'
import type { HealthCheck } from '../../health-config.js'
import type { Logger } from '../../log.js'
import {
  describeSshError,
  remoteRun,
  SSH_CONNECTION_FAILED,
  type Remote,
  type SshSession
} from '../../ssh.js'
import { targetAddress } from '../../target.js'
import type { Heartbeat } from '../heartbeat.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export interface HealthOptions {
  healthChecks: HealthCheck[]
  healthTimeoutSeconds: number
}

export function verify(
  ctx: HostContext,
  opts: HealthOptions & { freshLogin: boolean; heartbeat?: Heartbeat | null }
): Promise<Outcome<HealthResult>> {
  return phase(
    ctx,
    'verify',
    async () => {
      if (opts.freshLogin) {
        const r = await ctx.system.freshLogin('verify')
        if (r.exitCode !== 0 || r.timedOut)
          return {
            kind: 'connection-lost',
            detail: `a new SSH connection to the new generation failed: ${
              r.exitCode === SSH_CONNECTION_FAILED
                ? describeSshError(r.stderr)
                : r.timedOut
                  ? 'timed out'
                  : `exit code ${r.exitCode}`
            }`
          }
      }
      const health = await checkHostHealth({ ...ctx, ...opts })
      ctx.result.health = health.outcomes
      if (opts.heartbeat?.fired)
        return {
          kind: 'watchdog-fired',
          detail: 'the rollback watchdog fired before the host could be verified'
        }
      if (!health.ok) {
        ctx.result.failingCheck = health.failure
        return { kind: 'health-failed', check: health.failure ?? 'unknown' }
      }
      return ok(health)
    },
    h => `${h.outcomes.length} health check(s) passed`
  )
}

/** The health checks of one host: http from the runner, the rest over the host's connection. */
export async function checkHostHealth(opts: {
  session: SshSession
  remote: Remote
  healthChecks: HealthCheck[]
  healthTimeoutSeconds: number
  logger: Logger
}): Promise<HealthResult> {
  return runHealthChecks(
    opts.healthChecks,
    {
      host: opts.remote.host,
      address: targetAddress(opts.remote.target),
      logger: opts.logger,
      runOnHost: async (argv, timeoutMs) => {
        const r = await remoteRun(opts.session, opts.remote, argv, {
          timeoutMs,
          privileged: false,
          check: false,
          phase: 'verify',
          what: 'a health check'
        })
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }
      }
    },
    { timeoutMs: opts.healthTimeoutSeconds * 1000 }
  )
}
