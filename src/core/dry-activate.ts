/**
 * dry-activate one host: copy the new system's closure to the host (unless it is there already),
 * run its `switch-to-configuration dry-activate` there, and say what an activation would do: the
 * units it would stop, restart, reload and start, the changed units it would leave alone, whether
 * systemd would be re-executed, and whether the change needs a reboot (the kernel, initrd,
 * kernel modules or the systemd version differ from the running system's).
 *
 * The suite itself changes no profile, no /run/current-system and no unit; but the new system's
 * `switch-to-configuration dry-activate` is that system's own code, run as root (unless the
 * target is another user without sudo), and it can do whatever root can (docs/security.md).
 * Every remote command of the suite is a constant script (or a fixed argv) with its values
 * passed as arguments.
 */
import { BOOT_COMPONENTS, rebootReason, type BootComponent, type RebootReason } from './model.js'
import { isUnitName, parseActivationOutput } from './activation-output.js'
import { packageName } from './closure.js'
import { ActionError, hostError } from './errors.js'
import type { Logger } from './log.js'
import { nixCopy } from './nix.js'
import type { RunResult } from './process.js'
import {
  describeSshError,
  remoteRun,
  remoteScript,
  SSH_CONNECTION_FAILED,
  type Remote,
  type SshSession
} from './ssh.js'
import { formatTarget } from './target.js'
import { RemoteSystem } from './deploy/remote-system.js'

export { BOOT_COMPONENTS, type BootComponent, type RebootReason }

/** The record the action reports (outputs, summary, comment, report file). */
export interface DryActivateReport {
  host: string
  /** `user@host[:port]`. */
  target: string
  /** The system that was dry-activated. */
  storePath: string
  /** What /run/current-system resolves to on the host; null on a host without a system. */
  currentSystem: string | null
  /** The system profile's generation number, when the host has one. */
  currentGeneration: number | null
  /** The new system differs from the running one. */
  changed: boolean
  /** The closure was copied (false: it was on the host already). */
  copied: boolean
  stop: string[]
  restart: string[]
  reload: string[]
  start: string[]
  /** Changed units that would NOT be stopped or restarted (X-RestartIfChanged=false, ...). */
  notStopped: string[]
  /** Units only in the new system (started by their targets; dry-activate does not list them). */
  newUnits: string[]
  /** systemd itself would be re-executed. */
  restartSystemd: boolean
  rebootRequired: boolean
  rebootReasons: RebootReason[]
  /** Other lines dry-activate printed (its activation script's "would ..." lines, warnings). */
  otherOutput: string[]
  durationSeconds: number
}

export interface DryActivateOptions {
  session: SshSession
  remote: Remote
  /** The new system's toplevel, valid in the local store. */
  storePath: string
  logger: Logger
  /** `nix copy --substitute-on-destination` (the host fetches what it can from its caches). Default true. */
  substituteOnTarget?: boolean
  /** How long `switch-to-configuration dry-activate` may run, seconds (default 600). */
  timeoutSeconds?: number
  /** Phases as they start, for progress lines. */
  onPhase?: (phase: DryActivatePhase) => void
}

export type DryActivatePhase = 'probe' | 'copy' | 'dry-activate' | 'compare'

/**
 * Reads what the running and the new system are made of. $1: the new toplevel.
 * Prints `current=<path>`, one `link<TAB>component<TAB>before<TAB>after` line per boot component
 * (each resolved; empty when the system has no such link), and the unit file names of both
 * systems (`old-unit <name>`, `new-unit <name>`).
 */
