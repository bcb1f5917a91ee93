/**
 * Nix evaluation errors, read from stderr, as data for annotations (file, line, column).
 *
 * The shapes handled (each captured from a real Nix, test/fixtures/nix-samples/nix-<version>/, by
 * scripts/capture-nix-samples.sh; the few that cannot run here are labelled samples in the tests):
 *
 * Nix 2.4–2.12: the message first, then its position, then `… while …` frames from the innermost
 * outwards, each with an optional position:
 *
 *     error: undefined variable 'bar'
 *
 *            at /nix/store/<hash>-source/hosts/a.nix:2:12:
 *
 *            … while checking the NixOS configuration 'nixosConfigurations.a'
 *
 *            at /nix/store/<hash>-source/flake.nix:3:5:
 *
 * Nix 2.13 and newer: `error:` alone, then the frames from the outermost inwards, then the message
 * on an indented `error: …` line, followed by its (innermost) position. A message that starts with
 * a line break (NixOS's `Failed assertions:`) is a bare indented `error:` with its text on the lines
 * after it. Nix 2.34 names positions in the checked-out flake by their path in the working tree
 * and positions in a fetched input by its URL: `«git+file:///src/nixpkgs?rev=…»/lib/modules.nix:3:1`.
 *
 * Nix 2.3 and older: `error: <message>, at /nix/store/…:3:7` on one line.
 *
 * `nix flake check --keep-going`: Nix 2.8–2.26 prefix each error with `error (ignored): `; Nix
 * 2.31–2.32 print `error (ignored): <message>` with no position and no frames (a message that
 * starts with a line break continues at column 0); Nix 2.34 prints plain `error:` blocks. All end
 * with `error: some errors were encountered during the evaluation`, a summary, not an error.
 *
 * Module definition sites have a file and no line: "- In `/nix/store/…-source/hosts/web.nix': …",
 * and for home-manager's (deferred) modules "- In `/nix/store/…-source/home.nix, via option …': …".
 *
 * Which position: only positions inside the user's own flake become annotations, the innermost one
 * first (usually where the mistake is). A position inside nixpkgs or another input is never mapped
 * onto a repository file (nixpkgs' `lib/modules.nix` is not the user's `lib/modules.nix`): when the
 * error itself lies in an input, `inInput` says where (`nixpkgs: lib/modules.nix:469`), and the
 * annotation goes to the innermost frame in the user's flake, if any.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { hasControlCharacters, stripAnsi } from './inputs.js'

export interface NixError {
  /** The error's text on one line (continuation lines joined), without `error:` and colour codes. */
  message: string
  /** Repository-relative path, when the error has a position inside the repository. */
  file?: string
  line?: number
  column?: number
  /** The flake attribute being checked (`nixosConfigurations.web`), when Nix says. */
  attribute?: string
  /**
   * Where the error lies when that is inside a flake input rather than the user's repository:
   * `<input name>: <path>:<line>` (`nixpkgs: lib/modules.nix:469`). Never an annotation.
   */
  inInput?: string
}

/** One input of the flake: its name in the lock (`home-manager/nixpkgs` for a nested one). */
export interface FlakeInputSource {
  name: string
  /** Its source in the store (`nix flake archive --json`). */
  path?: string
  /** Its locked location (`file:///src/nixpkgs`, `github:NixOS/nixpkgs`), for `«…»` positions. */
  url?: string
}

/** Where the user's flake and each of its inputs live in the store. */
export interface FlakeSources {
  /** The flake's own source in the store (`path` of `nix flake metadata --json`). */
  self?: string
  /** The flake's own URL (`git+file:///repo?ref=…`), as `«…»` positions name it. */
  selfUrl?: string
  inputs: FlakeInputSource[]
}

export interface NixErrorOptions {
  /** Absolute path of the repository checkout: positions under it (non-flake evaluation) map to relative paths. */
  repoRoot?: string
  /** The flake's folder inside the repository (`infra`), when it is not at the root. */
  flakeSubdir?: string
  /** The flake's source in the store (`path` of `nix flake metadata --json`); same as `sources.self`. */
  sourcePath?: string
  /** The flake's own source and its inputs' (see `nixFlakeSources`). */
  sources?: FlakeSources
  /**
   * When the sources are not known: whether the store file `storeFile` is the user's file
   * `repoRelative` (same content). Without sources or this, store paths are never mapped.
   */
  sameAsRepo?: (storeFile: string, repoRelative: string) => boolean
  /** Tells whether a repository-relative file exists, to settle whether a subdirectory flake's store copy holds the whole repository. */
  fileExists?: (repoRelative: string) => boolean
}

