/**
 * A strict stand-in for the GitHub Actions cache service, for tests.
 *
 * It speaks what @actions/cache 6 speaks to github.com: cache service v2, Twirp JSON RPCs under
 * `ACTIONS_RESULTS_URL` (`/twirp/github.actions.results.api.v1.CacheService/<Method>`), with the
 * archive itself uploaded to and downloaded from signed blob URLs. The upload goes through the
 * Azure Storage SDK (`BlockBlobClient.uploadFile`), which accepts a path-style URL on an IP host
 * over plain http (the form Azurite uses: `http://127.0.0.1:PORT/<account>/<container>/<blob>`),
 * so the blob side here implements the Put Blob, Put Block and Put Block List operations the
 * SDK issues, and a plain GET for the download (@actions/cache only uses the SDK to download
 * from `*.blob.core.windows.net`).
 *
 * Strict like the real service: the runtime token (Bearer) must be one it issued; keys over 512
 * characters, with commas, or empty are refused; a restore only sees entries of the same
 * version in the scopes the token may read; a second reservation of a key+version is refused
 * (`already_exists`: the client's "another job may be creating this cache" path); blob URLs are
 * signed, expire, and carry their permission (read or write); a finalize whose `size_bytes`
 * differs from the uploaded bytes is refused.
 */
import http from 'node:http'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'

const SERVICE = 'github.actions.results.api.v1.CacheService'
const ACCOUNT = 'cachestandin'
const CONTAINER = 'actions-cache'
/** The key limit @actions/cache checks and the service enforces. */
export const MAX_KEY_LENGTH = 512
/** How many restore keys the service takes with the primary key (10 in all). */
export const MAX_KEYS = 10

export interface CacheToken {
  /** The scope (ref) entries saved with this token belong to, e.g. `refs/heads/main`. */
  scope: string
  /** Scopes this token may restore from, in order (default: its own scope). */
  readScopes?: string[]
  /** Whether the token may save (default true). A read-only token gets "cache write denied:". */
  write?: boolean
}

export interface CacheEntry {
  id: number
  key: string
  version: string
  scope: string
  /** `reserved` until the upload is finalized. */
  state: 'reserved' | 'finalized'
  /** Bytes uploaded (committed blob), if any. */
  sizeBytes?: number
  createdAt: Date
  finalizedAt?: Date
}

interface StoredEntry extends CacheEntry {
  blob?: Buffer
  staged: Map<string, Buffer>
}

export interface CacheRequest {
  method: string
  path: string
  status: number
  /** The Twirp method, or the blob operation (`PutBlob`, `PutBlock`, `PutBlockList`, `GetBlob`). */
  operation?: string
}

export interface CacheViolation {
  operation: string
  status: number
  message: string
}

export interface CacheServiceOptions {
  /** The default runtime token's scope (default `refs/heads/main`). */
  scope?: string
  /** How long signed blob URLs stay valid, ms (default 1 hour). */
  urlLifetimeMs?: number
  repository?: string
}

class TwirpError extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

const TWIRP_STATUS: Record<string, number> = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  failed_precondition: 412,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503
}

export class CacheService {
  readonly requests: CacheRequest[] = []
  /** Requests the real service would refuse as wrong (not races such as already_exists). */
  readonly violations: CacheViolation[] = []
  /** The runtime token `env()` hands out. */
  readonly token: string
  private server: http.Server
  private port = 0
  private tokens = new Map<string, CacheToken>()
  private store: StoredEntry[] = []
  private nextId = 1
  private secret = randomBytes(32)
  private urlLifetimeMs: number
  private repository: string
  private scope: string
  private failures: { remaining: number; status: number }[] = []
  /** A private RUNNER_TEMP for @actions/cache's archives. */
  readonly tempDir: string

