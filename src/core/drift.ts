/**
 * Drift: does each host run what it should? For one host, given the system it should run (the
 * expected toplevel, found by the command layer from a deployment record or the flake), reads
 * over the host's one SSH connection what it runs (/run/current-system) and what it booted
 * (/run/booted-system), and classifies it:
 * - `in-sync`: it runs the expected system, and booting again would change nothing;
 * - `drifted`: it runs another system (or none); with a closure diff expected → running when both
 *   closures can be read (each from the runner's store when it is there, else from the host's
 *   own store over the same connection: metadata only, nothing is copied);
 * - `reboot-pending`: it runs the expected system, but booted one with another kernel, initrd or
 *   kernel modules (NixOS keeps running the booted kernel until a reboot). A booted system that
 *   differs only in what a switch changes is not pending: every host switched since its last boot
 *   has one;
 * - `unreachable`: SSH failed; the reason in one sentence.
 * Knows nothing of GitHub: the renderings here are the summary, the issue body and the terminal's.
 */
import { closureFrom, compareSystems, type Side } from './build.js'
import type { ClosureDiff } from './diff.js'
import { ActionError, describeError } from './errors.js'
import type { Logger } from './log.js'
import { escapeMarkdown, hiddenMarker, inlineCode, table } from './markdown.js'
import { nixPathsValid } from './nix.js'
import { plural } from './format.js'
import { RemoteSystem, type BootParts, type HostSystems } from './deploy/remote-system.js'
import type { Remote, SshSession } from './ssh.js'

export type DriftState = 'in-sync' | 'drifted' | 'reboot-pending' | 'unreachable'
export const DRIFT_STATES: readonly DriftState[] = [
  'drifted',
  'reboot-pending',
  'unreachable',
  'in-sync'
]

/** Where a host's expected system came from. */
export type ExpectedFrom = 'deployment' | 'flake'

export interface Expectation {
  storePath: string
  from: ExpectedFrom
  /** For `deployment`: the record's id, commit and time. */
  deployment?: { id: number; sha: string; createdAt: string }
}

export interface DriftResult {
  host: string
  state: DriftState
  expected: string | null
  running: string | null
  booted: string | null
  expectedFrom: ExpectedFrom | null
  deployment?: Expectation['deployment']
  /** One clause: why the host is not in sync (or what is worth knowing when it is). */
  reason?: string
  /** drifted: the closure diff expected → running, when both closures could be read. */
  diff?: ClosureDiff
  /** drifted without a diff: why not. */
  diffNote?: string
}

/** The record of one host in the `results` output (and the report file). */
export function driftRecord(r: DriftResult): Record<string, unknown> {
  return {
    host: r.host,
    state: r.state,
    expected: r.expected,
    running: r.running,
    booted: r.booted,
    'expected-from': r.expectedFrom,
    ...(r.deployment ? { deployment: r.deployment } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.diff ? { 'diff-summary': r.diff.summary } : {}),
    ...(r.diffNote ? { 'diff-note': r.diffNote } : {})
  }
}

function sameBoot(a: BootParts, b: BootParts): boolean {
  return a.kernel === b.kernel && a.initrd === b.initrd && a.modules === b.modules
}

/** The state of a host from what it runs and booted (pure: the rules in the header). */
export function classify(
  expected: string,
  systems: HostSystems
): { state: Exclude<DriftState, 'unreachable'>; reason?: string } {
  const { current, booted } = systems
  if (!current)
    return {
      state: 'drifted',
      reason: 'it runs no NixOS system (/run/current-system is missing)'
    }
  if (current !== expected) return { state: 'drifted' }
  if (!booted || booted === current) return { state: 'in-sync' }
  const parts = systems.currentBoot
  const knowParts = parts.kernel !== null || parts.initrd !== null || parts.modules !== null
  if (knowParts && sameBoot(parts, systems.bootedBoot)) return { state: 'in-sync' }
  const what: string[] = []
  if (systems.bootedBoot.kernel !== parts.kernel) what.push('kernel')
  if (systems.bootedBoot.initrd !== parts.initrd) what.push('initrd')
  if (systems.bootedBoot.modules !== parts.modules) what.push('kernel modules')
  return {
    state: 'reboot-pending',
    reason: `it booted ${booted}${what.length ? `, whose ${what.join(', ')} differ` : ''}; a reboot would start the expected one's`
  }
}

export interface CheckHostOptions {
  session: SshSession
  remote: Remote
  expected: Expectation
  logger?: Logger
  /** Compute a closure diff for a drifted host (default true). */
  diff?: boolean
}

