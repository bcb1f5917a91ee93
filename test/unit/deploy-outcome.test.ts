/**
 * The deploy's typed pieces: the one sentence about a host and a phase, typed errors, phase
 * outcomes (decided by kind, never by words) and the heartbeat's pace.
 */
import { describe, expect, it } from '@jest/globals'
import { ActionError, hostError, hostSentence } from '../../src/core/errors.js'
import { beatInterval } from '../../src/core/deploy/heartbeat.js'
import { describeFailure, failureOf } from '../../src/core/deploy/phases/outcome.js'
import { remoteFailure } from '../../src/core/ssh.js'
import type { RunResult } from '../../src/core/process.js'

const remote = {
  host: 'web',
  target: { user: 'root', host: '10.0.0.1', port: 22 },
  hostOptions: []
}

function result(exitCode: number | null, stderr = '', timedOut = false): RunResult {
  return { argv: ['ssh'], exitCode, signal: null, stdout: '', stderr, durationMs: 1, timedOut }
}

describe('hostSentence', () => {
  it('writes both forms, with one full stop', () => {
    expect(hostSentence({ host: 'web', phase: 'probe' }, 'could not connect.')).toBe(
      'Host web, phase probe: could not connect.'
    )
    expect(
      hostSentence({ host: 'web', phase: 'verify', failed: true }, 'health check failed: x')
    ).toBe('Host web failed in phase verify: health check failed: x.')
    expect(hostSentence({ host: 'web', phase: 'lock', at: 'root@10.0.0.1:22' }, 'busy...')).toBe(
      'Host web (root@10.0.0.1:22), phase lock: busy.'
    )
    expect(
      hostSentence(
        { host: 'web', phase: 'activate', failed: true, of: 'of the rollback to /nix/store/x' },
        'it failed'
      )
    ).toBe('Host web failed in phase activate of the rollback to /nix/store/x: it failed.')
    expect(hostSentence({ host: 'web', phase: 'diff' }, 'is it a NixOS system?')).toBe(
      'Host web, phase diff: is it a NixOS system?'
    )
  })
})

describe('typed errors', () => {
  it('carry kind, host, phase, detail and the clause as data', () => {
    const e = hostError(
      { host: 'web', phase: 'copy', kind: 'command', detail: 'last lines' },
      'nix copy failed.'
    )
    expect(e).toBeInstanceOf(ActionError)
    expect(e).toMatchObject({
      kind: 'command',
      host: 'web',
      phase: 'copy',
      detail: 'last lines',
      reason: 'nix copy failed',
      message: 'Host web, phase copy: nix copy failed.'
    })
    expect(new ActionError("Input 'x' is bad.", { input: 'x' }).kind).toBe('input')
  })

  it('an ssh failure is a connection failure, a command failure is not', () => {
    const opts = { phase: 'probe', what: 'reading the current system', timeoutMs: 60_000 }
    const lost = remoteFailure(
      remote,
      result(255, 'ssh: connect to host 10.0.0.1 port 22: Connection refused'),
      opts
    )
    expect(lost.kind).toBe('connection')
    expect(lost.message).toBe(
      'Host web (root@10.0.0.1:22), phase probe: reading the current system could not connect: connection refused.'
    )
    expect(lost.result?.exitCode).toBe(255)
    expect(failureOf(lost)).toEqual({
      kind: 'connection-lost',
      detail: 'reading the current system could not connect: connection refused'
    })
    const failed = remoteFailure(remote, result(3, 'boom'), opts)
    expect(failed.kind).toBe('command')
    expect(failureOf(failed)).toEqual({
      kind: 'error',
      detail: 'reading the current system failed with exit code 3: boom'
    })
    expect(
      failureOf(hostError({ host: 'web', phase: 'lock', kind: 'busy' }, 'held by run 7'))
    ).toEqual({
      kind: 'busy',
      detail: 'held by run 7'
    })
    expect(failureOf(new Error('a bug'))).toEqual({ kind: 'error', detail: 'a bug' })
  })
})

describe('phase outcomes', () => {
  it('describe each failure in one clause', () => {
    expect(
      describeFailure({
        kind: 'activation-failed',
        action: 'switch',
        exitCode: 4,
        units: ['a.service', 'b.service']
      })
    ).toBe(
      'activation failed: switch-to-configuration switch exited with code 4 (units failed: a.service, b.service)'
    )
    expect(
      describeFailure({ kind: 'activation-failed', action: 'boot', exitCode: 1, units: [] })
    ).toBe('activation failed: switch-to-configuration boot exited with code 1')
    expect(
      describeFailure({ kind: 'health-failed', check: 'http http://x/health: answered 500' })
    ).toBe('health check failed: http http://x/health: answered 500')
    expect(describeFailure({ kind: 'not-back', seconds: 60 })).toBe(
      'the host did not come back within 60 s of the reboot'
    )
    expect(describeFailure({ kind: 'watchdog-fired', detail: 'the watchdog fired' })).toBe(
      'the watchdog fired'
    )
  })
})

describe('beatInterval', () => {
  it('beats a quarter of confirm-timeout, between 1 and 5 s', () => {
    expect([5, 6, 12, 20, 60, 3600].map(beatInterval)).toEqual([1, 1, 3, 5, 5, 5])
  })
})
