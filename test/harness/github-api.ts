/**
 * A strict stand-in for the GitHub REST API, for tests.
 *
 * A node:http server on 127.0.0.1 that keeps per-repository state (issue comments, pull requests,
 * deployments and their statuses) and checks every request against GitHub's own published REST
 * description (the OpenAPI document in `@octokit/openapi`): an unknown route is a 404, a known but
 * unimplemented one a 501, a body or parameter that does not match the operation's schema a 422
 * ("Invalid request."), each recorded in `violations` so a test can assert there were none.
 * Responses are shaped like GitHub's (ids, node_id, urls, user, timestamps, `Link` pagination
 * headers) and are themselves checked against the description's response schemas, so a client
 * that works here reads the same fields it would read from api.github.com.
 *
 * Tokens carry GitHub App style permissions (`issues`, `pull_requests`, `deployments`,
 * `contents`): a write without permission gets GitHub's 403 "Resource not accessible by
 * integration", what a fork's read-only GITHUB_TOKEN gets; an unknown token gets 401.
 */
import http from 'node:http'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ---------------------------------------------------------------------------------------------
// The REST description: loaded once per process, lazily, with its routes indexed.
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Schema = Record<string, unknown>

interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  schema?: Schema
}

interface Operation {
  operationId: string
  method: string
  /** The route as the description writes it: `/repos/{owner}/{repo}/issues/{issue_number}/comments`. */
  route: string
  segments: string[]
  parameters: Parameter[]
  /** JSON pointer (in the document) of the request body's JSON schema, when it has one. */
  bodyPointer?: string
  bodyRequired: boolean
  /** JSON pointer of the success response's JSON schema, by status code. */
  responsePointers: Map<number, string>
  documentationUrl: string
}

interface Description {
  doc: Record<string, unknown>
  byMethod: Map<string, Operation[]>
  /** Validators for requests: formats checked, strings coerced for parameters. */
  ajv: Ajv
  /** Validators for our own responses: structure only (GitHub returns "" for `format: uri` fields). */
  ajvResponses: Ajv
  validators: Map<string, ValidateFunction>
}

let description: Description | undefined

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1')
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  let node: unknown = doc
  for (const raw of pointer.replace(/^#\//, '').split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

function deref<T>(doc: unknown, node: unknown): T {
  let n = node as Record<string, unknown>
  while (n && typeof n.$ref === 'string') n = resolvePointer(doc, n.$ref) as Record<string, unknown>
  return n as T
}

function addFormats(ajv: Ajv): void {
  // ajv-formats is CommonJS: its default export arrives as the module or as `.default`.
  const mod = addFormatsModule as unknown as { default?: (a: Ajv) => void } & ((a: Ajv) => void)
  ;(mod.default ?? mod)(ajv)
}

/** Load and index the REST description (13 MB of JSON; ~0.2 s), once per process. */
export function restDescription(): Description {
  if (description) return description
  const require = createRequire(import.meta.url)
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json')
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  const byMethod = new Map<string, Operation[]>()
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>
  for (const [route, item] of Object.entries(paths)) {
    const shared = (item.parameters as unknown as unknown[]) ?? []
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue
      const parameters = [...shared, ...((op.parameters as unknown[]) ?? [])].map(p =>
        deref<Parameter>(doc, p)
      )
      const base = `#/paths/${escapePointer(route)}/${method}`
      const rb = deref<Record<string, unknown> | undefined>(doc, op.requestBody)
      const json = (rb?.content as Record<string, Record<string, unknown>> | undefined)?.[
        'application/json'
      ]
      const responsePointers = new Map<number, string>()
      for (const [code, resp] of Object.entries((op.responses as Record<string, unknown>) ?? {})) {
        const r = deref<Record<string, unknown>>(doc, resp)
        const content = r?.content as Record<string, Record<string, unknown>> | undefined
        if (content?.['application/json']?.schema) {
          const viaRef = (resp as Record<string, unknown>).$ref as string | undefined
          responsePointers.set(
            Number(code),
            viaRef
              ? `${viaRef}/content/application~1json/schema`
              : `${base}/responses/${code}/content/application~1json/schema`
          )
        }
      }
      const docs =
        (op.externalDocs as Record<string, string> | undefined)?.url ??
        'https://docs.github.com/rest'
      const operation: Operation = {
        operationId: String(op.operationId),
        method: method.toUpperCase(),
        route,
        segments: route.split('/').slice(1),
        parameters,
        bodyPointer: json?.schema
          ? typeof (op.requestBody as Record<string, unknown>).$ref === 'string'
            ? `${(op.requestBody as Record<string, string>).$ref}/content/application~1json/schema`
            : `${base}/requestBody/content/application~1json/schema`
          : undefined,
        bodyRequired: Boolean(rb?.required),
        responsePointers,
        documentationUrl: docs
      }
      const list = byMethod.get(operation.method) ?? []
      list.push(operation)
      byMethod.set(operation.method, list)
    }
  }
  nullableAlternatives(doc)
  // OpenAPI 3.0 keywords ajv does not know (example, x-github, discriminator...) are not errors.
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes: false })
  addFormats(ajv)
  ajv.addSchema(doc, 'gh')
  const ajvResponses = new Ajv({
    strict: false,
    allErrors: true,
    validateSchema: false,
    validateFormats: false
  })
  ajvResponses.addSchema(doc, 'gh')
  description = { doc, byMethod, ajv, ajvResponses, validators: new Map() }
  return description
}

/**
 * OpenAPI 3.0's `nullable: true` beside `oneOf`/`anyOf` and no `type` (the issue bodies' `title`,
 * `milestone`, `type`) means "one of these, or null"; ajv refuses `nullable` without `type`, so
 * such a node gets `{type: 'null'}` as one more alternative instead.
 */
function nullableAlternatives(node: unknown): void {
  if (!node || typeof node !== 'object') return
  if (Array.isArray(node)) {
    for (const n of node) nullableAlternatives(n)
    return
  }
  const n = node as Record<string, unknown>
  // `nullable: true` with an `enum` (an issue's `state_reason`) allows null too: ajv wants null
  // in the enum itself.
  if (n.nullable === true && Array.isArray(n.enum) && !n.enum.includes(null)) n.enum.push(null)
  if (n.nullable === true && n.type === undefined) {
    const list = (n.oneOf ?? n.anyOf) as unknown[] | undefined
    if (Array.isArray(list)) {
      list.push({ type: 'null' })
      delete n.nullable
    }
  }
  for (const v of Object.values(n)) nullableAlternatives(v)
}

function validator(d: Description, pointer: string, forResponse = false): ValidateFunction {
  const key = `${forResponse ? 'res' : 'req'}:${pointer}`
  let v = d.validators.get(key)
  if (!v) {
    v = (forResponse ? d.ajvResponses : d.ajv).compile({ $ref: `gh${pointer}` })
    d.validators.set(key, v)
  }
  return v
}

/** The operation for a method and path: literal segments beat `{parameters}`, left to right. */
function matchRoute(
  d: Description,
  method: string,
  pathname: string
): { op: Operation; params: Record<string, string> } | undefined {
  const segments = pathname.split('/').slice(1)
  let best: { op: Operation; params: Record<string, string>; score: string } | undefined
  for (const op of d.byMethod.get(method) ?? []) {
    if (op.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    let score = ''
    let ok = true
    for (let i = 0; i < segments.length && ok; i++) {
      const t = op.segments[i]
      const m = /^\{([^}]+)\}$/.exec(t)
      let value: string
      try {
        value = decodeURIComponent(segments[i])
      } catch {
        ok = false
        break
      }
      if (m) {
        if (value === '') ok = false
        params[m[1]] = value
        score += '0'
      } else if (t === segments[i]) {
        score += '1'
      } else ok = false
    }
    if (ok && (!best || score > best.score)) best = { op, params, score }
  }
  return best && { op: best.op, params: best.params }
}

