/**
 * The README documents every action's inputs and outputs in tables; the action.yml files are what
 * GitHub runs. This test reads both and fails when they disagree: an input or output missing from
 * a table or from an action.yml, or a default that differs. It also checks that every action
 * folder has a README.md mentioning each of its inputs.
 *
 * README layout it relies on: under `## Actions`, one `### <action>` heading per action (the first
 * word is the folder name; `deploy` also stands for the root action.yml), holding a table whose
 * header starts with `Input` (columns: name, default, meaning) and, when the action has outputs, a
 * table whose header starts with `Output`. One name per row, in backticks; the default cell holds
 * the default in backticks, or no backticks at all when the default is empty.
 */
import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface ActionSpec {
  inputs: Map<string, string>
  outputs: Set<string>
}

interface DocTables {
  inputs: Map<string, string> | null
  outputs: Set<string> | null
  problems: string[]
}

/** Every action: the folder name ('.' is the root action) → its action.yml, read as GitHub does. */
function actionFolders(): string[] {
  const folders = fs
    .readdirSync(root, { withFileTypes: true })
    .filter(e => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .filter(e => fs.existsSync(path.join(root, e.name, 'action.yml')))
    .map(e => e.name)
  return folders.sort()
}

function readAction(folder: string): ActionSpec {
  const doc = YAML.parse(fs.readFileSync(path.join(root, folder, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: unknown } | null>
    outputs?: Record<string, unknown>
  }
  const inputs = new Map<string, string>()
  for (const [name, spec] of Object.entries(doc.inputs ?? {}))
    inputs.set(name, spec?.default === undefined ? '' : String(spec.default))
  return { inputs, outputs: new Set(Object.keys(doc.outputs ?? {})) }
}

/** Splits a Markdown table row on pipes that are not escaped (`\|`), as GitHub's Markdown does (also in code spans). */
export function splitRow(line: string): string[] {
  const cells: string[] = []
  let cell = ''
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '')
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (c === '\\' && body[i + 1] === '|') {
      cell += '|'
      i++
    } else if (c === '|') {
      cells.push(cell.trim())
      cell = ''
    } else cell += c
  }
  cells.push(cell.trim())
  return cells
}

