/**
 * Deployment records (src/actions/deployments.ts) under GitHub's rate-limit answers, through the
 * real client (plugin-throttling and plugin-retry) against the GitHub stand-in: 4 hosts of one
 * deploy record their deployments at once and none is lost, none warns.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { startGitHubApi, type GitHubApi } from '../harness/github-api.js'
import { MemoryLogger } from '../../src/core/log.js'
import { newHostResult } from '../../src/core/model.js'
import { DeploymentRecorder } from '../../src/actions/deployments.js'

let api: GitHubApi
const TOKEN = 'deploy-token'

beforeAll(async () => {
  api = await startGitHubApi({ latencyMs: { min: 5, max: 60 } })
  api.addRepo('octo/fleet')
  api.addToken(TOKEN, { deployments: 'write', contents: 'read' })
}, 30_000)

afterAll(async () => {
  await api?.close()
})

describe('deployment records', () => {
  it('records 4 hosts at once under secondary (403 retry-after) and primary (x-ratelimit-reset) limits', async () => {
    const from = api.requests.length
    const env = { ...api.env(TOKEN), GITHUB_SHA: 'e'.repeat(40), GITHUB_RUN_ID: '7' }
    const hosts = Array.from({ length: 4 }, (_, i) => `node${i}`)
    const logger = new MemoryLogger()
    // The recorders of one process share its client queue (one request a second): 1 per 1.2 s
    // is exceeded.
    api.limitContent({ contentPerWindow: 1, windowMs: 1200, retryAfterS: 1 })
    api.exhaustPrimaryLimit(2, 1)
    try {
      // One recorder per host, as parallel deploy jobs have.
      await Promise.all(
        hosts.map(async host => {
          const rec = new DeploymentRecorder(TOKEN, 'production', logger, env)
          await rec.start(host, `/nix/store/${'a'.repeat(32)}-${host}`)
          await rec.finish(newHostResult(host, 'deployed', `/nix/store/${'a'.repeat(32)}-${host}`))
        })
      )
    } finally {
      api.limitContent(undefined)
    }
    expect(logger.lines.filter(l => l.level === 'warning').map(l => l.message)).toEqual([])
    const deps = api.deployments('octo/fleet').filter(d => hosts.includes(d.task.slice(7)))
    expect(deps.map(d => d.task).sort()).toEqual(hosts.map(h => `deploy:${h}`))
    for (const d of deps)
      expect(api.statuses('octo/fleet', d.id).map(s => s.state)).toEqual(['in_progress', 'success'])
    const answers = api.requests.slice(from)
    expect(answers.filter(r => r.status === 403 && r.method === 'POST').length).toBeGreaterThan(0)
    // 2 answers for the primary limit, the rest for the secondary one.
    expect(answers.filter(r => r.status === 403).length).toBeGreaterThan(2)
    expect(api.violations).toEqual([])
  }, 120_000)
})
