/**
 * What `switch-to-configuration` prints (on stderr), as data.
 *
 * Wording from both implementations in nixpkgs: the Perl one
 * (nixos/modules/system/activation/switch-to-configuration.pl, all its eras) and the Rust
 * switch-to-configuration-ng (pkgs/by-name/sw/switch-to-configuration-ng/src/src/main.rs). Each list
 * is one line, `<prefix>: a.service, b.socket`, sorted by the tool. Lines we know:
 *
 *   dry-activate                                         switch / test
 *   would stop the following units[ as well]: …          stopping the following units[ as well]: …
 *   would NOT stop the following changed units: …        NOT restarting the following changed units[ as well]: …
 *   would NOT restart the following changed units as well: …
 *   would activate the configuration...                  activating the configuration...
 *   would restart systemd                                restarting systemd...
 *   would reload the following units: …                  reloading the following units: …
 *   would restart the following units: …                 restarting the following units: …
 *   would start the following units: …                   starting the following units: …
 *                                                        the following new units were started: …
 *                                                        warning: the following units failed: …
 *                                                        warning: the following user units failed: …
 *                                                        warning: user activation for <user> failed
 *
 * The last two come from switch-to-configuration-ng, which restarts each logged-in user's units
 * (`reloading user units for <user>...`) and exits 4 when that fails.
 *
 * Everything else (activation script output, `systemctl status` of failed units, user units,
 * swap devices) is kept in `lines` for display. The parser is total: any text gives a report.
 */
import { stripAnsi } from './inputs.js'

export interface ActivationReport {
  /** Units stopped (or that would be), including "as well" lists. */
  stop: string[]
  restart: string[]
  reload: string[]
  start: string[]
  /** dry-activate: changed units that would NOT be stopped or restarted (X-RestartIfChanged=false …). */
  notStopped: string[]
  /** switch: changed units that were NOT restarted. */
  skipped: string[]
  /** switch: units that were not running before and are now. */
  newlyStarted: string[]
  /** switch: units that failed (the activation then exits with status 4). */
  failed: string[]
  /** switch (switch-to-configuration-ng): user units that failed (exit status 4). */
  failedUserUnits: string[]
  /** switch (switch-to-configuration-ng): users whose user activation failed (exit status 4). */
  failedUsers: string[]
  /** systemd itself is (or would be) re-executed. */
  restartSystemd: boolean
  /** Lines not recognised above (trimmed, non-empty, colour codes removed), in order. */
  lines: string[]
}

type ListField =
  | 'stop'
  | 'restart'
  | 'reload'
  | 'start'
  | 'notStopped'
  | 'skipped'
  | 'newlyStarted'
  | 'failed'
  | 'failedUserUnits'

/** List lines: the prefix (before `: `) and where its units go. */
const LISTS: ReadonlyArray<[RegExp, ListField]> = [
  [/^would stop the following units(?: as well)?:/, 'stop'],
  [/^would NOT stop the following changed units(?: as well)?:/, 'notStopped'],
  [/^would NOT restart the following changed units(?: as well)?:/, 'notStopped'],
  [/^would reload the following units:/, 'reload'],
  [/^would restart the following units:/, 'restart'],
  [/^would start the following units:/, 'start'],
  [/^stopping the following units(?: as well)?:/, 'stop'],
  [/^NOT restarting the following changed units(?: as well)?:/, 'skipped'],
  [/^reloading the following units:/, 'reload'],
  [/^restarting the following units:/, 'restart'],
  [/^starting the following units:/, 'start'],
  [/^the following new units were started:/, 'newlyStarted'],
  [/^warning: the following units failed:/, 'failed'],
  [/^warning: the following user units failed:/, 'failedUserUnits']
]

/** `warning: user activation for <user> failed` (a user name: no spaces, no colon). */
const USER_ACTIVATION_FAILED = /^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/

/** Lines that carry no data beyond "this step happened". */
const MARKERS = [/^would activate the configuration\.\.\.$/, /^activating the configuration\.\.\.$/]
const RESTART_SYSTEMD = [/^would restart systemd$/, /^restarting systemd\.\.\.$/]

const UNIT_TYPES = 'service|socket|target|timer|mount|path|slice|scope|swap|automount|device'
/** A systemd unit name (escaped names such as `dev-disk-by\x2dlabel-root.device` included). */
const UNIT = new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${UNIT_TYPES})$`)

/** Whether `name` looks like a systemd unit name. */
export function isUnitName(name: string): boolean {
  return name.length <= 256 && UNIT.test(name)
}

export function parseActivationOutput(text: string): ActivationReport {
  const sets: Record<ListField, Set<string>> = {
    stop: new Set(),
    restart: new Set(),
    reload: new Set(),
    start: new Set(),
    notStopped: new Set(),
    skipped: new Set(),
    newlyStarted: new Set(),
    failed: new Set(),
    failedUserUnits: new Set()
  }
  const failedUsers = new Set<string>()
  let restartSystemd = false
  const lines: string[] = []

  const raw = stripAnsi(String(text ?? '')).split(/\r?\n|\r/)
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i].trim()
    if (line === '') continue
    if (MARKERS.some(re => re.test(line))) continue
    if (RESTART_SYSTEMD.some(re => re.test(line))) {
      restartSystemd = true
      continue
    }
    const user = USER_ACTIVATION_FAILED.exec(line)
    if (user) {
      failedUsers.add(user[1])
      continue
    }
    const list = LISTS.find(([re]) => re.test(line))
    if (!list) {
      lines.push(line)
      continue
    }
    const [re, field] = list
    let items = line.replace(re, '')
    // A list cut over several lines (a wrapping terminal or log) ends its line with a comma.
    while (items.trim().endsWith(',') && i + 1 < raw.length && raw[i + 1].trim() !== '') {
      i++
      items += ' ' + raw[i].trim()
    }
    let odd = false
    for (const piece of items.split(',')) {
      const item = piece.trim()
      if (item === '') continue
      if (isUnitName(item)) sets[field].add(item)
      else odd = true
    }
    // Keep a list line with anything that is not a unit name, so nothing is silently lost.
    if (odd) lines.push(line)
  }

  const sorted = (s: Set<string>) => [...s].sort()
  return {
    stop: sorted(sets.stop),
    restart: sorted(sets.restart),
    reload: sorted(sets.reload),
    start: sorted(sets.start),
    notStopped: sorted(sets.notStopped),
    skipped: sorted(sets.skipped),
    newlyStarted: sorted(sets.newlyStarted),
    failed: sorted(sets.failed),
    failedUserUnits: sorted(sets.failedUserUnits),
    failedUsers: sorted(failedUsers),
    restartSystemd,
    lines
  }
}

/**
 * Why switch-to-configuration exited 4, in a few words: the units, user units and users that
 * failed, or "see the log" when it named none.
 */
export function exit4Reason(a: ActivationReport): string {
  const parts: string[] = []
  if (a.failed.length) parts.push(`units failed: ${a.failed.join(', ')}`)
  if (a.failedUserUnits.length) parts.push(`user units failed: ${a.failedUserUnits.join(', ')}`)
  if (a.failedUsers.length) parts.push(`user activation failed for ${a.failedUsers.join(', ')}`)
  return parts.length ? parts.join('; ') : 'units failed: see the log'
}