  private constructor(options: CacheServiceOptions) {
    this.scope = options.scope ?? 'refs/heads/main'
    this.urlLifetimeMs = options.urlLifetimeMs ?? 3_600_000
    this.repository = options.repository ?? 'octo/fleet'
    this.token = `standin-runtime-${randomBytes(12).toString('hex')}`
    this.tokens.set(this.token, { scope: this.scope, readScopes: [this.scope], write: true })
    this.tempDir = mkdtempSync(path.join(tmpdir(), 'cache-standin-'))
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(err => {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({ code: 'internal', msg: `stand-in error: ${(err as Error).message}` })
        )
      })
    })
  }

  static async start(options: CacheServiceOptions = {}): Promise<CacheService> {
    const svc = new CacheService(options)
    await new Promise<void>(resolve => svc.server.listen(0, '127.0.0.1', resolve))
    svc.port = (svc.server.address() as AddressInfo).port
    return svc
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`
  }

  /**
   * The environment @actions/cache needs. GITHUB_SERVER_URL must be github.com (or *.ghe.com):
   * any other host makes @actions/cache assume GHES and fall back to the v1 protocol.
   */
  env(token = this.token): Record<string, string> {
    const t = this.tokens.get(token)
    return {
      ACTIONS_RESULTS_URL: this.url,
      ACTIONS_RUNTIME_TOKEN: token,
      ACTIONS_CACHE_SERVICE_V2: 'true',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: this.repository,
      GITHUB_REF: t?.scope ?? this.scope,
      RUNNER_TEMP: this.tempDir
    }
  }

  /** Issue another runtime token (e.g. a pull request's, reading its own scope then `main`). */
  addToken(token: string, spec: CacheToken): void {
    this.tokens.set(token, spec)
  }

  /** Fail the next `count` Twirp requests with `status` (default 503; the client retries). */
  failNext(count: number, status = 503): void {
    this.failures.push({ remaining: count, status })
  }

  /** The entries, reserved and finalized, without their bytes. */
  entries(): CacheEntry[] {
    return this.store.map(({ blob: _b, staged: _s, ...e }) => ({ ...e }))
  }

  /** The archive bytes of a finalized entry. */
  archive(key: string, version?: string): Buffer | undefined {
    return this.store.find(
      e => e.key === key && (!version || e.version === version) && e.state === 'finalized'
    )?.blob
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
    rmSync(this.tempDir, { recursive: true, force: true })
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    const method = (req.method ?? 'GET').toUpperCase()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const record: CacheRequest = { method, path: url.pathname, status: 0 }
    this.requests.push(record)

    if (url.pathname.startsWith('/twirp/')) {
      const rpc = url.pathname.slice('/twirp/'.length)
      record.operation = rpc.split('/').pop()
      const reply = (status: number, json: unknown): void => {
        record.status = status
        const text = JSON.stringify(json)
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(text))
        })
        res.end(text)
      }
      const failure = this.failures.find(f => f.remaining > 0)
      if (failure) {
        failure.remaining--
        reply(failure.status, { code: 'unavailable', msg: 'injected failure' })
        return
      }
      try {
        reply(200, this.twirp(method, rpc, req, body))
      } catch (err) {
        if (!(err instanceof TwirpError)) throw err
        const status = TWIRP_STATUS[err.code] ?? 500
        if (err.code !== 'already_exists')
          this.violations.push({ operation: record.operation ?? rpc, status, message: err.message })
        reply(status, { code: err.code, msg: err.message })
      }
      return
    }

    if (url.pathname.startsWith(`/${ACCOUNT}/${CONTAINER}/`)) {
      this.blob(method, url, req, body, res, record)
      return
    }

    record.status = 404
    this.violations.push({
      operation: `${method} ${url.pathname}`,
      status: 404,
      message: 'no such endpoint'
    })
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('Not Found')
  }

  // ----- Twirp ---------------------------------------------------------------------------------

  private twirp(method: string, rpc: string, req: http.IncomingMessage, body: Buffer): unknown {
    const [service, name] = rpc.split('/')
    if (method !== 'POST')
      throw new TwirpError('bad_route', `unsupported method ${method} (only POST is allowed)`)
    if (
      service !== SERVICE ||
      !['CreateCacheEntry', 'FinalizeCacheEntryUpload', 'GetCacheEntryDownloadURL'].includes(name)
    ) {
      throw new TwirpError('bad_route', `no handler for path "/twirp/${rpc}"`)
    }
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
    if (contentType !== 'application/json') {
      throw new TwirpError('bad_route', `unexpected Content-Type: "${contentType}"`)
    }
    const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))
    const token = auth ? this.tokens.get(auth[1]) : undefined
    if (!token)
      throw new TwirpError(
        'unauthenticated',
        auth ? 'invalid runtime token' : 'missing bearer token'
      )
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(body.toString('utf8')) as Record<string, unknown>
    } catch {
      throw new TwirpError('malformed', 'the json request could not be decoded')
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      throw new TwirpError('malformed', 'the json request could not be decoded')
    }
    switch (name) {
      case 'CreateCacheEntry':
        return this.createCacheEntry(msg, token)
      case 'FinalizeCacheEntryUpload':
        return this.finalize(msg, token)
      default:
        return this.getDownloadUrl(msg, token)
    }
  }

  private createCacheEntry(msg: Record<string, unknown>, token: CacheToken): unknown {
    const key = checkKey(msg.key, 'key')
    const version = checkVersion(msg.version)
    if (token.write === false) {
      // What the service answers a token scoped read-only (an untrusted event's run).
      return { ok: false, message: 'cache write denied: the runtime token is read-only' }
    }
    const existing = this.store.find(
      e => e.key === key && e.version === version && e.scope === token.scope
    )
    if (existing) {
      throw new TwirpError(
        'already_exists',
        `cache entry with the same key, version, and scope already exists`
      )
    }
    const entry: StoredEntry = {
      id: this.nextId++,
      key,
      version,
      scope: token.scope,
      state: 'reserved',
      createdAt: new Date(),
      staged: new Map()
    }
    this.store.push(entry)
    return { ok: true, signed_upload_url: this.signedUrl(entry, 'cw') }
  }

  private finalize(msg: Record<string, unknown>, token: CacheToken): unknown {
    const key = checkKey(msg.key, 'key')
    const version = checkVersion(msg.version)
    const size = msg.size_bytes
    if (
      !(typeof size === 'string' && /^\d+$/.test(size)) &&
      !(typeof size === 'number' && Number.isInteger(size) && size >= 0)
    ) {
      throw new TwirpError('invalid_argument', 'size_bytes must be a non-negative integer')
    }
    const entry = this.store.find(
      e =>
        e.key === key && e.version === version && e.scope === token.scope && e.state === 'reserved'
    )
    if (!entry)
      throw new TwirpError(
        'not_found',
        `no reserved cache entry for key ${key} and version ${version}`
      )
    if (!entry.blob)
      throw new TwirpError('failed_precondition', 'the cache archive was not uploaded')
    if (BigInt(size) !== BigInt(entry.blob.length)) {
      throw new TwirpError(
        'invalid_argument',
        `size_bytes ${size} does not match the uploaded archive's ${entry.blob.length} bytes`
      )
    }
    entry.state = 'finalized'
    entry.sizeBytes = entry.blob.length
    entry.finalizedAt = new Date()
    entry.staged.clear()
    return { ok: true, entry_id: String(entry.id) }
  }

  private getDownloadUrl(msg: Record<string, unknown>, token: CacheToken): unknown {
    const key = checkKey(msg.key, 'key')
    const version = checkVersion(msg.version)
    const restoreKeys = msg.restore_keys ?? []
    if (!Array.isArray(restoreKeys))
      throw new TwirpError('invalid_argument', 'restore_keys must be a list of strings')
    const keys = [key, ...restoreKeys.map(k => checkKey(k, 'restore_keys'))]
    if (keys.length > MAX_KEYS)
      throw new TwirpError(
        'invalid_argument',
        `at most ${MAX_KEYS} keys (key and restore_keys) are allowed`
      )
    // GitHub's order: in each readable scope, the key exactly, then the key as a prefix, then
    // each restore key as a prefix; among several prefix matches the newest wins. Only entries
    // of the same version are seen.
    for (const scope of token.readScopes ?? [token.scope]) {
      const candidates = this.store.filter(
        e => e.state === 'finalized' && e.scope === scope && e.version === version
      )
      const exact = candidates.find(e => e.key === key)
      if (exact) return this.hit(exact)
      for (const prefix of keys) {
        const matches = candidates.filter(e => e.key.startsWith(prefix))
        if (matches.length) {
          const newest = matches.reduce((a, b) =>
            (b.finalizedAt?.getTime() ?? 0) >= (a.finalizedAt?.getTime() ?? 0) ? b : a
          )
          return this.hit(newest)
        }
      }
    }
    return { ok: false, signed_download_url: '', matched_key: '' }
  }

  private hit(entry: StoredEntry): unknown {
    return { ok: true, signed_download_url: this.signedUrl(entry, 'r'), matched_key: entry.key }
  }

  // ----- Signed blob URLs ------------------------------------------------------------------------

  private blobPath(entry: StoredEntry): string {
    return `/${ACCOUNT}/${CONTAINER}/${entry.id}-cache`
  }

  private sign(blobPath: string, permission: string, expiry: string): string {
    return createHmac('sha256', this.secret)
      .update(`${permission}\n${expiry}\n${blobPath}`)
      .digest('base64')
  }

  private signedUrl(entry: StoredEntry, permission: 'r' | 'cw'): string {
    const se = new Date(Date.now() + this.urlLifetimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const p = this.blobPath(entry)
    const q = new URLSearchParams({
      sv: '2024-11-04',
      sr: 'b',
      sp: permission,
      se,
      sig: this.sign(p, permission, se)
    })
    return `http://127.0.0.1:${this.port}${p}?${q.toString()}`
  }

  private blob(
    method: string,
    url: URL,
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
    record: CacheRequest
  ): void {
    const reply = (
      status: number,
      headers: Record<string, string> = {},
      payload?: Buffer
    ): void => {
      record.status = status
      res.writeHead(status, {
        'x-ms-request-id': randomBytes(8).toString('hex'),
        'x-ms-version': '2024-11-04',
        date: new Date().toUTCString(),
        ...headers,
        ...(payload ? { 'content-length': String(payload.length) } : { 'content-length': '0' })
      })
      res.end(method === 'HEAD' ? undefined : payload)
    }
    const fail = (status: number, code: string, message: string): void => {
      this.violations.push({ operation: record.operation ?? `${method} blob`, status, message })
      const xml = Buffer.from(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`
      )
      reply(status, { 'content-type': 'application/xml', 'x-ms-error-code': code }, xml)
    }

    const comp = url.searchParams.get('comp')
    record.operation =
      method === 'PUT'
        ? comp === 'block'
          ? 'PutBlock'
          : comp === 'blocklist'
            ? 'PutBlockList'
            : 'PutBlob'
        : method === 'GET' || method === 'HEAD'
          ? 'GetBlob'
          : method
    const sp = url.searchParams.get('sp') ?? ''
    const se = url.searchParams.get('se') ?? ''
    const sig = url.searchParams.get('sig') ?? ''
    const expected = Buffer.from(this.sign(url.pathname, sp, se))
    if (
      !sig ||
      Buffer.from(sig).length !== expected.length ||
      !timingSafeEqual(Buffer.from(sig), expected)
    ) {
      fail(
        403,
        'AuthenticationFailed',
        'Server failed to authenticate the request. The signature does not match.'
      )
      return
    }
    if (!(Date.parse(se) > Date.now())) {
      fail(403, 'AuthenticationFailed', 'Signed expiry time has passed.')
      return
    }
    const entry = this.store.find(e => this.blobPath(e) === url.pathname)
    if (!entry) {
      fail(404, 'BlobNotFound', 'The specified blob does not exist.')
      return
    }

    if (method === 'GET' || method === 'HEAD') {
      if (!sp.includes('r')) {
        fail(
          403,
          'AuthorizationPermissionMismatch',
          'This request is not authorized to perform this operation using this permission.'
        )
        return
      }
      if (entry.state !== 'finalized' || !entry.blob) {
        fail(404, 'BlobNotFound', 'The specified blob does not exist.')
        return
      }
      reply(
        200,
        {
          'content-type': 'application/octet-stream',
          'x-ms-blob-type': 'BlockBlob',
          etag: etag(entry)
        },
        entry.blob
      )
      return
    }
    if (method !== 'PUT') {
      fail(
        405,
        'UnsupportedHttpVerb',
        `The resource doesn't support the specified HTTP verb ${method}.`
      )
      return
    }
    if (!sp.includes('w')) {
      fail(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.'
      )
      return
    }
    if (entry.state === 'finalized') {
      fail(409, 'BlobImmutable', 'The cache entry is finalized and cannot be written.')
      return
    }
    const declared = req.headers['content-length']
    if (declared === undefined || Number(declared) !== body.length) {
      fail(411, 'MissingContentLengthHeader', 'Content-Length must be given and match the body.')
      return
    }
    const headers = {
      etag: '',
      'last-modified': new Date().toUTCString(),
      'x-ms-request-server-encrypted': 'true'
    }
    if (comp === 'block') {
      const id = url.searchParams.get('blockid')
      if (!id) {
        fail(400, 'InvalidQueryParameterValue', 'blockid is required.')
        return
      }
      entry.staged.set(id, body)
      reply(201, { 'x-ms-request-server-encrypted': 'true' })
      return
    }
    if (comp === 'blocklist') {
      const ids = [
        ...body.toString('utf8').matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)
      ].map(m => m[2])
      const parts: Buffer[] = []
      for (const id of ids) {
        const part = entry.staged.get(id)
        if (!part) {
          fail(400, 'InvalidBlockList', 'The specified block list is invalid.')
          return
        }
        parts.push(part)
      }
      entry.blob = Buffer.concat(parts)
      entry.staged.clear()
      headers.etag = etag(entry)
      reply(201, headers)
      return
    }
    if (comp) {
      fail(400, 'InvalidQueryParameterValue', `comp=${comp} is not supported by the stand-in.`)
      return
    }
    if (String(req.headers['x-ms-blob-type'] ?? '') !== 'BlockBlob') {
      fail(
        400,
        'MissingRequiredHeader',
        'An HTTP header that is mandatory for this request is not specified: x-ms-blob-type.'
      )
      return
    }
    entry.blob = body
    headers.etag = etag(entry)
    reply(201, headers)
  }
}

/** Start a cache service stand-in (same as `CacheService.start`). */
export function startCacheService(options: CacheServiceOptions = {}): Promise<CacheService> {
  return CacheService.start(options)
}

function etag(entry: StoredEntry): string {
  return `"0x${(entry.id * 7919 + (entry.blob?.length ?? 0)).toString(16).toUpperCase()}"`
}

function checkKey(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw new TwirpError('invalid_argument', `${field} is required`)
  if (value.length > MAX_KEY_LENGTH)
    throw new TwirpError(
      'invalid_argument',
      `${field} cannot be larger than ${MAX_KEY_LENGTH} characters`
    )
  if (value.includes(','))
    throw new TwirpError('invalid_argument', `${field} cannot contain commas`)
  return value
}

function checkVersion(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new TwirpError('invalid_argument', 'version is required')
  return value
}
