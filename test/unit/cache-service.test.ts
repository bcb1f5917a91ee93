/**
 * The Actions cache service stand-in, exercised through the real @actions/cache (service v2,
 * with the archive uploaded by the Azure Storage SDK).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as cache from '@actions/cache'
import { BlockBlobClient } from '@azure/storage-blob'
import { startCacheService, type CacheService } from '../harness/cache-service.js'

let svc: CacheService
let root: string

beforeAll(async () => {
  svc = await startCacheService()
  root = mkdtempSync(path.join(tmpdir(), 'cache-test-'))
})

afterAll(async () => {
  await svc.close()
  rmSync(root, { recursive: true, force: true })
})

/**
 * Run `fn` with the stand-in's environment (plus `extra`) in process.env, in GITHUB_WORKSPACE as
 * the working directory (@actions/cache resolves relative paths against the working directory
 * and archives them relative to GITHUB_WORKSPACE), then put everything back.
 */
async function withEnv<T>(
  extra: Record<string, string | undefined>,
  fn: () => Promise<T>
): Promise<T> {
  const vars = { ...svc.env(), ...extra }
  const cwd = process.cwd()
  const saved: Record<string, string | undefined> = {}
  for (const k of Object.keys(vars)) saved[k] = process.env[k]
  // @actions/core prints workflow commands to stdout; keep test output readable.
  const write = process.stdout.write
  process.stdout.write = (() => true) as typeof process.stdout.write
  try {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    if (vars.GITHUB_WORKSPACE) process.chdir(vars.GITHUB_WORKSPACE)
    return await fn()
  } finally {
    process.chdir(cwd)
    process.stdout.write = write
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

function workspace(name: string): string {
  const dir = path.join(root, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

describe('Actions cache service stand-in', () => {
  const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251))

  it('saves a directory and restores it elsewhere with the same key', async () => {
    const a = workspace('a')
    mkdirSync(path.join(a, 'closure', 'nix'), { recursive: true })
    writeFileSync(path.join(a, 'closure', 'store-path'), '/nix/store/abc-nixos-system\n')
    writeFileSync(path.join(a, 'closure', 'nix', 'blob.bin'), big)
    const id = await withEnv({ GITHUB_WORKSPACE: a }, () =>
      cache.saveCache(['closure'], 'nix-closure-web1-abc')
    )
    expect(id).toBeGreaterThan(0)
    const entries = svc.entries()
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      key: 'nix-closure-web1-abc',
      state: 'finalized',
      scope: 'refs/heads/main'
    })
    expect(svc.requests.map(r => r.operation)).toEqual([
      'CreateCacheEntry',
      'PutBlob',
      'FinalizeCacheEntryUpload'
    ])

    const b = workspace('b')
    const hit = await withEnv({ GITHUB_WORKSPACE: b }, () =>
      cache.restoreCache(['closure'], 'nix-closure-web1-abc')
    )
    expect(hit).toBe('nix-closure-web1-abc')
    expect(readFileSync(path.join(b, 'closure', 'store-path'), 'utf8')).toBe(
      '/nix/store/abc-nixos-system\n'
    )
    expect(readFileSync(path.join(b, 'closure', 'nix', 'blob.bin')).equals(big)).toBe(true)
    expect(svc.violations).toEqual([])
  }, 60_000)

  it('restores by prefix through restore keys, newest first, and misses an unknown key', async () => {
    const a = workspace('c')
    mkdirSync(path.join(a, 'closure'), { recursive: true })
    writeFileSync(path.join(a, 'closure', 'gen'), 'second')
    await withEnv({ GITHUB_WORKSPACE: a }, () =>
      cache.saveCache(['closure'], 'nix-closure-web1-def')
    )

    const d = workspace('d')
    const hit = await withEnv({ GITHUB_WORKSPACE: d }, () =>
      cache.restoreCache(['closure'], 'nix-closure-web1-zzz', ['nix-closure-web1-'])
    )
    expect(hit).toBe('nix-closure-web1-def')
    expect(readFileSync(path.join(d, 'closure', 'gen'), 'utf8')).toBe('second')

    const e = workspace('e')
    const miss = await withEnv({ GITHUB_WORKSPACE: e }, () =>
      cache.restoreCache(['closure'], 'nix-closure-db1-abc', ['nix-closure-db1-'])
    )
    expect(miss).toBeUndefined()
    expect(existsSync(path.join(e, 'closure'))).toBe(false)
    expect(svc.violations).toEqual([])
  }, 60_000)

  it('does not restore an entry saved with another version (other paths)', async () => {
    const f = workspace('f')
    const miss = await withEnv({ GITHUB_WORKSPACE: f }, () =>
      cache.restoreCache(['other-path'], 'nix-closure-web1-abc')
    )
    expect(miss).toBeUndefined()
    expect(svc.violations).toEqual([])
  }, 30_000)

  it('refuses a second reservation of the same key and version', async () => {
    const a = workspace('a')
    const before = svc.entries().length
    const id = await withEnv({ GITHUB_WORKSPACE: a }, () =>
      cache.saveCache(['closure'], 'nix-closure-web1-abc')
    )
    expect(id).toBe(-1)
    expect(svc.entries()).toHaveLength(before)
    const last = svc.requests[svc.requests.length - 1]
    expect(last).toMatchObject({ operation: 'CreateCacheEntry', status: 409 })
  }, 30_000)

  it('refuses a missing or unknown runtime token', async () => {
    const a = workspace('a')
    const n = svc.violations.length
    const hit = await withEnv({ GITHUB_WORKSPACE: a, ACTIONS_RUNTIME_TOKEN: 'forged' }, () =>
      cache.restoreCache(['closure'], 'nix-closure-web1-abc')
    )
    expect(hit).toBeUndefined()
    expect(svc.violations.slice(n).map(v => v.status)).toEqual([401])
    const res = await fetch(
      `${svc.url}twirp/github.actions.results.api.v1.CacheService/GetCacheEntryDownloadURL`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'k', version: 'v' })
      }
    )
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'unauthenticated' })
  }, 30_000)

  it('refuses bad keys, a finalize with the wrong size, and a download with an upload URL', async () => {
    const rpc = async (
      method: string,
      body: unknown
    ): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(
        `${svc.url}twirp/github.actions.results.api.v1.CacheService/${method}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${svc.token}` },
          body: JSON.stringify(body)
        }
      )
      return { status: res.status, json: (await res.json()) as Record<string, unknown> }
    }
    expect((await rpc('CreateCacheEntry', { key: 'k'.repeat(513), version: 'v1' })).status).toBe(
      400
    )
    expect((await rpc('CreateCacheEntry', { key: 'a,b', version: 'v1' })).status).toBe(400)
    expect(
      (await rpc('GetCacheEntryDownloadURL', { key: 'a', restore_keys: ['b,c'], version: 'v1' }))
        .status
    ).toBe(400)
    expect((await rpc('DeleteCacheEntry', { key: 'a' })).status).toBe(404)

    const created = await rpc('CreateCacheEntry', { key: 'raw-key', version: 'v1' })
    expect(created.json.ok).toBe(true)
    const upload = String(created.json.signed_upload_url)
    const put = await fetch(upload, {
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
      body: 'twelve bytes'
    })
    expect(put.status).toBe(201)
    expect(
      (await rpc('FinalizeCacheEntryUpload', { key: 'raw-key', version: 'v1', size_bytes: '13' }))
        .status
    ).toBe(400)
    expect((await fetch(upload)).status).toBe(403) // an upload URL does not read
    const tampered = upload.replace(/sp=cw/, 'sp=rcw')
    expect((await fetch(tampered)).status).toBe(403) // nor does a URL whose permission was edited
    const ok = await rpc('FinalizeCacheEntryUpload', {
      key: 'raw-key',
      version: 'v1',
      size_bytes: '12'
    })
    expect(ok.json).toEqual({ ok: true, entry_id: expect.any(String) })
    const got = await rpc('GetCacheEntryDownloadURL', { key: 'raw-key', version: 'v1' })
    expect(await (await fetch(String(got.json.signed_download_url))).text()).toBe('twelve bytes')
    expect(
      (await rpc('GetCacheEntryDownloadURL', { key: 'raw-key', version: 'v2' })).json
    ).toMatchObject({ ok: false })
    expect(svc.violations.map(v => v.status)).toEqual(expect.arrayContaining([400, 404, 403]))
  })

  it('takes an archive in staged blocks, as the Azure SDK uploads big ones', async () => {
    const rpc = async (method: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(
        `${svc.url}twirp/github.actions.results.api.v1.CacheService/${method}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${svc.token}` },
          body: JSON.stringify(body)
        }
      )
      return (await res.json()) as Record<string, unknown>
    }
    const created = await rpc('CreateCacheEntry', { key: 'blocks', version: 'v1' })
    const upload = String(created.signed_upload_url)
    // No x-ms-blob-type: refused, as Azure refuses it.
    expect((await fetch(upload, { method: 'PUT', body: 'x' })).status).toBe(400)
    const client = new BlockBlobClient(upload)
    await client.uploadData(big, {
      maxSingleShotSize: 64 * 1024,
      blockSize: 64 * 1024,
      concurrency: 3
    })
    expect(
      (
        await rpc('FinalizeCacheEntryUpload', {
          key: 'blocks',
          version: 'v1',
          size_bytes: String(big.length)
        })
      ).ok
    ).toBe(true)
    expect(svc.archive('blocks', 'v1')?.equals(big)).toBe(true)
    expect(svc.requests.filter(r => r.operation === 'PutBlock').length).toBe(
      Math.ceil(big.length / (64 * 1024))
    )
  })

  it('lets a pull request read the default branch but write only its own scope, and refuses writes to a read-only token', async () => {
    svc.addToken('pr-token', {
      scope: 'refs/pull/7/merge',
      readScopes: ['refs/pull/7/merge', 'refs/heads/main']
    })
    svc.addToken('ro-token', {
      scope: 'refs/pull/8/merge',
      readScopes: ['refs/pull/8/merge', 'refs/heads/main'],
      write: false
    })
    const g = workspace('g')
    const hit = await withEnv({ GITHUB_WORKSPACE: g, ACTIONS_RUNTIME_TOKEN: 'pr-token' }, () =>
      cache.restoreCache(['closure'], 'nix-closure-web1-abc')
    )
    expect(hit).toBe('nix-closure-web1-abc')
    const id = await withEnv({ GITHUB_WORKSPACE: g, ACTIONS_RUNTIME_TOKEN: 'pr-token' }, () =>
      cache.saveCache(['closure'], 'nix-closure-web1-abc')
    )
    expect(id).toBeGreaterThan(0) // same key, another scope: allowed
    const id2 = await withEnv({ GITHUB_WORKSPACE: g, ACTIONS_RUNTIME_TOKEN: 'ro-token' }, () =>
      cache.saveCache(['closure'], 'nix-closure-web1-ro')
    )
    expect(id2).toBe(-1)
    expect(svc.entries().filter(e => e.key === 'nix-closure-web1-ro')).toEqual([])
  }, 60_000)
})