/** One host's drift: one SSH connection, a read-only script, a closure diff when drifted. */
export async function checkHost(opts: CheckHostOptions): Promise<DriftResult> {
  const { session, remote, expected } = opts
  const base: DriftResult = {
    host: remote.host,
    state: 'unreachable',
    expected: expected.storePath,
    running: null,
    booted: null,
    expectedFrom: expected.from,
    ...(expected.deployment ? { deployment: expected.deployment } : {})
  }
  const system = new RemoteSystem(session, remote, opts.logger)
  let systems: HostSystems
  try {
    await system.connect('connect', 'connecting')
    systems = await system.systems('read')
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    return { ...base, reason: err.reason ?? err.message }
  }
  const result: DriftResult = {
    ...base,
    running: systems.current,
    booted: systems.booted,
    ...classify(expected.storePath, systems)
  }
  if (result.state === 'drifted' && systems.current && opts.diff !== false) {
    try {
      result.diff = await driftDiff(session, remote, expected.storePath, systems.current, opts)
    } catch (err) {
      result.diffNote = err instanceof ActionError ? err.message : describeError(err)
    }
  }
  return result
}

/**
 * The closure diff expected → running. Each closure is read from the runner's store when the path
 * is valid there, else from the host's store (`nix path-info --store ssh-ng://…` through the
 * host's connection: metadata only). A path in neither is a clear error (caught by the caller).
 */
async function driftDiff(
  session: SshSession,
  remote: Remote,
  expected: string,
  running: string,
  opts: { logger?: Logger }
): Promise<ClosureDiff> {
  const local = await nixPathsValid([expected, running], { logger: opts.logger })
  const store = session.nixStore(remote)
  const side = async (path: string, description: string): Promise<Side> => {
    if (local.get(path)) return { path, description, closure: await closureFrom(path, opts) }
    try {
      const closure = await closureFrom(path, {
        logger: opts.logger,
        host: remote.host,
        storeUrl: store.uri,
        env: store.env
      })
      return { path, description, closure }
    } catch (err) {
      opts.logger?.debug(`${remote.host}: ${describeError(err)}`)
      throw new ActionError(
        `no closure diff: the ${description} system is in neither this runner's store nor the host's`,
        { host: remote.host, phase: 'diff', cause: err }
      )
    }
  }
  const before = await side(expected, 'expected')
  const after = await side(running, 'running')
  return compareSystems(before, after, remote.host)
}

// ---------------------------------------------------------------------------------------------
// Renderings

export interface DriftReport {
  results: DriftResult[]
  /** `deployed` (records of `environment`) or `flake`. */
  expected: 'deployed' | 'flake'
  environment?: string
}

export function driftedHosts(results: readonly DriftResult[]): string[] {
  return results.filter(r => r.state === 'drifted').map(r => r.host)
}

/** `1 of 3 hosts drifted, 1 reboot-pending, 1 unreachable` / `all 3 hosts in sync`. */
export function driftSummaryLine(results: readonly DriftResult[]): string {
  const count = (s: DriftState) => results.filter(r => r.state === s).length
  if (count('in-sync') === results.length)
    return results.length === 1 ? 'the host is in sync' : `all ${results.length} hosts in sync`
  const parts = [`${count('drifted')} of ${plural(results.length, 'host')} drifted`]
  if (count('reboot-pending')) parts.push(`${count('reboot-pending')} reboot-pending`)
  if (count('unreachable')) parts.push(`${count('unreachable')} unreachable`)
  return parts.join(', ')
}

function expectedLabel(r: DriftResult): string {
  if (r.expectedFrom === 'deployment')
    return `last successful deployment${r.deployment ? ` (${r.deployment.sha.slice(0, 7)})` : ''}`
  return r.expectedFrom === 'flake' ? 'the flake now' : ''
}

const ICON: Record<DriftState, string> = {
  'in-sync': '✅',
  drifted: '❌',
  'reboot-pending': '🔄',
  unreachable: '⚠️'
}

function pathCell(p: string | null): string {
  return p ? inlineCode(p, { inTable: true }) : '—'
}