/** GitHub's wording for schema errors: "For 'properties/body', 5 is not a string." */
function describeAjvErrors(errors: ErrorObject[] | null | undefined, data: unknown): string[] {
  const out: string[] = []
  for (const e of errors ?? []) {
    if (e.keyword === 'required') {
      out.push(`"${(e.params as { missingProperty: string }).missingProperty}" wasn't supplied.`)
      continue
    }
    const where = e.instancePath
      .split('/')
      .slice(1)
      .map(p => `properties/${p}`)
      .join('/')
    let value: unknown = data
    for (const p of e.instancePath.split('/').slice(1))
      value = (value as Record<string, unknown>)?.[p]
    const shown = JSON.stringify(value)
    if (e.keyword === 'type')
      out.push(
        `For '${where || 'root'}', ${shown} is not ${article((e.params as { type: string }).type)}.`
      )
    else if (e.keyword === 'enum')
      out.push(
        `For '${where}', ${shown} is not a member of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}.`
      )
    else out.push(`For '${where || 'root'}', ${shown} ${e.message ?? 'is invalid'}.`)
  }
  return [...new Set(out)]
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

// ---------------------------------------------------------------------------------------------
// Sample objects for large response schemas (pull request, repository): every required field
// filled with a plausible value of the right type, then overlaid with the state we keep.
// ---------------------------------------------------------------------------------------------

function sample(doc: unknown, schemaIn: unknown, depth = 0): Json {
  const schema = deref<Schema>(doc, schemaIn)
  if (!schema || depth > 12) return null
  if (Array.isArray(schema.allOf)) {
    const merged: Record<string, Json> = {}
    for (const part of schema.allOf) Object.assign(merged, sample(doc, part, depth + 1) as object)
    return merged
  }
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    return sample(doc, ((schema.anyOf ?? schema.oneOf) as unknown[])[0], depth + 1)
  }
  if (schema.nullable === true && depth > 0) return null
  if (Array.isArray(schema.enum)) return schema.enum[0] as Json
  switch (schema.type) {
    case 'object': {
      const out: Record<string, Json> = {}
      const props = (schema.properties ?? {}) as Record<string, unknown>
      for (const name of (schema.required as string[] | undefined) ?? [])
        out[name] = sample(doc, props[name], depth + 1)
      return out
    }
    case 'array':
      return []
    case 'integer':
    case 'number':
      return 0
    case 'boolean':
      return false
    case 'string':
      if (schema.format === 'date-time') return isoNow()
      if (schema.format === 'uri') return 'https://github.com'
      return ''
    default:
      return null
  }
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

// ---------------------------------------------------------------------------------------------
// State and the public API of the stand-in.
// ---------------------------------------------------------------------------------------------

export type Access = 'read' | 'write'
export interface TokenPermissions {
  issues?: Access
  pull_requests?: Access
  deployments?: Access
  contents?: Access
  /** Actions: a run's approvals and the environments' protection rules need `read`. */
  actions?: Access
}

/** An environment and its protection rules, as Settings → Environments holds them. */
export interface EnvironmentSeed {
  /** Required reviewers (logins); none: the environment has no required_reviewers rule. */
  reviewers?: string[]
  /** Minutes; a wait_timer rule when set. */
  waitTimer?: number
}

/** One review of a run's pending deployment (Approve or Reject in the run's page). */
export interface RunApprovalSeed {
  environments: string[]
  state: 'approved' | 'rejected'
  login: string
  comment?: string
}

export interface TokenOptions {
  /** The account the token acts as (default: the github-actions[bot] app user). */
  login?: string
  type?: 'Bot' | 'User'
}

export interface Violation {
  kind:
    | 'unknown-route'
    | 'not-implemented'
    | 'invalid-params'
    | 'invalid-body'
    | 'validation-failed'
    | 'bad-credentials'
    | 'response-schema'
  method: string
  path: string
  message: string
}

export interface RecordedRequest {
  method: string
  path: string
  status: number
  operationId?: string
  token?: string
}

export interface PullRequestSeed {
  number: number
  title?: string
  body?: string
  state?: 'open' | 'closed'
  draft?: boolean
  head?: { ref?: string; sha?: string; repo?: string }
  base?: { ref?: string; sha?: string }
  user?: string
  labels?: string[]
}

export interface RepoSeed {
  private?: boolean
  default_branch?: string
  /** Refs a deployment may name (branch or tag → sha). Without any, any ref is accepted. */
  refs?: Record<string, string>
  /**
   * A git repository (a bare one, the test's `origin`) holding the branches: pull requests are
   * then checked against it as GitHub checks them (head and base must exist, head must have
   * commits that base has not).
   */
  git?: string
}

interface User {
  login: string
  id: number
  type: string
}

export interface Comment {
  id: number
  node_id: string
  issue: number
  body: string
  user: User
  created_at: string
  updated_at: string
}

export interface Deployment {
  id: number
  node_id: string
  sha: string
  ref: string
  task: string
  payload: Json
  original_environment: string
  environment: string
  description: string | null
  creator: User
  created_at: string
  updated_at: string
  transient_environment: boolean
  production_environment: boolean
}

export interface DeploymentStatus {
  id: number
  node_id: string
  deployment_id: number
  state: string
  description: string
  environment: string
  target_url: string
  log_url: string
  environment_url: string
  creator: User
  created_at: string
  updated_at: string
}

interface Repo {
  owner: string
  name: string
  id: number
  seed: RepoSeed
  issues: Set<number>
  pulls: Map<number, PullRequestSeed>
  comments: Comment[]
  deployments: Deployment[]
  statuses: Map<number, DeploymentStatus[]>
  environments: Map<string, EnvironmentSeed & { id: number; created_at: string }>
  approvals: Map<number, RunApprovalSeed[]>
  /** Issues opened through the API (issues/create), by number. */
  issueRecords: Map<number, IssueRecord>
}

/** An issue opened through the API. */
export interface IssueRecord {
  id: number
  number: number
  title: string
  body: string
  state: 'open' | 'closed'
  state_reason: string | null
  labels: string[]
  user: User
  created_at: string
  updated_at: string
  closed_at: string | null
}

export interface GitHubApiOptions {
  /** Artificial latency per request, ms: a random delay in [min, max] before the request is handled. */
  latencyMs?: { min: number; max: number }
  /** Check our own response bodies against the description (default true). */
  validateResponses?: boolean
}

/** GitHub's limit on issue and pull request comment bodies, in characters. */
export const COMMENT_BODY_LIMIT = 65536
/** GitHub's limit on a deployment status description, in characters. */
export const DEPLOYMENT_STATUS_DESCRIPTION_LIMIT = 140

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {}
  ) {
    super(String(body.message))
  }
}

const BOT: User = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' }

export class GitHubApi {
  readonly requests: RecordedRequest[] = []
  readonly violations: Violation[] = []
  private server: http.Server
  private port = 0
  private tokens = new Map<string, { permissions: TokenPermissions; user: User }>()
  private repos = new Map<string, Repo>()
  private nextId = 1_000_000_000
  private nextRepoId = 500_000_000
  private failures: {
    remaining: number
    status: number
    match?: (method: string, path: string) => boolean
  }[] = []
  private latency?: { min: number; max: number }
  private validateResponses: boolean

