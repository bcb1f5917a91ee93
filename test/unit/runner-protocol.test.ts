/**
 * Our runner protocol (src/actions/runner-protocol.ts) against the toolkit's own: the same calls
 * made through @actions/core and through ours must put the same bytes on stdout and into the
 * GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE / GITHUB_STEP_SUMMARY files (the heredoc delimiters,
 * random on both sides, aside), for values that have tripped escaping before: line breaks, `%`,
 * `:`, `,`, `::`, a delimiter-looking value, empty and odd strings. And what ours writes reads
 * back as the value with the harness's reader of the runner's formats.
 */
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as toolkit from '@actions/core'
import * as ours from '../../src/actions/runner-protocol.js'
import { parseFileCommand, parseWorkflowCommands } from '../harness/action-runner.js'

const TRICKY = [
  'plain',
  '',
  ' leading and trailing ',
  'line one\nline two',
  'crlf\r\nlone cr\rend',
  'trailing newline\n',
  '100% sure %0A is not a newline %25',
  'a:b,c=d::e',
  '::error::injected',
  'ghadelimiter_0000-fake\nname<<EOF\nEOF',
  'EOF',
  'tab\tand unicode é ✓ \u0085',
  '`backticks` <b>html</b> #hash; semi'
]

let dir: string
let saved: NodeJS.ProcessEnv
let exitCode: typeof process.exitCode

function files(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of ['OUTPUT', 'ENV', 'STATE', 'STEP_SUMMARY'])
    out[name] = fs.readFileSync(path.join(dir, name), 'utf8')
  return out
}

/** Runs `fn` with stdout captured and fresh file-command files; returns what was written. */
async function capture(fn: () => void | Promise<void>): Promise<{
  stdout: string
  files: Record<string, string>
}> {
  for (const name of ['OUTPUT', 'ENV', 'STATE', 'STEP_SUMMARY']) {
    fs.writeFileSync(path.join(dir, name), '')
    process.env[`GITHUB_${name}`] = path.join(dir, name)
  }
  let stdout = ''
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    return true
  }) as typeof process.stdout.write
  try {
    await fn()
  } finally {
    process.stdout.write = write
  }
  return { stdout, files: files() }
}

/** The random delimiters made equal, so two runs compare byte for byte otherwise. */
function sameDelimiters(text: string): string {
  return text.replace(
    /ghadelimiter_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
    'ghadelimiter_UUID'
  )
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-protocol-'))
  saved = { ...process.env }
  exitCode = process.exitCode
})

afterEach(() => {
  process.env = saved
  process.exitCode = exitCode
  fs.rmSync(dir, { recursive: true, force: true })
})

type Core = typeof ours

/** Every call the actions make, with every tricky value, through one implementation. */
async function everything(c: Core, tk: boolean): Promise<void> {
  TRICKY.forEach((v, i) => {
    c.info(v)
    c.debug(v)
    c.setSecret(v)
    c.notice(v)
    c.warning(v, { file: v, startLine: i + 1, startColumn: 2, title: v })
    c.error(v, { file: `src/${v}.nix`, startLine: 0, title: v })
    c.error(v, {})
    c.error(v, { title: undefined })
    c.setOutput(`out-${i}`, v)
    c.exportVariable(`ENV_${i}`, v)
    c.saveState(`state-${i}`, v)
  })
  c.setOutput('number', 3 as unknown as string)
  c.setFailed('the step failed: 50% of hosts, a:b,c\nsecond line')
  await c.group('a group: title, with %\nbreak', async () => c.info('inside'))
  if (tk) await toolkit.summary.addRaw(TRICKY.join('\n'), true).write()
  else await ours.appendSummary(TRICKY.join('\n'), true)
  if (tk) await toolkit.summary.addRaw('no eol').write()
  else await ours.appendSummary('no eol')
}

describe('runner protocol', () => {
  it('writes what @actions/core writes, byte for byte, for tricky values', async () => {
    const theirs = await capture(() => everything(toolkit as unknown as Core, true))
    const exitTheirs = process.exitCode
    process.exitCode = undefined
    const mine = await capture(() => everything(ours, false))
    expect(process.exitCode).toBe(exitTheirs)
    expect(process.exitCode).toBe(1)
    expect(sameDelimiters(mine.stdout)).toBe(sameDelimiters(theirs.stdout))
    for (const name of Object.keys(theirs.files))
      expect([name, sameDelimiters(mine.files[name])]).toEqual([
        name,
        sameDelimiters(theirs.files[name])
      ])
    // Not trivially equal: the captures hold every value, escaped.
    expect(mine.stdout).toContain('::add-mask::100%25 sure %250A is not a newline %2525')
    expect(mine.stdout).toContain('file=a%3Ab%2Cc=d%3A%3Ae,line=8,col=2')
    expect(mine.files.OUTPUT).toContain('out-3<<ghadelimiter_')
  })

  it('reads back as the runner reads it: values, masks and annotations intact', async () => {
    const { stdout, files: written } = await capture(() => {
      TRICKY.forEach((v, i) => {
        ours.setOutput(`out-${i}`, v)
        ours.setSecret(v)
        ours.error(v, { file: v, startLine: i + 1 })
      })
    })
    const outputs = parseFileCommand(written.OUTPUT)
    const { annotations, masks } = parseWorkflowCommands(stdout)
    TRICKY.forEach((v, i) => {
      // The runner's lines end at \n; a value's own \r\n comes back as written.
      expect(outputs[`out-${i}`]).toBe(v)
      expect(masks[i]).toBe(v)
      expect(annotations[i].message).toBe(v)
      if (v) expect(annotations[i].file).toBe(v)
      expect(annotations[i].line).toBe(i + 1)
    })
  })

  it('refuses a value or name holding the delimiter, as the toolkit does', () => {
    expect(() => ours.keyValueMessage('x', 'a\nDELIM\nb', 'DELIM')).toThrow(
      'value should not contain the delimiter "DELIM"'
    )
    expect(() => ours.keyValueMessage('xDELIM', 'a', 'DELIM')).toThrow(
      'name should not contain the delimiter "DELIM"'
    )
    expect(ours.keyValueMessage('x', 'a', 'DELIM')).toBe(`x<<DELIM${os.EOL}a${os.EOL}DELIM`)
  })

  it('fails clearly when the runner names a file that is not there', () => {
    process.env.GITHUB_OUTPUT = path.join(dir, 'missing')
    expect(() => ours.setOutput('x', 'y')).toThrow(`Missing file at path: ${dir}/missing`)
  })

  it('reads inputs as the toolkit does', () => {
    process.env['INPUT_HEALTH-CHECKS'] = '  - url: x\n'
    process.env.INPUT_WITH_SPACE = ' v '
    for (const name of ['health-checks', 'with space', 'unset-input'])
      expect(ours.getInput(name)).toBe(toolkit.getInput(name))
    expect(ours.getInput('health-checks')).toBe('- url: x')
  })
})
