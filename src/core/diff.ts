/**
 * The closure diff record: what changes between two closures (two builds of a NixOS system, or
 * any two store paths), package by package, as reviewers want to read it. Packages are grouped
 * the way `nix store diff-closures` groups them (see `packageName`), versions are ordered like
 * `builtins.compareVersions`, and everything is sorted so that the same inputs give the same
 * record, byte for byte.
 */
import { BOOT_COMPONENTS, rebootReason, type BootComponent, type RebootReason } from './model.js'
import { packageName, storePathName, type PackageName, type PathInfo } from './closure.js'

// ---------------------------------------------------------------------------------------------
// Versions

/** The next version component from `i`: a run of digits, or of anything but digits, `.` and `-`. */
function nextComponent(s: string, i: number): [string, number] {
  while (i < s.length && (s[i] === '.' || s[i] === '-')) i++
  if (i >= s.length) return ['', i]
  const start = i
  if (isDigit(s.charCodeAt(i))) {
    while (i < s.length && isDigit(s.charCodeAt(i))) i++
  } else {
    while (i < s.length && !isDigit(s.charCodeAt(i)) && s[i] !== '.' && s[i] !== '-') i++
  }
  return [s.slice(start, i), i]
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

const INT_MAX = 2147483647

/** Nix reads a component as a number only when it fits an `int`; longer runs of digits compare as strings. */
function asInt(c: string): number | undefined {
  if (c === '' || !isDigit(c.charCodeAt(0))) return undefined
  const n = Number(c)
  return n <= INT_MAX ? n : undefined
}

/** Byte-wise string order (`std::string` comparison), not locale order. */
function byteLess(a: string, b: string): boolean {
  return a < b // store path names are ASCII, where UTF-16 order is byte order
}

function componentsLess(c1: string, c2: string): boolean {
  const n1 = asInt(c1)
  const n2 = asInt(c2)
  if (n1 !== undefined && n2 !== undefined) return n1 < n2
  if (c1 === '' && n2 !== undefined) return true
  if (c1 === 'pre' && c2 !== 'pre') return true
  if (c2 === 'pre') return false
  // Nix assumes `2.3a` < `2.3.1`: a number beats a word.
  if (n2 !== undefined) return true
  if (n1 !== undefined) return false
  return byteLess(c1, c2)
}

/**
 * Orders two versions exactly like `builtins.compareVersions` (Nix's `compareVersions` in
 * `names.cc`): split into components at `.` and `-` and between digits and non-digits; numbers
 * compare numerically, `pre` is below everything, a missing component is below a number, a
 * word is below a number, words compare byte-wise. Returns -1, 0 or 1.
 */
export function compareVersions(v1: string, v2: string): -1 | 0 | 1 {
  let i1 = 0
  let i2 = 0
  while (i1 < v1.length || i2 < v2.length) {
    const [c1, n1] = nextComponent(v1, i1)
    const [c2, n2] = nextComponent(v2, i2)
    i1 = n1
    i2 = n2
    if (componentsLess(c1, c2)) return -1
    if (componentsLess(c2, c1)) return 1
  }
  return 0
}

/** Sorts versions by `compareVersions`, ties (`1.0` and `1.00`) byte-wise: a total, stable order. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].sort((a, b) => compareVersions(a, b) || (a < b ? -1 : a > b ? 1 : 0))
}

// ---------------------------------------------------------------------------------------------
// Sizes

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/**
 * Bytes in binary units, one decimal above bytes: `512 B`, `4.2 MiB`, `1.0 GiB`. With `signed`,
 * an ASCII sign is always written for a non-zero value (`+4.2 MiB`, `-512 B`, `0 B`).
 */
export function formatBytes(bytes: number, opts: { signed?: boolean } = {}): string {
  const sign = opts.signed ? (bytes > 0 ? '+' : bytes < 0 ? '-' : '') : bytes < 0 ? '-' : ''
  let value = Math.abs(bytes)
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  // 1023.96 KiB would print as "1024.0 KiB": move up a unit instead.
  if (unit > 0 && Number(value.toFixed(1)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  const number = unit === 0 ? String(Math.round(value)) : value.toFixed(1)
  return `${sign}${number} ${UNITS[unit]}`
}

// ---------------------------------------------------------------------------------------------
// The record

/**
 * - `added`: the package is only in the after closure; `removed`: only in the before closure.
 * - `upgraded`/`downgraded`: in both, and every version that appears is above (below) every
 *   version that disappears.
 * - `changed`: in both, versions appear or disappear but not in one direction (several versions,
 *   a version only added or only removed next to one that stays, or versions Nix orders equal).
 * - `size-only`: the same versions on both sides, different total NAR size (a rebuild).
 */
export type ChangeKind = 'added' | 'removed' | 'upgraded' | 'downgraded' | 'changed' | 'size-only'

export interface PackageSide {
  /** Versions present, in `compareVersions` order (`''` for a path without a version). */
  versions: string[]
  /** Summed NAR size of the package's store paths on this side, bytes. */
  bytes: number
  /** Number of store paths (outputs, and several versions). */
  paths: number
}

export interface PackageChange {
  name: string
  kind: ChangeKind
  /** In the system's `sw` (`environment.systemPackages`) on either side, rather than a dependency. */
  selected: boolean
  before: PackageSide
  after: PackageSide
  /** Versions only after, only before (each in version order). */
  addedVersions: string[]
  removedVersions: string[]
  /** after.bytes - before.bytes */
  bytesDelta: number
}

/** The reboot record and its components live in model.ts (shared with dry-activate). */
export type { BootComponent as RebootComponent, RebootReason } from './model.js'

export interface ClosureTotals {
  paths: number
  bytes: number
}

export interface ClosureDiff {
  host?: string
  beforePath: string
  afterPath: string
  /** The two store paths differ (a change may still have no package-level difference). */
  changed: boolean
  /** Every package that changed, sorted by name (byte order; names are unique). */
  packages: PackageChange[]
  /** A selection (`selected` option) was given: `selected` flags mean something. */
  hasSelection: boolean
  totals: {
    before: ClosureTotals
    after: ClosureTotals
    pathsDelta: number
    bytesDelta: number
    /** Store paths only in after / only in before (includes rebuilt paths of unchanged packages). */
    pathsAdded: number
    pathsRemoved: number
  }
  counts: Record<ChangeKind, number>
  rebootRequired: boolean
  rebootReasons: RebootReason[]
  /** One line, see `summarize`. */
  summary: string
}

export interface DiffOptions {
  beforePath: string
  afterPath: string
  host?: string
  /**
   * Store paths the system selected (the references of its `system-path`, see
   * `selectedPackages`), before and after; packages with a path in either are `selected`.
   */
  selected?: { before: Set<string>; after: Set<string> }
}

interface Group {
  versions: Set<string>
  bytes: number
  paths: number
}

/** Each store path once, with its NAR size (a path listed twice counts once). */
function uniquePaths(closure: readonly PathInfo[]): Map<string, number> {
  const sizes = new Map<string, number>()
  for (const info of closure) if (!sizes.has(info.path)) sizes.set(info.path, info.narSize)
  return sizes
}

/**
 * Groups a closure's paths by package. `names` remembers each path's package across calls: the
 * two closures of a diff share most of their paths, and each is parsed once.
 */
function groupClosure(
  sizes: Map<string, number>,
  names: Map<string, PackageName>
): Map<string, Group> {
  const groups = new Map<string, Group>()
  for (const [path, narSize] of sizes) {
    let parsed = names.get(path)
    if (parsed === undefined) {
      parsed = packageName(path)
      names.set(path, parsed)
    }
    const { name, version } = parsed
    const g = groups.get(name)
    if (g) {
      g.versions.add(version)
      g.bytes += narSize
      g.paths += 1
    } else {
      groups.set(name, { versions: new Set([version]), bytes: narSize, paths: 1 })
    }
  }
  return groups
}

/** The common case, checked without allocating: the same single version and size on both sides. */
function unchanged(gb: Group | undefined, ga: Group | undefined): boolean {
  if (!gb || !ga || gb.bytes !== ga.bytes || gb.versions.size !== ga.versions.size) return false
  for (const v of gb.versions) if (!ga.versions.has(v)) return false
  return true
}

function classify(
  before: Group | undefined,
  after: Group | undefined,
  added: string[],
  removed: string[]
): ChangeKind | undefined {
  if (!before) return 'added'
  if (!after) return 'removed'
  if (added.length === 0 && removed.length === 0)
    return after.bytes !== before.bytes ? 'size-only' : undefined
  if (added.length === 0 || removed.length === 0) return 'changed'
  const allAbove = added.every(a => removed.every(r => compareVersions(a, r) > 0))
  if (allAbove) return 'upgraded'
  const allBelow = added.every(a => removed.every(r => compareVersions(a, r) < 0))
  if (allBelow) return 'downgraded'
  return 'changed'
}

const byName = (a: { name: string }, b: { name: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/**
 * Compares two closures (as read by `queryClosure`/`parsePathInfo`) package by package.
 * A store path listed twice counts once.
 */
export function diffClosures(
  before: readonly PathInfo[],
  after: readonly PathInfo[],
  opts: DiffOptions
): ClosureDiff {
  const beforeSizes = uniquePaths(before)
  const afterSizes = uniquePaths(after)
  const parsed = new Map<string, PackageName>()
  const b = groupClosure(beforeSizes, parsed)
  const a = groupClosure(afterSizes, parsed)

  const selectedNames = new Set<string>()
  for (const set of [opts.selected?.before, opts.selected?.after]) {
    for (const p of set ?? []) selectedNames.add((parsed.get(p) ?? packageName(p)).name)
  }

  const names = new Set<string>([...b.keys(), ...a.keys()])
  const packages: PackageChange[] = []
  for (const name of names) {
    const gb = b.get(name)
    const ga = a.get(name)
    if (unchanged(gb, ga)) continue
    const addedVersions = sortVersions([...(ga?.versions ?? [])].filter(v => !gb?.versions.has(v)))
    const removedVersions = sortVersions(
      [...(gb?.versions ?? [])].filter(v => !ga?.versions.has(v))
    )
    const kind = classify(gb, ga, addedVersions, removedVersions)
    if (!kind) continue
    const side = (g: Group | undefined): PackageSide => ({
      versions: sortVersions(g?.versions ?? []),
      bytes: g?.bytes ?? 0,
      paths: g?.paths ?? 0
    })
    packages.push({
      name,
      kind,
      selected: selectedNames.has(name),
      before: side(gb),
      after: side(ga),
      addedVersions,
      removedVersions,
      bytesDelta: (ga?.bytes ?? 0) - (gb?.bytes ?? 0)
    })
  }
  packages.sort(byName)

  const totals = computeTotals(beforeSizes, afterSizes)
  const counts: Record<ChangeKind, number> = {
    added: 0,
    removed: 0,
    upgraded: 0,
    downgraded: 0,
    changed: 0,
    'size-only': 0
  }
  for (const p of packages) counts[p.kind]++

  const rebootReasons = rebootReasonsFor(before, after, opts, packages)
  const diff: ClosureDiff = {
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    beforePath: opts.beforePath,
    afterPath: opts.afterPath,
    changed: opts.beforePath !== opts.afterPath,
    packages,
    hasSelection: opts.selected !== undefined && selectedNames.size > 0,
    totals,
    counts,
    rebootRequired: rebootReasons.length > 0,
    rebootReasons,
    summary: ''
  }
  diff.summary = summarize(diff)
  return diff
}

function computeTotals(b: Map<string, number>, a: Map<string, number>): ClosureDiff['totals'] {
  const sum = (sizes: Map<string, number>) => {
    let bytes = 0
    for (const s of sizes.values()) bytes += s
    return bytes
  }
  let pathsAdded = 0
  let pathsRemoved = 0
  for (const p of a.keys()) if (!b.has(p)) pathsAdded++
  for (const p of b.keys()) if (!a.has(p)) pathsRemoved++
  const bytesBefore = sum(b)
  const bytesAfter = sum(a)
  return {
    before: { paths: b.size, bytes: bytesBefore },
    after: { paths: a.size, bytes: bytesAfter },
    pathsDelta: a.size - b.size,
    bytesDelta: bytesAfter - bytesBefore,
    pathsAdded,
    pathsRemoved
  }
}

// ---------------------------------------------------------------------------------------------
// Selected packages and reboots

/**
 * The store paths a NixOS system selected (`environment.systemPackages`): the references of its
 * `*-system-path` (the target of the toplevel's `sw`), without the system-path itself. Prefers
 * the system-path the toplevel refers to directly; empty when the closure has none (not NixOS).
 */
export function selectedPackages(toplevel: string, closure: readonly PathInfo[]): Set<string> {
  // `/nix/store/<hash>-system-path` or `…-<name>-system-path`: the path's end says both.
  const isSystemPath = (p: string) => p.endsWith('-system-path')
  const top = findInfo(closure, toplevel)
  const systemPath =
    top?.references.find(isSystemPath) ?? closure.find(i => isSystemPath(i.path))?.path
  if (!systemPath) return new Set()
  const info = findInfo(closure, systemPath)
  return new Set((info?.references ?? []).filter(r => r !== systemPath))
}

/**
 * A path's record in a closure. Closures come sorted by path (from the store's database and from
 * `nix path-info`), so a binary search finds it; a closure in another order is searched through.
 */
function findInfo(closure: readonly PathInfo[], path: string): PathInfo | undefined {
  let lo = 0
  let hi = closure.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const p = closure[mid].path
    if (p === path) return closure[mid]
    if (p < path) lo = mid + 1
    else hi = mid - 1
  }
  return closure.find(i => i.path === path)
}

/** The toplevel's direct references that matter for a reboot, by component. */
function bootComponents(
  toplevel: string,
  closure: readonly PathInfo[]
): Map<BootComponent, string[]> {
  const out = new Map<BootComponent, string[]>()
  const top = findInfo(closure, toplevel)
  for (const ref of top?.references ?? []) {
    if (ref === toplevel) continue
    const base = storePathName(ref)
    // Only these names can be a component (the package's name is the start of the path's name).
    if (!/^(?:initrd|kernel-modules$|linux(?:-|$)|systemd(?:-|$))/.test(base)) continue
    const { name } = packageName(ref)
    let component: BootComponent | undefined
    if (base.startsWith('initrd'))
      component = 'initrd' // initrd-linux-6.1.55, initrd-secrets, ...
    else if (base === 'kernel-modules' || (name === 'linux' && /-modules(-shrunk)?$/.test(base)))
      component = 'kernel-modules'
    else if (name === 'linux') component = 'kernel'
    else if (name === 'systemd') component = 'systemd'
    if (!component) continue
    out.set(component, [...(out.get(component) ?? []), ref].sort())
  }
  return out
}

/** Versions as a detail line shows them: `∅` for none, `ε` for an empty version. */
function versionsText(v: string[]): string {
  return v.length === 0 ? '∅' : v.map(x => x || 'ε').join(', ')
}

/**
 * Why the change needs a reboot to take full effect: the kernel (a `linux` package version, or
 * the toplevel's kernel), the initrd, the kernel modules (the toplevel's references changed),
 * or systemd (a `systemd` version change; a rebuild of the same version is re-executed in place).
 */
function rebootReasonsFor(
  before: readonly PathInfo[],
  after: readonly PathInfo[],
  opts: DiffOptions,
  packages: PackageChange[]
): RebootReason[] {
  const cb = bootComponents(opts.beforePath, before)
  const ca = bootComponents(opts.afterPath, after)
  const same = (x?: string[], y?: string[]) => (x ?? []).join('\n') === (y ?? []).join('\n')
  const linkVersion = (paths?: string[]) => (paths?.[0] ? packageName(paths[0]).version : '')
  const reasons: (RebootReason | null)[] = []
  for (const component of BOOT_COMPONENTS) {
    const b = cb.get(component)?.[0]
    const a = ca.get(component)?.[0]
    // kernel and systemd: a version change of the package counts even without a toplevel link.
    const pkg =
      component === 'kernel' || component === 'systemd'
        ? packages.find(
            p => p.name === (component === 'kernel' ? 'linux' : 'systemd') && p.kind !== 'size-only'
          )
        : undefined
    if (pkg) {
      reasons.push(
        rebootReason(component, {
          before: b,
          after: a,
          beforeVersion: versionsText(pkg.removedVersions),
          afterVersion: versionsText(pkg.addedVersions)
        })
      )
    } else if (component !== 'systemd' && (b || a) && !same(cb.get(component), ca.get(component))) {
      reasons.push(
        rebootReason(component, {
          before: b,
          after: a,
          beforeVersion: linkVersion(cb.get(component)),
          afterVersion: linkVersion(ca.get(component))
        })
      )
    }
  }
  return reasons.filter((r): r is RebootReason => r !== null)
}

// ---------------------------------------------------------------------------------------------
// Summary

/**
 * The one-line summary. Version changes first, in this order and only when not zero:
 * `N upgraded, N downgraded, N changed, N added, N removed`, then the closure's size change
 * (`+4.2 MiB`, `-512 B`; left out when zero), then `reboot required` when it is. Packages that
 * only changed size are counted in the size, not named. With no package change and no size
 * change: `no changes` (the store paths may still differ: `rebuilt, same packages and size`).
 */
export function summarize(
  diff: Pick<ClosureDiff, 'counts' | 'totals' | 'rebootRequired' | 'changed'>
): string {
  const parts: string[] = []
  const order: ChangeKind[] = ['upgraded', 'downgraded', 'changed', 'added', 'removed']
  for (const kind of order) if (diff.counts[kind] > 0) parts.push(`${diff.counts[kind]} ${kind}`)
  if (diff.totals.bytesDelta !== 0)
    parts.push(formatBytes(diff.totals.bytesDelta, { signed: true }))
  if (parts.length === 0) {
    if (diff.counts['size-only'] > 0) parts.push(`${diff.counts['size-only']} rebuilt, same size`)
    else parts.push(diff.changed ? 'rebuilt, same packages and size' : 'no changes')
  }
  if (diff.rebootRequired) parts.push('reboot required')
  return parts.join(', ')
}