  private constructor(options: GitHubApiOptions) {
    this.latency = options.latencyMs
    this.validateResponses = options.validateResponses ?? true
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(err => {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify({ message: `stand-in error: ${(err as Error).message}` }))
      })
    })
  }

  /** Start a stand-in on 127.0.0.1 and a random port. */
  static async start(options: GitHubApiOptions = {}): Promise<GitHubApi> {
    restDescription()
    const api = new GitHubApi(options)
    await new Promise<void>(resolve => api.server.listen(0, '127.0.0.1', resolve))
    api.port = (api.server.address() as AddressInfo).port
    return api
  }

  /** The API's base URL (what GITHUB_API_URL holds), without a trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /**
   * The environment a bundle needs to talk to this stand-in. GITHUB_SERVER_URL stays
   * https://github.com: it only builds web links, and a non-github.com server URL would make
   * @actions/cache believe it runs on GHES (and fall back to cache service v1).
   */
  env(token: string, repo = 'octo/fleet'): Record<string, string> {
    return {
      GITHUB_API_URL: this.url,
      GITHUB_GRAPHQL_URL: `${this.url}/graphql`,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: repo,
      GITHUB_REPOSITORY_OWNER: repo.split('/')[0],
      GITHUB_TOKEN: token,
      INPUT_GITHUB_TOKEN: token,
      'INPUT_GITHUB-TOKEN': token
    }
  }

  addToken(token: string, permissions: TokenPermissions, options: TokenOptions = {}): void {
    const user: User = options.login
      ? { login: options.login, id: 1000 + this.tokens.size, type: options.type ?? 'User' }
      : BOT
    this.tokens.set(token, { permissions, user })
  }

  /** Declare a repository (repositories are also created on first use, public, branch `main`). */
  addRepo(fullName: string, seed: RepoSeed = {}): void {
    this.repo(fullName).seed = { ...this.repo(fullName).seed, ...seed }
  }

  /** Declare an issue, so comments can be written to it. */
  addIssue(fullName: string, number: number): void {
    this.repo(fullName).issues.add(number)
  }

  /** Declare a pull request (also an issue, for comments). */
  addPullRequest(fullName: string, pr: PullRequestSeed): void {
    const repo = this.repo(fullName)
    repo.pulls.set(pr.number, pr)
    repo.issues.add(pr.number)
  }

  /** Fail the next `count` requests (matching `match`, when given) with `status` (default 502). */
  failNext(count: number, status = 502, match?: (method: string, path: string) => boolean): void {
    this.failures.push({ remaining: count, status, match })
  }

  /** Declare an environment with its protection rules (names are case-insensitive on GitHub). */
  addEnvironment(fullName: string, name: string, seed: EnvironmentSeed = {}): void {
    this.repo(fullName).environments.set(name.toLowerCase(), {
      ...seed,
      id: this.id(),
      created_at: isoNow()
    })
  }

  /** Record a review of a run's deployment (what GET …/actions/runs/{run_id}/approvals lists). */
  addRunApproval(fullName: string, runId: number, review: RunApprovalSeed): void {
    const r = this.repo(fullName)
    r.approvals.set(runId, [...(r.approvals.get(runId) ?? []), review])
  }

  pullRequests(fullName: string): PullRequestSeed[] {
    return [...this.repo(fullName).pulls.values()]
  }

  comments(fullName: string, issue: number): Comment[] {
    return this.repo(fullName).comments.filter(c => c.issue === issue)
  }

  deployments(fullName: string): Deployment[] {
    return [...this.repo(fullName).deployments]
  }

  /** Issues opened through the API, oldest first. */
  issueList(fullName: string): IssueRecord[] {
    return [...this.repo(fullName).issueRecords.values()]
  }

  statuses(fullName: string, deploymentId: number): DeploymentStatus[] {
    return [...(this.repo(fullName).statuses.get(deploymentId) ?? [])]
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  // -------------------------------------------------------------------------------------------

  private repo(fullName: string): Repo {
    const key = fullName.toLowerCase()
    let repo = this.repos.get(key)
    if (!repo) {
      const [owner, name] = fullName.split('/')
      repo = {
        owner,
        name,
        id: this.nextRepoId++,
        seed: {},
        issues: new Set(),
        pulls: new Map(),
        comments: [],
        deployments: [],
        statuses: new Map(),
        environments: new Map(),
        approvals: new Map(),
        issueRecords: new Map()
      }
      this.repos.set(key, repo)
    }
    return repo
  }

  private id(): number {
    return this.nextId++
  }

  private nodeId(prefix: string, id: number): string {
    return `${prefix}_kwDO${Buffer.from(`${prefix}:${id}`).toString('base64url')}`
  }

  private userJson(u: User): Record<string, Json> {
    return {
      login: u.login,
      id: u.id,
      node_id: this.nodeId(u.type === 'Bot' ? 'BOT' : 'U', u.id),
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      gravatar_id: '',
      url: `${this.url}/users/${encodeURIComponent(u.login)}`,
      html_url: `https://github.com/${u.type === 'Bot' ? 'apps/' + u.login.replace(/\[bot\]$/, '') : u.login}`,
      followers_url: `${this.url}/users/${encodeURIComponent(u.login)}/followers`,
      following_url: `${this.url}/users/${encodeURIComponent(u.login)}/following{/other_user}`,
      gists_url: `${this.url}/users/${encodeURIComponent(u.login)}/gists{/gist_id}`,
      starred_url: `${this.url}/users/${encodeURIComponent(u.login)}/starred{/owner}{/repo}`,
      subscriptions_url: `${this.url}/users/${encodeURIComponent(u.login)}/subscriptions`,
      organizations_url: `${this.url}/users/${encodeURIComponent(u.login)}/orgs`,
      repos_url: `${this.url}/users/${encodeURIComponent(u.login)}/repos`,
      events_url: `${this.url}/users/${encodeURIComponent(u.login)}/events{/privacy}`,
      received_events_url: `${this.url}/users/${encodeURIComponent(u.login)}/received_events`,
      type: u.type,
      user_view_type: 'public',
      site_admin: false
    }
  }

  private repoApiUrl(r: Repo): string {
    return `${this.url}/repos/${r.owner}/${r.name}`
  }

  private commentJson(r: Repo, c: Comment): Record<string, Json> {
    const url = `${this.repoApiUrl(r)}/issues/comments/${c.id}`
    return {
      url,
      html_url: `https://github.com/${r.owner}/${r.name}/${r.pulls.has(c.issue) ? 'pull' : 'issues'}/${c.issue}#issuecomment-${c.id}`,
      issue_url: `${this.repoApiUrl(r)}/issues/${c.issue}`,
      id: c.id,
      node_id: this.nodeId('IC', c.id),
      user: this.userJson(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: c.user.type === 'Bot' ? 'NONE' : 'OWNER',
      body: c.body,
      reactions: {
        url: `${url}/reactions`,
        total_count: 0,
        '+1': 0,
        '-1': 0,
        laugh: 0,
        hooray: 0,
        confused: 0,
        heart: 0,
        rocket: 0,
        eyes: 0
      },
      performed_via_github_app: null
    }
  }

  private issueJson(r: Repo, i: IssueRecord, d: Description): Record<string, Json> {
    const base = sample(d.doc, { $ref: '#/components/schemas/issue' }) as Record<string, Json>
    const api = `${this.repoApiUrl(r)}/issues/${i.number}`
    return Object.assign(base, {
      id: i.id,
      node_id: this.nodeId('I', i.id),
      url: api,
      repository_url: this.repoApiUrl(r),
      labels_url: `${api}/labels{/name}`,
      comments_url: `${api}/comments`,
      events_url: `${api}/events`,
      html_url: `https://github.com/${r.owner}/${r.name}/issues/${i.number}`,
      number: i.number,
      state: i.state,
      state_reason: i.state_reason,
      title: i.title,
      body: i.body,
      user: this.userJson(i.user),
      labels: i.labels.map((name, n) => ({
        id: 3_000_000 + n,
        node_id: this.nodeId('LA', 3_000_000 + n),
        url: `${this.repoApiUrl(r)}/labels/${encodeURIComponent(name)}`,
        name,
        description: null,
        color: 'ededed',
        default: false
      })),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: r.comments.filter(x => x.issue === i.number).length,
      closed_at: i.closed_at,
      created_at: i.created_at,
      updated_at: i.updated_at,
      author_association: i.user.type === 'Bot' ? 'NONE' : 'OWNER'
    })
  }

  private deploymentJson(r: Repo, d: Deployment): Record<string, Json> {
    const url = `${this.repoApiUrl(r)}/deployments/${d.id}`
    return {
      url,
      id: d.id,
      node_id: d.node_id,
      task: d.task,
      original_environment: d.original_environment,
      environment: d.environment,
      description: d.description,
      created_at: d.created_at,
      updated_at: d.updated_at,
      statuses_url: `${url}/statuses`,
      repository_url: this.repoApiUrl(r),
      creator: this.userJson(d.creator),
      sha: d.sha,
      ref: d.ref,
      payload: d.payload,
      transient_environment: d.transient_environment,
      production_environment: d.production_environment,
      performed_via_github_app: null
    }
  }

  private statusJson(r: Repo, s: DeploymentStatus): Record<string, Json> {
    const deploymentUrl = `${this.repoApiUrl(r)}/deployments/${s.deployment_id}`
    return {
      url: `${deploymentUrl}/statuses/${s.id}`,
      id: s.id,
      node_id: s.node_id,
      state: s.state,
      creator: this.userJson(s.creator),
      description: s.description,
      environment: s.environment,
      target_url: s.target_url,
      created_at: s.created_at,
      updated_at: s.updated_at,
      deployment_url: deploymentUrl,
      repository_url: this.repoApiUrl(r),
      environment_url: s.environment_url,
      log_url: s.log_url,
      performed_via_github_app: null
    }
  }

  private repoJson(r: Repo, d: Description): Record<string, Json> {
    const base = sample(d.doc, { $ref: '#/components/schemas/full-repository' }) as Record<
      string,
      Json
    >
    return Object.assign(base, this.repoCore(r, d, 'full-repository'))
  }

  /** The fields of a repository clients read, over a sample of `schemaName`. */
  private repoCore(r: Repo, d: Description, schemaName: string): Record<string, Json> {
    const base = sample(d.doc, { $ref: `#/components/schemas/${schemaName}` }) as Record<
      string,
      Json
    >
    const api = this.repoApiUrl(r)
    const owner: User = { login: r.owner, id: 9000 + (r.id % 1000), type: 'Organization' }
    return Object.assign(base, {
      id: r.id,
      node_id: this.nodeId('R', r.id),
      name: r.name,
      full_name: `${r.owner}/${r.name}`,
      owner: this.userJson(owner),
      private: r.seed.private ?? false,
      visibility: r.seed.private ? 'private' : 'public',
      fork: false,
      html_url: `https://github.com/${r.owner}/${r.name}`,
      url: api,
      clone_url: `https://github.com/${r.owner}/${r.name}.git`,
      git_url: `git://github.com/${r.owner}/${r.name}.git`,
      ssh_url: `git@github.com:${r.owner}/${r.name}.git`,
      default_branch: r.seed.default_branch ?? 'main',
      deployments_url: `${api}/deployments`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      pulls_url: `${api}/pulls{/number}`
    })
  }

  private pullJson(r: Repo, pr: PullRequestSeed, d: Description): Record<string, Json> {
    const base = sample(d.doc, { $ref: '#/components/schemas/pull-request' }) as Record<
      string,
      Json
    >
    const api = this.repoApiUrl(r)
    const user: User = { login: pr.user ?? 'octocat', id: 583231, type: 'User' }
    const repoJson = this.repoCore(r, d, 'repository')
    const headRepo =
      pr.head?.repo && pr.head.repo.toLowerCase() !== `${r.owner}/${r.name}`.toLowerCase()
        ? this.repo(pr.head.repo)
        : r
    const headRepoJson =
      headRepo === r ? repoJson : { ...this.repoCore(headRepo, d, 'repository'), fork: true }
    const headRef = pr.head?.ref ?? `topic-${pr.number}`
    const baseRef = pr.base?.ref ?? r.seed.default_branch ?? 'main'
    return Object.assign(base, {
      url: `${api}/pulls/${pr.number}`,
      id: 2_000_000_000 + pr.number,
      node_id: this.nodeId('PR', pr.number),
      html_url: `https://github.com/${r.owner}/${r.name}/pull/${pr.number}`,
      diff_url: `https://github.com/${r.owner}/${r.name}/pull/${pr.number}.diff`,
      patch_url: `https://github.com/${r.owner}/${r.name}/pull/${pr.number}.patch`,
      issue_url: `${api}/issues/${pr.number}`,
      commits_url: `${api}/pulls/${pr.number}/commits`,
      review_comments_url: `${api}/pulls/${pr.number}/comments`,
      comments_url: `${api}/issues/${pr.number}/comments`,
      statuses_url: `${api}/statuses/${pr.head?.sha ?? fakeSha(headRef)}`,
      number: pr.number,
      state: pr.state ?? 'open',
      locked: false,
      title: pr.title ?? `Pull request #${pr.number}`,
      body: pr.body ?? null,
      user: this.userJson(prUsers.get(pr) ?? user),
      labels: (pr.labels ?? []).map((name, i) => ({
        id: 3_000_000 + i,
        node_id: this.nodeId('LA', 3_000_000 + i),
        url: `${api}/labels/${encodeURIComponent(name)}`,
        name,
        description: '',
        color: 'ededed',
        default: false
      })),
      draft: pr.draft ?? false,
      merged: false,
      mergeable: null,
      head: {
        label: `${headRepo.owner}:${headRef}`,
        ref: headRef,
        sha: pr.head?.sha ?? fakeSha(headRef),
        user: this.userJson({
          login: headRepo.owner,
          id: 9000 + (headRepo.id % 1000),
          type: 'Organization'
        }),
        repo: headRepoJson
      },
      base: {
        label: `${r.owner}:${baseRef}`,
        ref: baseRef,
        sha: pr.base?.sha ?? r.seed.refs?.[baseRef] ?? fakeSha(baseRef),
        user: this.userJson({ login: r.owner, id: 9000 + (r.id % 1000), type: 'Organization' }),
        repo: repoJson
      }
    })
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    const method = (req.method ?? 'GET').toUpperCase()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const record: RecordedRequest = { method, path: url.pathname + url.search, status: 0 }
    this.requests.push(record)

    if (this.latency) {
      const { min, max } = this.latency
      await new Promise(r => setTimeout(r, min + Math.random() * (max - min)))
    }

    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status
      const common: Record<string, string> = {
        'x-github-request-id': createHash('sha1')
          .update(String(this.requests.length))
          .digest('hex')
          .slice(0, 16)
          .toUpperCase(),
        'x-github-api-version-selected': '2022-11-28',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-used': '1',
        'x-ratelimit-resource': 'core',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600)
      }
      if (status === 204 || body === undefined) {
        res.writeHead(status, { ...common, ...headers })
        res.end()
        return
      }
      const text = JSON.stringify(body)
      res.writeHead(status, {
        ...common,
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
        ...headers
      })
      res.end(text)
    }
    const violation = (kind: Violation['kind'], message: string): void => {
      this.violations.push({ kind, method, path: url.pathname + url.search, message })
    }

    const failure = this.failures.find(
      f => f.remaining > 0 && (!f.match || f.match(method, url.pathname))
    )
    if (failure) {
      failure.remaining--
      send(failure.status, { message: 'Server Error' })
      return
    }

    const d = restDescription()
    const matched = matchRoute(d, method, url.pathname)
    if (!matched) {
      violation('unknown-route', `${method} ${url.pathname} is not in GitHub's REST description`)
      send(404, {
        message: 'Not Found',
        documentation_url: 'https://docs.github.com/rest',
        status: '404'
      })
      return
    }
    const { op, params } = matched
    record.operationId = op.operationId

    // Authentication first, as GitHub does: a bad token is a 401 whatever the route.
    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    const tokenEntry = auth ? this.tokens.get(auth[1]) : undefined
    record.token = auth?.[1]
    if (!tokenEntry) {
      violation('bad-credentials', auth ? 'unknown token' : 'no authorization header')
      send(401, {
        message: auth ? 'Bad credentials' : 'Requires authentication',
        documentation_url: 'https://docs.github.com/rest',
        status: '401'
      })
      return
    }

    // Parameters against their schemas.
    const problems: string[] = []
    const query: Record<string, string> = {}
    for (const [k, v] of url.searchParams) query[k] = v
    const values: Record<string, Json> = {}
    for (const p of op.parameters) {
      const rawValue =
        p.in === 'path' ? params[p.name] : p.in === 'query' ? query[p.name] : undefined
      if (p.in !== 'path' && p.in !== 'query') continue
      if (rawValue === undefined) {
        if (p.required) problems.push(`"${p.name}" wasn't supplied.`)
        continue
      }
      const value = coerce(rawValue, deref<Schema>(d.doc, p.schema))
      const schemaPointer = findParamPointer(d, op, p)
      const v = validator(d, schemaPointer)
      if (!v(value)) {
        if (p.in === 'path') {
          // GitHub routes `/issues/abc/comments` nowhere: a 404, not a 422.
          violation(
            'invalid-params',
            `path parameter ${p.name}=${JSON.stringify(rawValue)} does not match its schema`
          )
          send(404, { message: 'Not Found', documentation_url: op.documentationUrl, status: '404' })
          return
        }
        problems.push(
          `For '${p.name}', ${JSON.stringify(rawValue)} ${v.errors?.[0]?.message ?? 'is invalid'}.`
        )
      }
      values[p.name] = value
    }
    if (problems.length) {
      violation('invalid-params', problems.join(' '))
      send(422, {
        message: `Invalid request.\n\n${problems.join('\n')}`,
        documentation_url: op.documentationUrl,
        status: '422'
      })
      return
    }

    // The body: JSON, and valid against the operation's schema.
    let body: Json = null
    if (op.bodyPointer) {
      if (raw.trim() !== '') {
        try {
          body = JSON.parse(raw) as Json
        } catch {
          violation('invalid-body', 'body is not JSON')
          send(400, {
            message: 'Problems parsing JSON',
            documentation_url: op.documentationUrl,
            status: '400'
          })
          return
        }
      } else body = op.bodyRequired ? {} : null
      if (body !== null) {
        const v = validator(d, op.bodyPointer)
        if (!v(body)) {
          const msgs = describeAjvErrors(v.errors, body)
          violation('invalid-body', msgs.join(' '))
          send(422, {
            message: `Invalid request.\n\n${msgs.join('\n')}`,
            documentation_url: op.documentationUrl,
            status: '422'
          })
          return
        }
      }
    }

    const handler = this.handlers[op.operationId]
    if (!handler) {
      violation(
        'not-implemented',
        `${op.operationId} (${method} ${op.route}) is in GitHub's description but not in the stand-in`
      )
      send(501, {
        message: `The stand-in does not implement ${op.operationId}`,
        documentation_url: op.documentationUrl,
        status: '501'
      })
      return
    }

    const repo = this.repo(`${params.owner}/${params.repo}`)
    try {
      const result = handler({
        repo,
        params: values,
        body: body as Record<string, Json>,
        user: tokenEntry.user,
        perms: tokenEntry.permissions,
        op,
        url,
        d
      })
      if (this.validateResponses && result.body !== undefined) {
        const pointer = op.responsePointers.get(result.status)
        if (pointer) {
          const v = validator(d, pointer, true)
          if (!v(result.body)) {
            violation(
              'response-schema',
              `stand-in response for ${op.operationId} does not match the description: ${JSON.stringify(v.errors?.slice(0, 3))}`
            )
          }
        }
      }
      send(result.status, result.body, result.headers)
    } catch (err) {
      if (!(err instanceof HttpError)) throw err
      if (err.status === 422)
        violation('validation-failed', err.message + ' ' + JSON.stringify(err.body.errors ?? ''))
      send(
        err.status,
        { ...err.body, documentation_url: op.documentationUrl, status: String(err.status) },
        err.headers
      )
    }
  }

  // -------------------------------------------------------------------------------------------
  // Operations, by operationId.
  // -------------------------------------------------------------------------------------------

  private handlers: Record<string, (c: Ctx) => Result> = {
    'repos/get': c => ({ status: 200, body: this.repoJson(c.repo, c.d) }),

    'pulls/get': c => {
      need(c, ['pull_requests', 'read'])
      const pr = c.repo.pulls.get(Number(c.params.pull_number))
      if (!pr) throw notFound()
      return { status: 200, body: this.pullJson(c.repo, pr, c.d) }
    },

    // Issues: https://docs.github.com/rest/issues/issues. The list holds pull requests too (with a
    // `pull_request` key), as GitHub's does; filters: state (default open), creator, labels (all
    // of them), sort (created, updated) and direction (default desc).
    'issues/list-for-repo': c => {
      need(c, ['issues', 'read'])
      const q = c.params
      const state = typeof q.state === 'string' ? q.state : 'open'
      const creator = typeof q.creator === 'string' ? q.creator.toLowerCase() : undefined
      const labels =
        typeof q.labels === 'string' ? q.labels.split(',').map(l => l.trim().toLowerCase()) : []
      const all: {
        created: string
        updated: string
        number: number
        json: Record<string, Json>
      }[] = []
      for (const i of c.repo.issueRecords.values())
        all.push({
          created: i.created_at,
          updated: i.updated_at,
          number: i.number,
          json: this.issueJson(c.repo, i, c.d)
        })
      for (const pr of c.repo.pulls.values()) {
        const json = this.issueJson(
          c.repo,
          {
            id: 2_000_000_000 + pr.number,
            number: pr.number,
            title: pr.title ?? `Pull request #${pr.number}`,
            body: pr.body ?? '',
            state: pr.state ?? 'open',
            state_reason: null,
            labels: [],
            user: { login: pr.user ?? 'octocat', id: 583231, type: 'User' },
            created_at: isoNow(),
            updated_at: isoNow(),
            closed_at: null
          },
          c.d
        )
        const api = this.repoApiUrl(c.repo)
        json.pull_request = {
          url: `${api}/pulls/${pr.number}`,
          html_url: `https://github.com/${c.repo.owner}/${c.repo.name}/pull/${pr.number}`,
          diff_url: `https://github.com/${c.repo.owner}/${c.repo.name}/pull/${pr.number}.diff`,
          patch_url: `https://github.com/${c.repo.owner}/${c.repo.name}/pull/${pr.number}.patch`
        }
        all.push({
          created: String(json.created_at),
          updated: String(json.updated_at),
          number: pr.number,
          json
        })
      }
      const key = q.sort === 'updated' ? 'updated' : 'created'
      const asc = q.direction === 'asc'
      const list = all
        .filter(x => state === 'all' || x.json.state === state)
        .filter(
          x =>
            !creator || String((x.json.user as { login: string }).login).toLowerCase() === creator
        )
        .filter(x => {
          const have = (x.json.labels as { name: string }[]).map(l => l.name.toLowerCase())
          return labels.every(l => have.includes(l))
        })
        .sort((a, b) => {
          const d = a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.number - b.number
          return asc ? d : -d
        })
      return this.page(
        c,
        list.map(x => x.json)
      )
    },

    'issues/create': c => {
      need(c, ['issues', 'write'])
      const title = c.body.title
      if (typeof title !== 'string' || title.trim() === '')
        throw validationFailed('Issue', 'title', 'missing_field', 'title is missing')
      const body = typeof c.body.body === 'string' ? c.body.body : ''
      checkIssueBody(body)
      const numbers = [...c.repo.issues, ...c.repo.pulls.keys()]
      const number = numbers.length ? Math.max(...numbers) + 1 : 1
      const now = isoNow()
      const issue: IssueRecord = {
        id: this.id(),
        number,
        title,
        body,
        state: 'open',
        state_reason: null,
        labels: Array.isArray(c.body.labels)
          ? c.body.labels.map(l =>
              typeof l === 'string' ? l : String((l as { name?: string })?.name ?? '')
            )
          : [],
        user: c.user,
        created_at: now,
        updated_at: now,
        closed_at: null
      }
      c.repo.issues.add(number)
      c.repo.issueRecords.set(number, issue)
      const json = this.issueJson(c.repo, issue, c.d)
      return { status: 201, body: json, headers: { location: String(json.url) } }
    },

    'issues/get': c => {
      need(c, ['issues', 'read'])
      const issue = c.repo.issueRecords.get(Number(c.params.issue_number))
      if (!issue) throw notFound()
      return { status: 200, body: this.issueJson(c.repo, issue, c.d) }
    },

    // PATCH: title, body, state, state_reason. Closing sets closed_at; reopening clears it and
    // GitHub records state_reason `reopened`.
    'issues/update': c => {
      need(c, ['issues', 'write'])
      const issue = c.repo.issueRecords.get(Number(c.params.issue_number))
      if (!issue) throw notFound()
      const b = c.body
      if (typeof b.body === 'string') checkIssueBody(b.body)
      if (typeof b.title === 'string') {
        if (b.title.trim() === '')
          throw validationFailed('Issue', 'title', 'missing_field', 'title is missing')
        issue.title = b.title
      }
      if (typeof b.body === 'string') issue.body = b.body
      const now = isoNow()
      if (b.state === 'closed' && issue.state !== 'closed') {
        issue.state = 'closed'
        issue.closed_at = now
        issue.state_reason = typeof b.state_reason === 'string' ? b.state_reason : 'completed'
      } else if (b.state === 'open' && issue.state !== 'open') {
        issue.state = 'open'
        issue.closed_at = null
        issue.state_reason = 'reopened'
      } else if (typeof b.state_reason === 'string' && issue.state === 'closed')
        issue.state_reason = b.state_reason
      issue.updated_at = now
      return { status: 200, body: this.issueJson(c.repo, issue, c.d) }
    },

    'issues/list-comments': c => {
      need(c, ['issues', 'read'], ['pull_requests', 'read'])
      const issue = Number(c.params.issue_number)
      if (!c.repo.issues.has(issue)) throw notFound()
      let list = c.repo.comments.filter(x => x.issue === issue)
      if (typeof c.params.since === 'string') {
        const since = Date.parse(c.params.since)
        list = list.filter(x => Date.parse(x.updated_at) >= since)
      }
      return this.page(
        c,
        list.map(x => this.commentJson(c.repo, x))
      )
    },

    'issues/create-comment': c => {
      const issue = Number(c.params.issue_number)
      if (c.repo.pulls.has(issue)) need(c, ['issues', 'write'], ['pull_requests', 'write'])
      else need(c, ['issues', 'write'])
      if (!c.repo.issues.has(issue)) throw notFound()
      checkCommentBody(String(c.body.body))
      const now = isoNow()
      const comment: Comment = {
        id: this.id(),
        node_id: '',
        issue,
        body: String(c.body.body),
        user: c.user,
        created_at: now,
        updated_at: now
      }
      comment.node_id = this.nodeId('IC', comment.id)
      c.repo.comments.push(comment)
      const json = this.commentJson(c.repo, comment)
      return { status: 201, body: json, headers: { location: String(json.url) } }
    },

    'issues/get-comment': c => {
      need(c, ['issues', 'read'], ['pull_requests', 'read'])
      return { status: 200, body: this.commentJson(c.repo, this.findComment(c)) }
    },

    'issues/update-comment': c => {
      const comment = this.findComment(c)
      if (c.repo.pulls.has(comment.issue)) need(c, ['issues', 'write'], ['pull_requests', 'write'])
      else need(c, ['issues', 'write'])
      ownComment(c, comment)
      checkCommentBody(String(c.body.body))
      comment.body = String(c.body.body)
      comment.updated_at = isoNow()
      return { status: 200, body: this.commentJson(c.repo, comment) }
    },

    'issues/delete-comment': c => {
      const comment = this.findComment(c)
      if (c.repo.pulls.has(comment.issue)) need(c, ['issues', 'write'], ['pull_requests', 'write'])
      else need(c, ['issues', 'write'])
      ownComment(c, comment)
      c.repo.comments.splice(c.repo.comments.indexOf(comment), 1)
      return { status: 204 }
    },

    // GET /repos/{owner}/{repo}/environments/{environment_name}: the environment and its
    // protection rules. GitHub answers 404 for an environment nobody created (a job that names
    // one creates it, without rules).
    'repos/get-environment': c => {
      need(c, ['actions', 'read'])
      const name = String(c.params.environment_name)
      const e = c.repo.environments.get(name.toLowerCase())
      if (!e) throw notFound()
      const api = `${this.repoApiUrl(c.repo)}/environments/${encodeURIComponent(name)}`
      const rules: Json[] = []
      if (e.waitTimer !== undefined)
        rules.push({
          id: e.id + 1,
          node_id: this.nodeId('GA', e.id + 1),
          type: 'wait_timer',
          wait_timer: e.waitTimer
        })
      if (e.reviewers?.length)
        rules.push({
          id: e.id + 2,
          node_id: this.nodeId('GA', e.id + 2),
          type: 'required_reviewers',
          prevent_self_review: false,
          reviewers: e.reviewers.map((login, i) => ({
            type: 'User',
            reviewer: this.userJson({ login, id: 7000 + i, type: 'User' })
          }))
        })
      return {
        status: 200,
        body: {
          id: e.id,
          node_id: this.nodeId('EN', e.id),
          name,
          url: api,
          html_url: `https://github.com/${c.repo.owner}/${c.repo.name}/deployments/activity_log?environments_filter=${encodeURIComponent(name)}`,
          created_at: e.created_at,
          updated_at: e.created_at,
          protection_rules: rules,
          deployment_branch_policy: null
        }
      }
    },

    // GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals: who approved or rejected the
    // run's pending deployments, per environment.
    'actions/get-reviews-for-run': c => {
      need(c, ['actions', 'read'])
      const reviews = c.repo.approvals.get(Number(c.params.run_id)) ?? []
      return {
        status: 200,
        body: reviews.map((r, i) => ({
          environments: r.environments.map(name => {
            const e = c.repo.environments.get(name.toLowerCase())
            const id = e?.id ?? 0
            return {
              id,
              node_id: this.nodeId('EN', id),
              name,
              url: `${this.repoApiUrl(c.repo)}/environments/${encodeURIComponent(name)}`,
              html_url: `https://github.com/${c.repo.owner}/${c.repo.name}/deployments/activity_log?environments_filter=${encodeURIComponent(name)}`,
              created_at: e?.created_at ?? isoNow(),
              updated_at: e?.created_at ?? isoNow()
            }
          }),
          state: r.state,
          comment: r.comment ?? '',
          user: this.userJson({ login: r.login, id: 8000 + i, type: 'User' })
        }))
      }
    },

    'repos/create-deployment': c => {
      need(c, ['deployments', 'write'])
      const b = c.body
      const ref = String(b.ref)
      const refs = c.repo.seed.refs
      let sha: string
      if (/^[0-9a-f]{40}$/i.test(ref)) sha = ref.toLowerCase()
      else if (refs && Object.keys(refs).length) {
        const found = refs[ref] ?? refs[ref.replace(/^refs\/(heads|tags)\//, '')]
        if (!found)
          throw validationFailed(
            'Deployment',
            'ref',
            'invalid',
            `No ref found for: ${ref}`,
            'No ref found for: ' + ref
          )
        sha = found
      } else sha = fakeSha(ref)
      const environment = typeof b.environment === 'string' ? b.environment : 'production'
      let payload: Json = b.payload ?? {}
      if (typeof payload === 'string') {
        try {
          payload = payload === '' ? {} : (JSON.parse(payload) as Json)
        } catch {
          /* GitHub keeps a payload string that is not JSON as it is */
        }
      }
      const now = isoNow()
      const dep: Deployment = {
        id: this.id(),
        node_id: '',
        sha,
        ref,
        task: typeof b.task === 'string' ? b.task : 'deploy',
        payload,
        original_environment: environment,
        environment,
        description: b.description === undefined ? '' : (b.description as string | null),
        creator: c.user,
        created_at: now,
        updated_at: now,
        transient_environment: b.transient_environment === true,
        production_environment:
          typeof b.production_environment === 'boolean'
            ? b.production_environment
            : environment === 'production'
      }
      dep.node_id = this.nodeId('DE', dep.id)
      c.repo.deployments.push(dep)
      c.repo.statuses.set(dep.id, [])
      return { status: 201, body: this.deploymentJson(c.repo, dep) }
    },

    'repos/list-deployments': c => {
      need(c, ['deployments', 'read'])
      const q = c.params
      const list = c.repo.deployments
        .filter(x => typeof q.sha !== 'string' || q.sha === 'none' || x.sha === q.sha)
        .filter(x => typeof q.ref !== 'string' || q.ref === 'none' || x.ref === q.ref)
        .filter(x => typeof q.task !== 'string' || q.task === 'none' || x.task === q.task)
        .filter(
          x =>
            typeof q.environment !== 'string' ||
            q.environment === 'none' ||
            x.environment === q.environment
        )
        .slice()
        .reverse() // newest first, as GitHub lists them
      return this.page(
        c,
        list.map(x => this.deploymentJson(c.repo, x))
      )
    },

    'repos/get-deployment': c => {
      need(c, ['deployments', 'read'])
      return { status: 200, body: this.deploymentJson(c.repo, this.findDeployment(c)) }
    },

    'repos/create-deployment-status': c => {
      need(c, ['deployments', 'write'])
      const dep = this.findDeployment(c)
      const b = c.body
      const description = typeof b.description === 'string' ? b.description : ''
      if ([...description].length > DEPLOYMENT_STATUS_DESCRIPTION_LIMIT) {
        throw validationFailed(
          'DeploymentStatus',
          'description',
          'custom',
          `description is too long (maximum is ${DEPLOYMENT_STATUS_DESCRIPTION_LIMIT} characters)`
        )
      }
      const list = c.repo.statuses.get(dep.id) ?? []
      const environment =
        typeof b.environment === 'string'
          ? b.environment
          : (list[list.length - 1]?.environment ?? dep.environment)
      const logUrl =
        typeof b.log_url === 'string'
          ? b.log_url
          : typeof b.target_url === 'string'
            ? b.target_url
            : ''
      const now = isoNow()
      const status: DeploymentStatus = {
        id: this.id(),
        node_id: '',
        deployment_id: dep.id,
        state: String(b.state),
        description,
        environment,
        target_url: logUrl,
        log_url: logUrl,
        environment_url: typeof b.environment_url === 'string' ? b.environment_url : '',
        creator: c.user,
        created_at: now,
        updated_at: now
      }
      status.node_id = this.nodeId('DES', status.id)
      list.push(status)
      c.repo.statuses.set(dep.id, list)
      dep.updated_at = now
      if (environment !== dep.environment) dep.environment = environment
      // auto_inactive (default true): earlier successful deployments to the same environment,
      // not transient and not production, get an `inactive` status.
      if (status.state === 'success' && b.auto_inactive !== false) {
        for (const other of c.repo.deployments) {
          if (other.id === dep.id || other.environment !== environment) continue
          if (other.transient_environment || other.production_environment) continue
          const st = c.repo.statuses.get(other.id) ?? []
          if (st.length && st[st.length - 1].state === 'success') {
            const inactive: DeploymentStatus = {
              ...st[st.length - 1],
              id: this.id(),
              state: 'inactive',
              creator: c.user,
              created_at: now,
              updated_at: now
            }
            inactive.node_id = this.nodeId('DES', inactive.id)
            st.push(inactive)
          }
        }
      }
      return { status: 201, body: this.statusJson(c.repo, status) }
    },

    'repos/list-deployment-statuses': c => {
      need(c, ['deployments', 'read'])
      const dep = this.findDeployment(c)
      const list = [...(c.repo.statuses.get(dep.id) ?? [])].reverse()
      return this.page(
        c,
        list.map(x => this.statusJson(c.repo, x))
      )
    },

    // Pull requests of the update action: list by head, create, update (title, body, base), and
    // labels. Strict as GitHub (https://docs.github.com/rest/pulls/pulls#create-a-pull-request):
    // with a `git` seed, head and base must be branches and head must have commits base has not
    // ("No commits between …"); a second open pull request for the same head and base is a 422
    // ("A pull request already exists for …"); a body over 65,536 characters is a 422.
    'pulls/list': c => {
      need(c, ['pull_requests', 'read'])
      const q = c.params
      const state = typeof q.state === 'string' ? q.state : 'open'
      const list = [...c.repo.pulls.values()]
        .filter(pr => state === 'all' || (pr.state ?? 'open') === state)
        .filter(pr => typeof q.base !== 'string' || (pr.base?.ref ?? 'main') === q.base)
        .filter(
          pr =>
            typeof q.head !== 'string' ||
            q.head.toLowerCase() === `${c.repo.owner}:${pr.head?.ref ?? ''}`.toLowerCase()
        )
        .sort((a, b) => b.number - a.number)
      return this.page(
        c,
        list.map(pr => this.pullJson(c.repo, pr, c.d))
      )
    },

    'pulls/create': c => {
      need(c, ['pull_requests', 'write'])
      const head = String(c.body.head)
      const base = String(c.body.base)
      const ref = head.includes(':') ? head.slice(head.indexOf(':') + 1) : head
      checkPullBody(c.body.body)
      const headSha = this.checkBranches(c.repo, ref, base)
      for (const other of c.repo.pulls.values())
        if (
          (other.state ?? 'open') === 'open' &&
          other.head?.ref === ref &&
          (other.base?.ref ?? 'main') === base
        )
          throw validationFailed(
            'PullRequest',
            'head',
            'custom',
            `A pull request already exists for ${c.repo.owner}:${ref}.`
          )
      const number = Math.max(0, ...c.repo.pulls.keys(), ...c.repo.issues) + 1
      const pr: PullRequestSeed = {
        number,
        title: String(c.body.title ?? ''),
        body: typeof c.body.body === 'string' ? c.body.body : undefined,
        state: 'open',
        draft: c.body.draft === true,
        head: { ref, sha: headSha },
        base: { ref: base }
      }
      prUsers.set(pr, c.user)
      c.repo.pulls.set(number, pr)
      c.repo.issues.add(number)
      const json = this.pullJson(c.repo, pr, c.d)
      return { status: 201, body: json, headers: { location: String(json.url) } }
    },

    'pulls/update': c => {
      need(c, ['pull_requests', 'write'])
      const pr = c.repo.pulls.get(Number(c.params.pull_number))
      if (!pr) throw notFound()
      if (c.body.body !== undefined) checkPullBody(c.body.body)
      if (typeof c.body.base === 'string') {
        this.checkBranches(c.repo, pr.head?.ref ?? '', c.body.base)
        pr.base = { ...pr.base, ref: c.body.base }
      }
      if (typeof c.body.title === 'string') pr.title = c.body.title
      if (c.body.body !== undefined)
        pr.body = c.body.body === null ? undefined : String(c.body.body)
      if (c.body.state === 'open' || c.body.state === 'closed') pr.state = c.body.state
      if (c.repo.seed.git && pr.head?.ref) pr.head.sha = this.gitRev(c.repo, pr.head.ref)
      return { status: 200, body: this.pullJson(c.repo, pr, c.d) }
    },

    'issues/add-labels': c => {
      const issue = Number(c.params.issue_number)
      if (c.repo.pulls.has(issue)) need(c, ['issues', 'write'], ['pull_requests', 'write'])
      else need(c, ['issues', 'write'])
      const pr = c.repo.pulls.get(issue)
      if (!pr) throw notFound()
      const raw = Array.isArray(c.body) ? c.body : (c.body?.labels ?? [])
      const names = (raw as Json[]).map(l =>
        typeof l === 'string' ? l : String((l as Record<string, Json>).name)
      )
      pr.labels = [...new Set([...(pr.labels ?? []), ...names])]
      const labels = this.pullJson(c.repo, pr, c.d).labels
      return { status: 200, body: labels }
    },

    'repos/get-deployment-status': c => {
      need(c, ['deployments', 'read'])
      const dep = this.findDeployment(c)
      const st = (c.repo.statuses.get(dep.id) ?? []).find(x => x.id === Number(c.params.status_id))
      if (!st) throw notFound()
      return { status: 200, body: this.statusJson(c.repo, st) }
    }
  }

  private findComment(c: Ctx): Comment {
    const comment = c.repo.comments.find(x => x.id === Number(c.params.comment_id))
    if (!comment) throw notFound()
    return comment
  }

  private findDeployment(c: Ctx): Deployment {
    const dep = c.repo.deployments.find(x => x.id === Number(c.params.deployment_id))
    if (!dep) throw notFound()
    return dep
  }

  /** The commit a branch of the repository's `git` seed points to, or undefined. */
  private gitRev(r: Repo, branch: string): string | undefined {
    try {
      return execFileSync(
        'git',
        ['-C', r.seed.git!, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`],
        { encoding: 'utf8' }
      ).trim()
    } catch {
      return undefined
    }
  }

  /** Head and base must exist and head must be ahead of base (only with a `git` seed). */
  private checkBranches(r: Repo, head: string, base: string): string | undefined {
    if (!r.seed.git) return undefined
    const headSha = this.gitRev(r, head)
    if (!headSha) throw validationFailed('PullRequest', 'head', 'invalid', 'head invalid')
    if (!this.gitRev(r, base))
      throw validationFailed('PullRequest', 'base', 'invalid', 'base invalid')
    const ahead = execFileSync(
      'git',
      ['-C', r.seed.git, 'rev-list', '--count', `refs/heads/${base}..refs/heads/${head}`],
      { encoding: 'utf8' }
    ).trim()
    if (ahead === '0')
      throw validationFailed(
        'PullRequest',
        'head',
        'custom',
        `No commits between ${base} and ${head}`
      )
    return headSha
  }

  /** One page of a list, with GitHub's `Link` header (prev, next, last, first). */
  private page(c: Ctx, all: Json[]): Result {
    const perPage = Math.min(
      100,
      Math.max(1, typeof c.params.per_page === 'number' ? c.params.per_page : 30)
    )
    const pageNo = Math.max(1, typeof c.params.page === 'number' ? c.params.page : 1)
    const last = Math.max(1, Math.ceil(all.length / perPage))
    const items = all.slice((pageNo - 1) * perPage, pageNo * perPage)
    const link = (n: number): string => {
      const u = new URL(c.url.pathname + c.url.search, this.url)
      u.searchParams.set('per_page', String(perPage))
      u.searchParams.set('page', String(n))
      return u.toString()
    }
    const parts: string[] = []
    if (pageNo > 1) parts.push(`<${link(Math.min(pageNo - 1, last))}>; rel="prev"`)
    if (pageNo < last)
      parts.push(`<${link(pageNo + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`)
    if (pageNo > 1) parts.push(`<${link(1)}>; rel="first"`)
    return { status: 200, body: items, headers: parts.length ? { link: parts.join(', ') } : {} }
  }
}

/** Start a GitHub API stand-in (same as `GitHubApi.start`). */
export function startGitHubApi(options: GitHubApiOptions = {}): Promise<GitHubApi> {
  return GitHubApi.start(options)
}

interface Ctx {
  repo: Repo
  params: Record<string, Json>
  body: Record<string, Json>
  user: User
  perms: TokenPermissions
  op: Operation
  url: URL
  d: Description
}

interface Result {
  status: number
  body?: Json
  headers?: Record<string, string>
}

/** Require one of the given permissions (write satisfies read). */
function need(c: Ctx, ...anyOf: [keyof TokenPermissions, Access][]): void {
  for (const [scope, level] of anyOf) {
    const have = c.perms[scope]
    if (have === 'write' || (have === 'read' && level === 'read')) return
  }
  throw new HttpError(
    403,
    { message: 'Resource not accessible by integration' },
    {
      'x-accepted-github-permissions': anyOf.map(([s, l]) => `${s}=${l}`).join('; ')
    }
  )
}

/**
 * Edits and deletions of another account's comment. GitHub lets people with write access to a
 * repository edit and delete others' comments in its interface ("Managing disruptive comments",
 * https://docs.github.com/en/communities/moderating-comments-and-conversations/managing-disruptive-comments),
 * but an integration's token that tries it over the REST API gets 403 "Resource not accessible
 * by integration" (seen in issue 15, and e.g. google/heir#1488 on PATCH
 * /repos/{owner}/{repo}/issues/comments/{comment_id}). The stand-in always answers that 403, the
 * strict reading: the action must never try it, so any attempt shows up as a failure.
 */
function ownComment(c: Ctx, comment: Comment): void {
  if (comment.user.login === c.user.login) return
  throw new HttpError(403, {
    message: 'Resource not accessible by integration',
    documentation_url: 'https://docs.github.com/rest/issues/comments#update-an-issue-comment'
  })
}

function notFound(): HttpError {
  return new HttpError(404, { message: 'Not Found' })
}

function validationFailed(
  resource: string,
  field: string,
  code: string,
  message: string,
  top = 'Validation Failed'
): HttpError {
  return new HttpError(422, { message: top, errors: [{ resource, code, field, message }] })
}

/** Who opened each pull request the stand-in created (seeded ones are by `user`). */
const prUsers = new WeakMap<PullRequestSeed, User>()

/** GitHub's limit on a pull request body: 65,536 characters. */
function checkPullBody(body: Json | undefined): void {
  if (typeof body === 'string' && [...body].length > COMMENT_BODY_LIMIT)
    throw validationFailed(
      'PullRequest',
      'body',
      'custom',
      `body is too long (maximum is ${COMMENT_BODY_LIMIT} characters)`
    )
}

function checkCommentBody(body: string): void {
  // GitHub counts characters (code points), not UTF-16 units or bytes.
  if ([...body].length > COMMENT_BODY_LIMIT) {
    throw validationFailed(
      'IssueComment',
      'data',
      'unprocessable',
      `Body is too long (maximum is ${COMMENT_BODY_LIMIT} characters)`
    )
  }
}

function checkIssueBody(body: string): void {
  // https://docs.github.com/rest/issues/issues#create-an-issue: the body has the comment's limit.
  if ([...body].length > COMMENT_BODY_LIMIT) {
    throw validationFailed(
      'Issue',
      'body',
      'custom',
      `body is too long (maximum is ${COMMENT_BODY_LIMIT} characters)`
    )
  }
}

function fakeSha(ref: string): string {
  return createHash('sha1').update(`ref:${ref}`).digest('hex')
}

/** A query or path string as the parameter's schema type, for validation (strings stay strings). */
function coerce(raw: string, schema: Schema | undefined): Json {
  const type = schema?.type
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw)
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true'
  if (type === 'array') return raw.split(',')
  return raw
}

/** The JSON pointer of a parameter's schema inside the document. */
function findParamPointer(d: Description, op: Operation, p: Parameter): string {
  const item = (d.doc.paths as Record<string, Record<string, Record<string, unknown>>>)[op.route]
  const lists: [unknown[] | undefined, string][] = [
    [
      item[op.method.toLowerCase()].parameters as unknown[] | undefined,
      `#/paths/${escapePointer(op.route)}/${op.method.toLowerCase()}/parameters`
    ],
    [
      item.parameters as unknown as unknown[] | undefined,
      `#/paths/${escapePointer(op.route)}/parameters`
    ]
  ]
  for (const [list, base] of lists) {
    for (let i = 0; i < (list ?? []).length; i++) {
      const entry = list![i] as Record<string, unknown>
      const target = deref<Parameter>(d.doc, entry)
      if (target.name === p.name && target.in === p.in) {
        return typeof entry.$ref === 'string' ? `${entry.$ref}/schema` : `${base}/${i}/schema`
      }
    }
  }
  throw new Error(`parameter ${p.name} not found in ${op.route}`)
}