/** The content of the first code span in a cell, or null when there is none. */
function codeSpan(cell: string): string | null {
  const m = /`([^`]*)`/.exec(cell)
  return m ? m[1] : null
}

/** The `### <action>` sections under `## Actions`: action name → section text. */
export function actionSections(readme: string): Map<string, string> {
  const start = readme.search(/^## Actions\s*$/m)
  if (start < 0) return new Map()
  const rest = readme.slice(start + 1)
  const end = rest.search(/^## /m)
  const part = end < 0 ? rest : rest.slice(0, end)
  const out = new Map<string, string>()
  const heads = [...part.matchAll(/^### +`?([a-z][a-z-]*)`?.*$/gm)]
  heads.forEach((h, i) => {
    const from = (h.index as number) + h[0].length
    const to = i + 1 < heads.length ? (heads[i + 1].index as number) : part.length
    out.set(h[1], part.slice(from, to))
  })
  return out
}

/** The Input and Output tables of one section. */
export function parseTables(section: string): DocTables {
  const lines = section.split('\n')
  const result: DocTables = { inputs: null, outputs: null, problems: [] }
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim().startsWith('|')) continue
    const header = splitRow(lines[i])
    const kind = header[0]
    let j = i + 2 // past the header and the |---| line
    const rows: string[][] = []
    while (j < lines.length && lines[j].trim().startsWith('|')) rows.push(splitRow(lines[j++]))
    i = j
    if (kind !== 'Input' && kind !== 'Output') continue
    if (kind === 'Input') {
      if (result.inputs) result.problems.push('two Input tables')
      result.inputs = new Map()
      if (header[1] !== 'Default')
        result.problems.push(`Input table's second column is '${header[1]}', not 'Default'`)
    } else {
      if (result.outputs) result.problems.push('two Output tables')
      result.outputs = new Set()
    }
    for (const row of rows) {
      const names = [...row[0].matchAll(/`([^`]+)`/g)].map(m => m[1])
      if (names.length !== 1) {
        result.problems.push(
          `row '${row[0]}' must name exactly one ${kind.toLowerCase()} in backticks`
        )
        continue
      }
      const name = names[0]
      if (kind === 'Input') {
        if (result.inputs!.has(name)) result.problems.push(`input '${name}' is listed twice`)
        result.inputs!.set(name, codeSpan(row[1] ?? '') ?? '')
      } else {
        if (result.outputs!.has(name)) result.problems.push(`output '${name}' is listed twice`)
        result.outputs!.add(name)
      }
    }
  }
  return result
}

/** Every way a README section and an action.yml disagree, as sentences (empty: they agree). */
export function compare(action: string, doc: DocTables, spec: ActionSpec): string[] {
  const out = doc.problems.map(p => `${action}: ${p}`)
  if (!doc.inputs) out.push(`${action}: the README has no Input table`)
  else {
    for (const [name, def] of spec.inputs) {
      if (!doc.inputs.has(name))
        out.push(`${action}: input '${name}' is in action.yml, not in the README table`)
      else if (doc.inputs.get(name) !== def)
        out.push(
          `${action}: input '${name}' defaults to '${def}' in action.yml, '${doc.inputs.get(name)}' in the README`
        )
    }
    for (const name of doc.inputs.keys())
      if (!spec.inputs.has(name))
        out.push(`${action}: input '${name}' is in the README table, not in action.yml`)
  }
  const docOutputs = doc.outputs ?? new Set<string>()
  if (spec.outputs.size > 0 && !doc.outputs) out.push(`${action}: the README has no Output table`)
  for (const name of spec.outputs)
    if (!docOutputs.has(name))
      out.push(`${action}: output '${name}' is in action.yml, not in the README table`)
  for (const name of docOutputs)
    if (!spec.outputs.has(name))
      out.push(`${action}: output '${name}' is in the README table, not in action.yml`)
  return out
}

const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
const sections = actionSections(readme)
const folders = actionFolders()

describe('README.md against the action.yml files', () => {
  it('finds the actions on both sides', () => {
    expect(folders).toEqual(
      expect.arrayContaining([
        'build',
        'check',
        'deploy',
        'diff',
        'dry-activate',
        'matrix',
        'rollback'
      ])
    )
    // Every action folder has a README section, and every section is an action.
    expect([...sections.keys()].sort()).toEqual(folders)
  })

  it.each(folders)(
    "%s: the README's tables list exactly the action.yml's inputs, defaults and outputs",
    folder => {
      const doc = parseTables(sections.get(folder) ?? '')
      expect(compare(folder, doc, readAction(folder))).toEqual([])
    }
  )

  it('the root action.yml is the deploy action: same inputs, defaults and outputs', () => {
    const rootSpec = readAction('.')
    const deploy = readAction('deploy')
    expect([...rootSpec.inputs]).toEqual([...deploy.inputs])
    expect([...rootSpec.outputs]).toEqual([...deploy.outputs])
    expect(
      compare('action.yml (root)', parseTables(sections.get('deploy') ?? ''), rootSpec)
    ).toEqual([])
  })
})

describe('per-action READMEs', () => {
  it.each(folders)('%s/README.md exists and mentions each input in backticks', folder => {
    const file = path.join(root, folder, 'README.md')
    expect(fs.existsSync(file)).toBe(true)
    const text = fs.readFileSync(file, 'utf8')
    const missing = [...readAction(folder).inputs.keys()].filter(
      name => !text.includes(`\`${name}\``)
    )
    expect(missing).toEqual([])
  })
})

describe('the comparison itself', () => {
  const spec: ActionSpec = {
    inputs: new Map([
      ['flake', '.'],
      ['on', ''],
      ['max-jobs', '256']
    ]),
    outputs: new Set(['count'])
  }
  const table = (rows: string, outputs = '| Output | Meaning |\n| --- | --- |\n| `count` | n |') =>
    parseTables(`\n| Input | Default | Meaning |\n| --- | --- | --- |\n${rows}\n\n${outputs}\n`)

  it('accepts an exact match, with an empty default written as prose', () => {
    const doc = table(
      '| `flake` | `.` | x |\n| `on` | (every host) | a \\| b |\n| `max-jobs` | `256` | y |'
    )
    expect(compare('m', doc, spec)).toEqual([])
  })

  it('reports a missing input, an extra input, a different default and output mismatches', () => {
    const doc = table(
      '| `flake` | `./x` | x |\n| `extra` | | y |',
      '| Output | Meaning |\n| --- | --- |\n| `hosts` | h |'
    )
    expect(compare('m', doc, spec)).toEqual([
      "m: input 'flake' defaults to '.' in action.yml, './x' in the README",
      "m: input 'on' is in action.yml, not in the README table",
      "m: input 'max-jobs' is in action.yml, not in the README table",
      "m: input 'extra' is in the README table, not in action.yml",
      "m: output 'count' is in action.yml, not in the README table",
      "m: output 'hosts' is in the README table, not in action.yml"
    ])
  })

  it('reports rows naming several inputs at once, and a missing table', () => {
    expect(compare('m', table('| `flake`, `on` | | x |'), spec)[0]).toBe(
      "m: row '`flake`, `on`' must name exactly one input in backticks"
    )
    expect(compare('m', parseTables('no tables'), spec)).toContain(
      'm: the README has no Input table'
    )
  })

  it('splits rows on unescaped pipes only', () => {
    expect(splitRow('| `a\\|b` | c \\| d | e |')).toEqual(['`a|b`', 'c | d', 'e'])
  })
})