/** The table of hosts and states. */
export function driftTable(results: readonly DriftResult[]): string {
  const order = (r: DriftResult) => DRIFT_STATES.indexOf(r.state)
  const rows = [...results]
    .sort((a, b) => order(a) - order(b) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .map(r => [
      escapeMarkdown(r.host),
      `${ICON[r.state]} ${r.state}`,
      pathCell(r.expected) + (r.expectedFrom ? `<br>${escapeMarkdown(expectedLabel(r))}` : ''),
      pathCell(r.running),
      pathCell(r.booted),
      escapeMarkdown(
        [r.reason, r.diff ? `diff: ${r.diff.summary}` : '', r.diffNote].filter(Boolean).join('; ')
      )
    ])
  return table(['Host', 'State', 'Expected', 'Running', 'Booted', 'Why'], rows)
}

function reportIntro(report: DriftReport): string {
  return report.expected === 'deployed'
    ? `Expected: each host's last successful deployment in environment ${inlineCode(report.environment ?? '')} (a host without one: its toplevel as the flake evaluates now).`
    : 'Expected: each host’s toplevel as the flake evaluates now.'
}

/** The job summary. */
export function renderDriftMarkdown(report: DriftReport): string {
  const lines = [
    `## Drift: ${escapeMarkdown(driftSummaryLine(report.results))}`,
    '',
    reportIntro(report),
    '',
    driftTable(report.results)
  ]
  for (const r of report.results) {
    if (!r.diff) continue
    lines.push(
      '',
      `### ${escapeMarkdown(r.host)}: expected → running`,
      '',
      escapeMarkdown(r.diff.summary)
    )
    const changed = r.diff.packages.filter(p => p.kind !== 'size-only').slice(0, 50)
    if (changed.length)
      lines.push(
        '',
        table(
          ['Package', 'Change', 'Expected', 'Running'],
          changed.map(p => [
            escapeMarkdown(p.name),
            p.kind,
            escapeMarkdown(p.before.versions.join(', ') || '—'),
            escapeMarkdown(p.after.versions.join(', ') || '—')
          ])
        )
      )
  }
  return lines.join('\n') + '\n'
}

/** The hidden marker that finds the drift issue (with the environment, one issue per environment). */
export function driftIssueMarker(report: Pick<DriftReport, 'expected' | 'environment'>): string {
  return hiddenMarker(
    `nix-deploy-drift ${report.expected === 'deployed' ? `environment=${report.environment ?? ''}` : 'flake'}`
  )
}

export function driftIssueTitle(drifted: number): string {
  return drifted === 1
    ? 'Drift: 1 host does not run what it should'
    : `Drift: ${drifted} hosts do not run what they should`
}

/** The issue's body: the marker, the drifted hosts, and the others worth knowing about. */
export function renderDriftIssue(report: DriftReport, runUrl?: string): string {
  const drifted = report.results.filter(r => r.state === 'drifted')
  const lines = [
    driftIssueMarker(report),
    drifted.length
      ? `${plural(drifted.length, 'host')} ${drifted.length === 1 ? 'does' : 'do'} not run what ${drifted.length === 1 ? 'it' : 'they'} should. ${reportIntro(report)}`
      : `No host is known to drift, but not every host answered. ${reportIntro(report)}`,
    ''
  ]
  for (const r of drifted) {
    lines.push(
      `- **${escapeMarkdown(r.host)}** runs ${r.running ? inlineCode(r.running) : 'no NixOS system'}; expected ${inlineCode(r.expected ?? '')}${r.diff ? ` (${escapeMarkdown(r.diff.summary)})` : ''}`
    )
  }
  const others = report.results.filter(
    r => r.state === 'reboot-pending' || r.state === 'unreachable'
  )
  if (others.length) {
    lines.push('', 'Also:')
    for (const r of others)
      lines.push(
        `- ${escapeMarkdown(r.host)}: ${r.state}${r.reason ? ` (${escapeMarkdown(r.reason)})` : ''}`
      )
  }
  lines.push(
    '',
    `Updated ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}${runUrl ? ` by [this run](${runUrl})` : ''}. This issue is kept by the drift action: it is updated in place and closed when no host drifts.`
  )
  return lines.join('\n') + '\n'
}

/** The terminal's text. */
export function renderDriftText(report: DriftReport): string {
  const lines = [`drift: ${driftSummaryLine(report.results)}`]
  for (const r of report.results) {
    lines.push(`${r.host}: ${r.state}`)
    lines.push(`  expected: ${r.expected ?? '-'}${r.expectedFrom ? ` (${expectedLabel(r)})` : ''}`)
    lines.push(`  running:  ${r.running ?? '-'}`)
    lines.push(`  booted:   ${r.booted ?? '-'}`)
    if (r.reason) lines.push(`  why:      ${r.reason}`)
    if (r.diff) lines.push(`  diff:     ${r.diff.summary}`)
    if (r.diffNote) lines.push(`  diff:     ${r.diffNote}`)
  }
  return lines.join('\n') + '\n'
}