const BLOCK_START = /^error(?: \(ignored\))?:(.*)$/
const SUMMARY = /^some errors were encountered during the evaluation\.?$/
/** `at <path>:<line>:<col>` (a path, or `«accessor»/path` in newer Nix). */
const POSITION = /(?:^|\s)at (\/[^\s:]+|«[^»\s]+»(?:\/[^\s:]*)?):(\d+):(\d+)/
/**
 * A module definition site: "In `/nix/store/…-source/hosts/web.nix'" (no line), or home-manager's
 * "In `/nix/store/…-source/home.nix, via option home-manager.users.alice'".
 */
const DEFINITION_FILE = /\bIn [`'‘](\/[^\s'’`,]+)(?:, via option [^'’`]*)?['’]/
const STORE_SOURCE = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-source\/(.+)$/

interface Position {
  path: string
  line?: number
  column?: number
  /** Lower is more inner (more relevant). */
  rank: number
}

function cleanLines(stderr: string): string[] {
  return stripAnsi(stderr)
    .split(/\r?\n|\r/)
    .map(l => l.replace(/\s+$/, ''))
}

/** Lines that may sit at column 0 inside an error block. */
function isBlockContinuation(line: string): boolean {
  return (
    line === '' || /^\s/.test(line) || /^\((use '--show-trace'|stack trace truncated)/.test(line)
  )
}

/** Column-0 lines that are Nix's own progress or a new message, never the text of an error. */
const OWN_LINE =
  /^(error|warning|trace|evaluating|checking|running|building|copying|fetching|these |this )\b/

function stripErrorPrefixes(text: string): string {
  let t = text.trim()
  while (/^error(?: \(ignored\))?:/.test(t)) t = t.replace(/^error(?: \(ignored\))?:\s*/, '')
  return t
}

/** Parse every error block in Nix's stderr. */
export function parseNixErrors(stderr: string, options: NixErrorOptions = {}): NixError[] {
  const lines = cleanLines(String(stderr ?? ''))
  const blocks: string[][] = []
  let current: string[] | undefined
  // Nix 2.31–2.32 print a message that starts with a line break as `error (ignored): ` followed by
  // its lines at column 0.
  let bareHead = false
  for (const line of lines) {
    if (BLOCK_START.test(line)) {
      current = [line]
      blocks.push(current)
      bareHead = stripErrorPrefixes(line) === ''
    } else if (current && isBlockContinuation(line)) {
      current.push(line)
      if (line === '') bareHead = false
    } else if (current && bareHead && !OWN_LINE.test(line)) {
      current.push(line)
    } else {
      current = undefined
      bareHead = false
    }
  }

  const out: NixError[] = []
  const seen = new Set<string>()
  for (const block of blocks) {
    const err = parseBlock(block, options)
    if (!err) continue
    const key = `${err.message}\0${err.file ?? ''}\0${err.line ?? ''}\0${err.attribute ?? ''}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(err)
  }
  return out
}

/** A line that is not the text of a message: a frame, a position, source code, a trace note. */
function isMessageEnd(line: string): boolean {
  const t = line.trim()
  return (
    t === '' ||
    t.startsWith('…') ||
    /^at \S/.test(t) ||
    /^\d*\|/.test(t) ||
    /^\(/.test(t) ||
    /^error(?: \(ignored\))?:/.test(t)
  )
}

/** The message's lines from `from` on, until a frame, a position or a blank line (at most 20). */
function messageLines(block: string[], from: number): string[] {
  const out: string[] = []
  for (let i = from; i < block.length && out.length < 20; i++) {
    if (isMessageEnd(block[i])) break
    out.push(block[i].trim())
  }
  return out
}

function parseBlock(block: string[], options: NixErrorOptions): NixError | undefined {
  const head = stripErrorPrefixes(block[0])
  let messageIndex = 0
  let parts: string[] = head === '' ? [] : [head]
  if (head === '') {
    // Newer Nix: the message is the last indented `error:` line; the frames come before it. A bare
    // `error:` there (a message that starts with a line break) has its text on the lines after it.
    let found = false
    for (let i = block.length - 1; i > 0; i--) {
      const m = /^\s+error:\s*(.*)$/.exec(block[i])
      if (!m) continue
      messageIndex = i
      const text = stripErrorPrefixes(m[1])
      parts = text === '' ? messageLines(block, i + 1) : [text]
      if (text !== '' && text.endsWith(':')) parts.push(...messageLines(block, i + 1))
      found = true
      break
    }
    // Older Nix (and 2.31–2.32's `error (ignored):`): the text follows the bare first line.
    if (!found) parts = messageLines(block, 1)
  } else if (head.endsWith(':')) {
    // "… Definition values:" and the like: the list on the next lines belongs to the message.
    parts.push(...messageLines(block, 1))
  }
  let message = parts.join(' ').replace(/\s+/g, ' ').trim()
  if (message === '') message = 'evaluation error'
  if (SUMMARY.test(message)) return undefined

  // Nix 2.3: "error: <message>, at /nix/store/…:3:7" on one line.
  const inline = POSITION.exec(message)
  if (inline) message = message.slice(0, inline.index).replace(/,\s*$/, '').trim() || message

  const positions: Position[] = []
  block.forEach((line, i) => {
    const rank = i >= messageIndex ? i - messageIndex : 1_000_000 + (messageIndex - i)
    const m = POSITION.exec(line)
    if (m) positions.push({ path: m[1], line: Number(m[2]), column: Number(m[3]), rank })
    else {
      const d = DEFINITION_FILE.exec(line)
      // A definition site without a line: after every real position of the same depth.
      if (d) positions.push({ path: d[1], rank: rank + 500_000 })
    }
  })
  positions.sort((a, b) => a.rank - b.rank)

  const result: NixError = { message: clip(message, 1000) }
  let innermost = true
  for (const p of positions) {
    const place = placeOf(p.path, options)
    if (place && 'input' in place && innermost) {
      // The error itself lies in an input: say where, never as an annotation.
      result.inInput = clip(
        `${place.input}: ${place.file}${p.line !== undefined && p.line > 0 ? `:${p.line}` : ''}`,
        300
      )
    }
    innermost = false
    if (!place || !('repo' in place)) continue
    result.file = place.repo
    if (p.line !== undefined && p.line > 0) result.line = p.line
    if (p.column !== undefined && p.column > 0) result.column = p.column
    break
  }
  const attribute = findAttribute(block, message)
  if (attribute) result.attribute = attribute
  return result
}

/** The error's message with the input position, if any: for summaries, logs and annotations. */
export function describeNixError(e: NixError): string {
  return e.inInput ? `${e.message} (at ${e.inInput})` : e.message
}

function findAttribute(block: string[], message: string): string | undefined {
  for (const line of block) {
    const m = /while checking (?:the [^'‘]*?|flake output )['‘]([^'’]+)['’]/.exec(line)
    if (m) return m[1]
  }
  const m = /^flake attribute '([^']+)'/.exec(message)
  return m?.[1]
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function normaliseRelative(rel: string): string | undefined {
  const parts = rel.split('/').filter(p => p !== '' && p !== '.')
  if (parts.length === 0 || parts.some(p => p === '..')) return undefined
  const joined = parts.join('/')
  if (hasControlCharacters(joined)) return undefined
  return joined
}

/**
 * A flake location reduced to what identifies its source: `github:nixos/nixpkgs`, or an absolute
 * path for local ones (`git+file:///src/x?rev=…`, `path:/src/x`, `file:///src/x` → `/src/x`).
 */
export function locationKey(url: string): string {
  let u = url.trim().replace(/[?#].*$/, '')
  u = u.replace(/^(?:git|hg|tarball|file)\+/, '')
  const local = /^(?:file:\/\/|path:)(\/.*)$/.exec(u)
  if (local) return local[1].replace(/\/+$/, '') || '/'
  if (u.startsWith('/')) return u.replace(/\/+$/, '') || '/'
  const forge = /^(github|gitlab|sourcehut):([^/]+)\/([^/]+)/.exec(u)
  if (forge) return `${forge[1]}:${forge[2]}/${forge[3]}`.toLowerCase()
  return u.replace(/\/+$/, '')
}

type Place = { repo: string } | { input: string; file: string } | undefined

function under(path: string, root: string): string | undefined {
  const r = root.replace(/\/+$/, '') + '/'
  return path.startsWith(r) ? path.slice(r.length) : undefined
}

/** The repository-relative path of a file of the flake's own source. */
function repoFile(inSource: string, options: NixErrorOptions): string | undefined {
  const rel = normaliseRelative(inSource)
  if (rel === undefined) return undefined
  const subdir = options.flakeSubdir ? normaliseRelative(options.flakeSubdir) : undefined
  if (!subdir) return rel
  // A flake in a subdirectory: its store copy holds either the whole repository (git flakes:
  // paths already start with the subdirectory) or the subdirectory alone (path: flakes).
  const candidates = rel.startsWith(`${subdir}/`)
    ? [rel, `${subdir}/${rel}`]
    : [`${subdir}/${rel}`, rel]
  if (options.fileExists) return candidates.find(c => options.fileExists!(c)) ?? candidates[0]
  return candidates[0]
}

/** Whose file a position's path is: the user's repository, a named input, or unknown. */
function placeOf(path: string, options: NixErrorOptions): Place {
  const sources = options.sources
  const self = sources?.self ?? options.sourcePath
  const inputs = sources?.inputs ?? []
  const accessor = /^«([^»]*)»\/(.+)$/.exec(path)
  if (accessor) {
    // Newer Nix names a source by its URL: «git+file:///repo»/hosts/web.nix, «github:NixOS/nixpkgs/…»/…
    const key = locationKey(accessor[1])
    const rel = normaliseRelative(accessor[2])
    if (rel === undefined) return undefined
    const input = inputs.find(i => i.url !== undefined && locationKey(i.url) === key)
    if (input) return { input: input.name, file: rel }
    const root = options.repoRoot ? locationKey(options.repoRoot) : undefined
    const own =
      (sources?.selfUrl !== undefined && locationKey(sources.selfUrl) === key) ||
      (root !== undefined && key === root)
    if (own) {
      const file = repoFile(rel, options)
      return file === undefined ? undefined : { repo: file }
    }
    return { input: key, file: rel }
  }
  if (self) {
    const inSelf = under(path, self)
    if (inSelf !== undefined) {
      const file = repoFile(inSelf, options)
      return file === undefined ? undefined : { repo: file }
    }
  }
  for (const input of inputs) {
    if (!input.path) continue
    const inInput = under(path, input.path)
    if (inInput === undefined) continue
    const rel = normaliseRelative(inInput)
    return rel === undefined ? undefined : { input: input.name, file: rel }
  }
  const store = STORE_SOURCE.exec(path)
  if (store) {
    // A source we were not told about: the user's only when its content is the repository's.
    if (self || !options.sameAsRepo) return undefined
    const file = repoFile(store[1], options)
    return file !== undefined && options.sameAsRepo(path, file) ? { repo: file } : undefined
  }
  if (options.repoRoot) {
    // Nix 2.34 (and non-flake evaluation) name the checked-out files by their path on disk.
    const rel = under(path, options.repoRoot)
    if (rel !== undefined) {
      const file = normaliseRelative(rel)
      return file === undefined ? undefined : { repo: file }
    }
  }
  return undefined
}

/** A position's path as a repository-relative path, or undefined when it is not the user's. */
export function toRepoPath(path: string, options: NixErrorOptions = {}): string | undefined {
  const place = placeOf(path, options)
  return place && 'repo' in place ? place.repo : undefined
}

/**
 * `sameAsRepo` for a checkout at `repoRoot`: a store file is the user's when the repository holds
 * a file at that path with the same content (so nixpkgs' lib/modules.nix never lands on the
 * user's lib/modules.nix). For callers that do not know the flake's sources.
 */
export function sameContentAs(
  repoRoot: string
): (storeFile: string, repoRelative: string) => boolean {
  return (storeFile, repoRelative) => {
    try {
      const a = statSync(storeFile)
      const b = statSync(join(repoRoot, repoRelative))
      if (!a.isFile() || !b.isFile() || a.size !== b.size || a.size > 4 * 1024 * 1024) return false
      return readFileSync(storeFile).equals(readFileSync(join(repoRoot, repoRelative)))
    } catch {
      return false
    }
  }
}