export const COMPARE_SYSTEMS = `
new=$1
cur=$(readlink -f /run/current-system 2>/dev/null || true)
[ -n "$cur" ] && [ -e "$cur" ] || cur=
printf 'current=%s\\n' "$cur"
for c in kernel initrd kernel-modules systemd; do
  o=; n=
  if [ -n "$cur" ] && [ -e "$cur/$c" ]; then o=$(readlink -f "$cur/$c" 2>/dev/null || true); fi
  if [ -e "$new/$c" ]; then n=$(readlink -f "$new/$c" 2>/dev/null || true); fi
  printf 'link\\t%s\\t%s\\t%s\\n' "$c" "$o" "$n"
done
if [ -n "$cur" ] && [ -d "$cur/etc/systemd/system" ]; then
  for f in "$cur"/etc/systemd/system/*; do [ -e "$f" ] && printf 'old-unit %s\\n' "\${f##*/}"; done
fi
if [ -d "$new/etc/systemd/system" ]; then
  for f in "$new"/etc/systemd/system/*; do [ -e "$f" ] && printf 'new-unit %s\\n' "\${f##*/}"; done
fi
exit 0
`

export interface SystemComparison {
  current: string | null
  links: Map<BootComponent, { before: string | null; after: string | null }>
  oldUnits: string[]
  newUnits: string[]
}

/** Parses what COMPARE_SYSTEMS prints. Lines it does not know are ignored. */
export function parseComparison(stdout: string): SystemComparison {
  const out: SystemComparison = { current: null, links: new Map(), oldUnits: [], newUnits: [] }
  for (const line of stdout.split('\n')) {
    if (line.startsWith('current=')) out.current = line.slice('current='.length).trim() || null
    else if (line.startsWith('link\t')) {
      const [, component, before = '', after = ''] = line.split('\t')
      if ((BOOT_COMPONENTS as readonly string[]).includes(component)) {
        out.links.set(component as BootComponent, {
          before: before.trim() || null,
          after: after.trim() || null
        })
      }
    } else if (line.startsWith('old-unit ')) {
      const u = line.slice('old-unit '.length).trim()
      if (isUnitName(u)) out.oldUnits.push(u)
    } else if (line.startsWith('new-unit ')) {
      const u = line.slice('new-unit '.length).trim()
      if (isUnitName(u)) out.newUnits.push(u)
    }
  }
  return out
}

/** `/nix/store/<hash>-linux-6.6.40/bzImage` → `/nix/store/<hash>-linux-6.6.40`. */
function storePathOf(p: string): string {
  const m = /^(.*?\/[0-9a-z]{32}-[^/]+)/.exec(p)
  return m ? m[1] : p
}

function versionOf(p: string | null): string {
  return p ? packageName(storePathOf(p)).version : ''
}

/**
 * Why activating the new system is not enough: a different kernel, initrd or set of kernel
 * modules takes a reboot; so does a different systemd version (a rebuild of the same version is
 * re-executed in place, as `would restart systemd` says). Nothing when the host runs no system.
 */
export function rebootReasons(cmp: SystemComparison): RebootReason[] {
  if (!cmp.current) return []
  const reasons: RebootReason[] = []
  for (const component of BOOT_COMPONENTS) {
    const link = cmp.links.get(component)
    if (!link || link.before === link.after) continue
    const reason = rebootReason(component, {
      before: link.before ?? undefined,
      after: link.after ?? undefined,
      beforeVersion: versionOf(link.before),
      afterVersion: versionOf(link.after)
    })
    // Rebuilt at the same version, systemd re-executes itself (`would restart systemd`): no reboot.
    if (reason) reasons.push(reason)
  }
  return reasons
}

function failure(host: string, phase: string, why: string, detail?: string): ActionError {
  return hostError({ host, phase, detail }, why)
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .map(l => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  ).slice(0, 300)
}

/** Why a remote command failed, one clause (connection, timeout or exit code with its last line). */
function whyFailed(r: RunResult, what: string, timeoutMs: number): string {
  if (r.timedOut) return `${what} timed out after ${Math.round(timeoutMs / 1000)} s`
  if (r.exitCode === SSH_CONNECTION_FAILED)
    return `could not connect: ${describeSshError(r.stderr)}`
  const last = lastLine(r.stderr) || lastLine(r.stdout)
  return `${what} exited with code ${r.exitCode ?? r.signal}${last ? `: ${last}` : ''}`
}

