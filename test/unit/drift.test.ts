/**
 * Drift's rules (classify), the deploy record it reads (recordedStorePath), its issue body, and
 * the issue's life through the GitHub stand-in: opened, edited in place, closed with a comment,
 * left alone, reopened when drift returns; an issue someone else opened with the marker is never
 * touched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { lastSuccessfulDeploys, recordedStorePath } from '../../src/actions/deployments.js'
import { getOctokit } from '@actions/github'
import { syncDriftIssue } from '../../src/actions/drift-issue.js'
import {
  classify,
  driftIssueMarker,
  renderDriftIssue,
  type DriftReport,
  type DriftResult
} from '../../src/core/drift.js'
import type { BootParts, HostSystems } from '../../src/core/deploy/remote-system.js'
import { MemoryLogger } from '../../src/core/log.js'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web1-24.05'
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-web1-24.05'
const K1: BootParts = {
  kernel: '/nix/store/k1-linux-6.6.40/bzImage',
  initrd: '/nix/store/i1-initrd/initrd',
  modules: '/nix/store/m1-modules'
}
const K2: BootParts = { ...K1, kernel: '/nix/store/k2-linux-6.6.99/bzImage' }
const NONE: BootParts = { kernel: null, initrd: null, modules: null }

function systems(current: string | null, booted: string | null, c = K1, b = K1): HostSystems {
  return { current, booted, currentBoot: c, bootedBoot: b }
}

describe('classify', () => {
  it('in sync: runs the expected system, booted it or nothing known', () => {
    expect(classify(A, systems(A, A)).state).toBe('in-sync')
    expect(classify(A, systems(A, null)).state).toBe('in-sync')
  })
  it('drifted: runs another system, or none', () => {
    expect(classify(A, systems(B, B)).state).toBe('drifted')
    expect(classify(A, systems(B, A)).state).toBe('drifted')
    expect(classify(A, systems(null, null))).toEqual({
      state: 'drifted',
      reason: expect.stringMatching(/current-system is missing/)
    })
  })
  it('a booted system with the same kernel, initrd and modules is no pending reboot', () => {
    expect(classify(A, systems(A, B, K1, K1)).state).toBe('in-sync')
  })
  it('reboot-pending: booted another kernel, or nothing tells', () => {
    const r = classify(A, systems(A, B, K1, K2))
    expect(r.state).toBe('reboot-pending')
    expect(r.reason).toMatch(/kernel differ/)
    expect(classify(A, systems(A, B, NONE, NONE)).state).toBe('reboot-pending')
  })
})

describe('recordedStorePath', () => {
  it("reads the deploy action's payload, as an object or a JSON string", () => {
    expect(recordedStorePath({ host: 'web1', storePath: A }, 'web1')).toBe(A)
    expect(recordedStorePath(JSON.stringify({ host: 'web1', storePath: A }), 'web1')).toBe(A)
  })
  it("another host's record, a missing or malformed path: none", () => {
    expect(recordedStorePath({ host: 'web2', storePath: A }, 'web1')).toBeNull()
    expect(recordedStorePath({ host: 'web1' }, 'web1')).toBeNull()
    expect(recordedStorePath({ host: 'web1', storePath: '/tmp/x' }, 'web1')).toBeNull()
    expect(recordedStorePath('not json', 'web1')).toBeNull()
    expect(recordedStorePath(null, 'web1')).toBeNull()
  })
})

function result(host: string, state: DriftResult['state'], running = B): DriftResult {
  return {
    host,
    state,
    expected: A,
    running: state === 'in-sync' ? A : running,
    booted: null,
    expectedFrom: 'deployment'
  }
}

function report(...results: DriftResult[]): DriftReport {
  return { results, expected: 'deployed', environment: 'production' }
}

describe('the issue body', () => {
  it('carries the marker, lists the drifted hosts only, and defuses mentions in host names', () => {
    const body = renderDriftIssue(
      report(result('@admins', 'drifted'), result('web2', 'in-sync'), result('web3', 'unreachable'))
    )
    expect(
      body.startsWith(driftIssueMarker({ expected: 'deployed', environment: 'production' }))
    ).toBe(true)
    expect(body).not.toMatch(/@admins/)
    expect(body).toContain('admins')
    expect(body).not.toContain('web2')
    expect(body).toMatch(/web3: unreachable/)
  })
})

describe('the drift issue through the stand-in', () => {
  let api: GitHubApi
  const log = new MemoryLogger()
  beforeAll(async () => {
    api = await startGitHubApi()
    api.addToken('bot', { issues: 'write', contents: 'read' })
    api.addToken('mallory', { issues: 'write' }, { login: 'mallory', type: 'User' })
  })
  afterAll(async () => api?.close())

  const sync = (r: DriftReport, token = 'bot') =>
    syncDriftIssue(token, 'github-actions[bot]', r, log, api.env(token))

  it('a forged marker is ignored; opens, edits, closes, leaves alone, reopens', async () => {
    // Someone else's issue carrying the marker: never edited, never closed.
    const forged = renderDriftIssue(report(result('web1', 'drifted')))
    await sync(report(result('web1', 'drifted')), 'mallory')
    const mallorys = api.issueList('octo/fleet')[0]
    expect(mallorys.user.login).toBe('mallory')
    expect(mallorys.body).toContain(forged.split('\n')[0])

    expect(await sync(report(result('web1', 'drifted')))).toMatchObject({ action: 'opened' })
    const number = api.issueList('octo/fleet')[1].number
    expect(number).not.toBe(mallorys.number)

    const two = report(result('web1', 'drifted'), result('web2', 'drifted'))
    expect(await sync(two)).toMatchObject({ action: 'updated', number })
    expect(api.issueList('octo/fleet')[1].title).toBe('Drift: 2 hosts do not run what they should')
    expect(api.issueList('octo/fleet')).toHaveLength(2)

    expect(await sync(report(result('web1', 'in-sync')))).toMatchObject({
      action: 'closed',
      number
    })
    expect(api.issueList('octo/fleet')[1]).toMatchObject({
      state: 'closed',
      state_reason: 'completed'
    })
    expect(api.comments('octo/fleet', number)).toHaveLength(1)

    expect(await sync(report(result('web1', 'in-sync')))).toMatchObject({ action: 'none' })
    expect(api.comments('octo/fleet', number)).toHaveLength(1)

    expect(await sync(report(result('web1', 'drifted')))).toMatchObject({
      action: 'reopened',
      number
    })
    expect(api.issueList('octo/fleet')[1].state).toBe('open')
    expect(api.comments('octo/fleet', number).pop()?.body).toMatch(/Drift is back: web1/)
    // No drift, but a host did not answer: not known to be fixed, so the issue stays open.
    expect(
      await sync(report(result('web1', 'in-sync'), result('web2', 'unreachable')))
    ).toMatchObject({ action: 'updated', number })
    expect(api.issueList('octo/fleet')[1]).toMatchObject({
      state: 'open',
      title: 'Drift: 1 host could not be checked'
    })
    // Mallory's issue was never touched.
    expect(api.issueList('octo/fleet')[0]).toMatchObject({ state: 'open', body: mallorys.body })
    expect(api.violations).toEqual([])
  })
})

describe('lastSuccessfulDeploys through the stand-in', () => {
  let api: GitHubApi
  beforeAll(async () => {
    api = await startGitHubApi()
    api.addToken('deployer', { deployments: 'write', contents: 'read' })
    api.addToken('reader', { deployments: 'read', contents: 'read' })
    api.addToken('none', { contents: 'read' })
  })
  afterAll(async () => api?.close())

  async function record(
    host: string,
    storePath: string,
    states: string[],
    environment = 'production'
  ) {
    const gh = getOctokit('deployer', { baseUrl: api.url })
    const d = await gh.rest.repos.createDeployment({
      owner: 'octo',
      repo: 'fleet',
      ref: 'main',
      environment,
      task: `deploy:${host}`,
      payload: { host, storePath },
      auto_merge: false,
      required_contexts: []
    })
    const id = (d.data as { id: number }).id
    for (const state of states)
      await gh.rest.repos.createDeploymentStatus({
        owner: 'octo',
        repo: 'fleet',
        deployment_id: id,
        state: state as 'success',
        auto_inactive: false
      })
  }

  it('the newest record whose last status is success; a failed or unfinished deploy is passed over', async () => {
    await record('web1', A, ['in_progress', 'success'])
    await record('web1', B, ['in_progress', 'failure'])
    await record('web2', B, ['in_progress'])
    await record('web3', A, ['in_progress', 'success'], 'staging')
    const got = await lastSuccessfulDeploys(
      'reader',
      'production',
      ['web1', 'web2', 'web3'],
      api.env('reader')
    )
    expect(got.get('web1')?.storePath).toBe(A)
    expect(got.get('web2')).toBeNull()
    expect(got.get('web3')).toBeNull()
    expect(api.violations).toEqual([])
  })

  it('records it may not read: one sentence naming the permission', async () => {
    await expect(
      lastSuccessfulDeploys('none', 'production', ['web1'], api.env('none'))
    ).rejects.toThrow(/deployment records of environment 'production'.*deployments: read/)
  })
})
