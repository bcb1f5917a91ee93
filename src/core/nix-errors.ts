/**
 * Nix evaluation errors, read from stderr, as data for annotations (file, line, column).
 *
 * The shapes handled (checked against Nix 2.8 here, and samples of newer output in the tests):
 *
 * Nix 2.4–2.12: the message first, then its position, then `… while …` frames from the innermost
 * outwards, each with an optional position:
 *
 *     error: undefined variable 'bar'
 *
 *            at /nix/store/<hash>-source/hosts/a.nix:2:12:
 *
 *                 1| {
 *                 2|   config = bar;
 *                  |            ^
 *
 *            … while checking the NixOS configuration 'nixosConfigurations.a'
 *
 *            at /nix/store/<hash>-source/flake.nix:3:5:
 *
 * Nix 2.13 and newer: `error:` alone, then the frames from the outermost inwards, then the message
 * on an indented `error: …` line, followed by its (innermost) position.
 *
 * Nix 2.3 and older: `error: <message>, at /nix/store/…:3:7` on one line.
 *
 * `nix flake check --keep-going` prefixes each error with `error (ignored): ` and ends with
 * `error: some errors were encountered during the evaluation`, which is a summary, not an error.
 *
 * Which position: the innermost one inside the user's flake source. The innermost position is
 * usually where the mistake is (`config = bar;`); when it lies in another input (nixpkgs'
 * lib/modules.nix), the next frame outwards that lies in the flake is the best place to point at.
 * Positions in other store paths are never mapped: annotations pointing into nixpkgs would land on
 * a wrong file of the user's repository.
 */
import { hasControlCharacters, stripAnsi } from './inputs.js'

export interface NixError {
  /** The error's first line, without `error:` and colour codes. */
  message: string
  /** Repository-relative path, when the error has a position inside the repository. */
  file?: string
  line?: number
  column?: number
  /** The flake attribute being checked (`nixosConfigurations.web`), when Nix says. */
  attribute?: string
}

export interface NixErrorOptions {
  /** Absolute path of the repository checkout: positions under it (non-flake evaluation) map to relative paths. */
  repoRoot?: string
  /** The flake's folder inside the repository (`infra`), when it is not at the root. */
  flakeSubdir?: string
  /**
   * The flake's source in the store (`path` of `nix flake metadata --json`). When given, only
   * positions inside it are mapped; otherwise any `/nix/store/<hash>-source/` path is taken for
   * the flake's (other inputs usually have that form too: give it when you can).
   */
  sourcePath?: string
  /** Tells whether a repository-relative file exists, to settle whether a subdirectory flake's store copy holds the whole repository. */
  fileExists?: (repoRelative: string) => boolean
}

const BLOCK_START = /^error(?: \(ignored\))?:(.*)$/
const SUMMARY = /^some errors were encountered during the evaluation\.?$/
/** `at <path>:<line>:<col>` (a path, or `«accessor»/path` in newer Nix). */
const POSITION = /(?:^|\s)at (\/[^\s:]+|«[^»\s]+»(?:\/[^\s:]*)?):(\d+):(\d+)/
/** A module definition site: "In `/nix/store/…-source/hosts/web.nix'" (no line). */
const DEFINITION_FILE = /\bIn [`'‘](\/[^\s'’`]+)['’]/
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
  for (const line of lines) {
    if (BLOCK_START.test(line)) {
      current = [line]
      blocks.push(current)
    } else if (current && isBlockContinuation(line)) {
      current.push(line)
    } else {
      current = undefined
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

function parseBlock(block: string[], options: NixErrorOptions): NixError | undefined {
  const head = stripErrorPrefixes(block[0])
  let messageIndex = 0
  let message = head
  if (message === '') {
    // Newer Nix: the message is the last indented `error:` line; the frames come before it.
    for (let i = block.length - 1; i > 0; i--) {
      const m = /^\s+error:\s*(.*)$/.exec(block[i])
      if (m && m[1].trim() !== '') {
        messageIndex = i
        message = stripErrorPrefixes(m[1])
        break
      }
    }
    if (message === '') {
      const next = block
        .slice(1)
        .find(l => l.trim() !== '' && !l.trim().startsWith('…') && !POSITION.test(l))
      message = next ? next.trim() : 'evaluation error'
    }
  }
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
  for (const p of positions) {
    const file = toRepoPath(p.path, options)
    if (file === undefined) continue
    result.file = file
    if (p.line !== undefined && p.line > 0) result.line = p.line
    if (p.column !== undefined && p.column > 0) result.column = p.column
    break
  }
  const attribute = findAttribute(block, message)
  if (attribute) result.attribute = attribute
  return result
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

/** A position's path as a repository-relative path, or undefined when it is not the user's. */
export function toRepoPath(path: string, options: NixErrorOptions = {}): string | undefined {
  const subdir = options.flakeSubdir ? normaliseRelative(options.flakeSubdir) : undefined
  let inSource: string | undefined
  if (path.startsWith('«')) {
    // Newer Nix names a source by its accessor: «git+file:///repo»/hosts/web.nix. Only local
    // sources (the flake being checked) are the user's; «github:NixOS/nixpkgs/…» is not.
    const m = /^«((?:git\+file|path|file):[^»]*)»\/(.+)$/.exec(path)
    if (!m) return undefined
    inSource = m[2]
  } else if (options.sourcePath) {
    const root = options.sourcePath.replace(/\/+$/, '') + '/'
    if (path.startsWith(root)) inSource = path.slice(root.length)
  } else {
    inSource = STORE_SOURCE.exec(path)?.[1]
  }

  if (inSource !== undefined) {
    const rel = normaliseRelative(inSource)
    if (rel === undefined) return undefined
    if (!subdir) return rel
    // A flake in a subdirectory: its store copy holds either the whole repository (git flakes:
    // paths already start with the subdirectory) or the subdirectory alone (path: flakes).
    const candidates = rel.startsWith(`${subdir}/`)
      ? [rel, `${subdir}/${rel}`]
      : [`${subdir}/${rel}`, rel]
    if (options.fileExists) return candidates.find(c => options.fileExists!(c)) ?? candidates[0]
    return candidates[0]
  }

  if (options.repoRoot) {
    const root = options.repoRoot.replace(/\/+$/, '') + '/'
    if (path.startsWith(root)) return normaliseRelative(path.slice(root.length))
  }
  return undefined
}