/** Copies the closure if needed, dry-activates it on the host and compares the boot components. */
export async function dryActivate(opts: DryActivateOptions): Promise<DryActivateReport> {
  const started = Date.now()
  const { session, remote, storePath, logger: log } = opts
  const host = remote.host
  const system = new RemoteSystem(session, remote, log)

  // 1. What runs there, and whether the new system is there already. First contact: a wrong
  //    host key or a refused key stops everything here, before anything is copied.
  opts.onPhase?.('probe')
  const probe = await system.probe(storePath, 'probe')
  log.info(
    `${host} runs ${probe.current ?? 'no system yet'}${probe.generation !== null ? ` (generation ${probe.generation})` : ''}.`
  )

  // 2. The closure.
  let copied = false
  if (!probe.hasWanted) {
    opts.onPhase?.('copy')
    const store = session.nixStore(remote)
    try {
      await nixCopy([storePath], {
        to: store.uri,
        env: store.env,
        noCheckSigs: true,
        substituteOnDestination: opts.substituteOnTarget ?? true,
        logger: log,
        phase: 'copy',
        what: 'copying the closure',
        onStderrLine: line => log.debug(line)
      })
    } catch (err) {
      if (!(err instanceof ActionError)) throw err
      throw failure(host, 'copy', err.message, err.detail)
    }
    copied = true
    log.info(`Copied the closure of ${storePath} to ${host}.`)
  } else {
    log.info(`${host} has ${storePath} already: nothing to copy.`)
  }

  // 3. dry-activate. switch-to-configuration prints its report on stderr; a dry-activate script
  //    of the system may print on stdout. Both are read.
  opts.onPhase?.('dry-activate')
  const timeoutMs = (opts.timeoutSeconds ?? 600) * 1000
  const r = await remoteRun(
    session,
    remote,
    [`${storePath}/bin/switch-to-configuration`, 'dry-activate'],
    {
      timeoutMs,
      privileged: true,
      check: false,
      phase: 'dry-activate',
      what: 'switch-to-configuration dry-activate',
      logger: log
    }
  )
  if (r.exitCode !== 0 || r.timedOut) {
    throw failure(
      host,
      'dry-activate',
      whyFailed(r, 'switch-to-configuration dry-activate', timeoutMs),
      [r.stdout, r.stderr].join('\n').trim().split('\n').slice(-30).join('\n')
    )
  }
  const activation = parseActivationOutput(`${r.stderr}\n${r.stdout}`)

  // 4. What the two systems are made of: boot components and unit files.
  opts.onPhase?.('compare')
  const c = await remoteScript(session, remote, COMPARE_SYSTEMS, [storePath], {
    timeoutMs: 60_000,
    privileged: false,
    check: false,
    phase: 'compare',
    what: 'comparing the systems',
    logger: log
  })
  if (c.exitCode !== 0 || c.timedOut)
    throw failure(host, 'compare', whyFailed(c, 'comparing the running and the new system', 60_000))
  const cmp = parseComparison(c.stdout)
  const current = cmp.current ?? probe.current
  const old = new Set(cmp.oldUnits)
  const listed = new Set([...activation.start, ...activation.restart, ...activation.reload])
  // Without a running system every unit is new; dry-activate's own lists say nothing then.
  const newUnits = current ? cmp.newUnits.filter(u => !old.has(u) && !listed.has(u)).sort() : []
  const reasons = rebootReasons({ ...cmp, current })

  return {
    host,
    target: formatTarget(remote.target),
    storePath,
    currentSystem: current,
    currentGeneration: probe.generation,
    changed: current !== storePath,
    copied,
    stop: activation.stop,
    restart: activation.restart,
    reload: activation.reload,
    start: activation.start,
    notStopped: activation.notStopped,
    newUnits,
    restartSystemd: activation.restartSystemd,
    rebootRequired: reasons.length > 0,
    rebootReasons: reasons,
    otherOutput: activation.lines,
    durationSeconds: (Date.now() - started) / 1000
  }
}
