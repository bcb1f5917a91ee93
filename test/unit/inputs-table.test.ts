/**
 * The input tables (src/commands/inputs.ts) are where the terminal command's options and the
 * commands' defaults come from. Each table must say what its action.yml says (the same names,
 * defaults and required flags) and what the README's input table for that action says; the
 * terminal command must take exactly the table's terminal options, and treat as booleans exactly
 * the table's boolean inputs.
 */
import { describe, expect, it } from '@jest/globals'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { parseArgs } from '../../src/cli.js'
import {
  COMMAND_INPUTS,
  booleanOptions,
  defaultBool,
  defaultInt,
  defaultOf,
  inputsOf,
  terminalOptions,
  type CommandName
} from '../../src/commands/inputs.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const commands = Object.keys(COMMAND_INPUTS) as CommandName[]

/** The inputs an action.yml declares: name → { default, required }. */
function actionInputs(file: string): Map<string, { default: string; required: boolean }> {
  const doc = YAML.parse(fs.readFileSync(path.join(root, file), 'utf8')) as {
    inputs?: Record<string, { default?: unknown; required?: boolean } | null>
  }
  return new Map(
    Object.entries(doc.inputs ?? {}).map(([name, spec]) => [
      name,
      {
        default: spec?.default === undefined ? '' : String(spec.default),
        required: spec?.required === true
      }
    ])
  )
}

/** The README's input table under `### <command>`: name → the default cell's code text ('' when none). */
function readmeInputs(command: string): Map<string, string> {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const start = text.search(new RegExp(`^### ${command}\\b`, 'm'))
  expect(start).toBeGreaterThanOrEqual(0)
  const rest = text.slice(start + 4)
  const end = rest.search(/^#{2,3} /m)
  const section = end >= 0 ? rest.slice(0, end) : rest
  const out = new Map<string, string>()
  let inInputs = false
  for (const line of section.split('\n')) {
    if (/^\|\s*Input\b/.test(line)) inInputs = true
    else if (!line.startsWith('|')) inInputs = false
    else if (inInputs) {
      const cells = line.split('|').map(c => c.trim())
      const name = /^`([a-z-]+)`$/.exec(cells[1])
      if (!name) continue
      const def = /^`(.*)`$/.exec(cells[2])
      out.set(name[1], def ? def[1] : '')
    }
  }
  return out
}

describe('input tables', () => {
  it.each(commands)('%s: the table matches its action.yml (names, defaults, required)', command => {
    const files =
      command === 'deploy' ? ['deploy/action.yml', 'action.yml'] : [`${command}/action.yml`]
    const table = inputsOf(command).filter(s => s.where !== 'terminal')
    for (const file of files) {
      const declared = actionInputs(file)
      expect([...declared.keys()].sort()).toEqual(table.map(s => s.name).sort())
      for (const spec of table) {
        expect({ name: spec.name, default: declared.get(spec.name)?.default }).toEqual({
          name: spec.name,
          default: spec.default ?? ''
        })
        expect({ name: spec.name, required: declared.get(spec.name)?.required }).toEqual({
          name: spec.name,
          required: spec.required === true
        })
      }
    }
  })

  it.each(commands)('%s: the README lists every input of the table with its default', command => {
    const readme = readmeInputs(command)
    const table = inputsOf(command).filter(s => s.where !== 'terminal')
    expect([...readme.keys()].sort()).toEqual(table.map(s => s.name).sort())
    for (const spec of table)
      expect({ name: spec.name, default: readme.get(spec.name) }).toEqual({
        name: spec.name,
        default: spec.default ?? ''
      })
  })

  it('defaults are typed: integers parse, booleans are true or false, unknown names throw', () => {
    expect(defaultInt('deploy', 'health-timeout')).toBe(120)
    expect(defaultInt('deploy', 'confirm-timeout')).toBe(60)
    expect(defaultBool('deploy', 'rollback')).toBe(true)
    expect(defaultOf('check', 'flake')).toBe('.')
    expect(() => defaultOf('check', 'no-such-input')).toThrow(/not declared for check/)
    expect(() => defaultInt('deploy', 'rollback')).toThrow(/no integer default/)
    for (const command of commands)
      for (const spec of inputsOf(command)) {
        if (spec.type === 'boolean') expect(['true', 'false']).toContain(spec.default)
        if (spec.type === 'integer' && spec.default !== undefined)
          expect(Number.isSafeInteger(Number(spec.default))).toBe(true)
      }
  })

  it('every command that reaches a host takes ssh-connect-timeout, on GitHub and in a terminal', () => {
    for (const command of ['build', 'dry-activate', 'deploy', 'rollback', 'drift'] as const) {
      expect(terminalOptions(command)).toContain('ssh-connect-timeout')
      expect(actionInputs(`${command}/action.yml`).get('ssh-connect-timeout')?.default).toBe('15')
    }
  })

  it("the terminal takes the table's options and only its booleans stand alone", () => {
    // Action-only inputs are not terminal options.
    expect(terminalOptions('build')).not.toContain('comment')
    expect(terminalOptions('build')).not.toContain('github-token')
    expect(terminalOptions('deploy')).not.toContain('environment')
    expect(terminalOptions('deploy')).toContain('ssh-private-key-file')
    expect(booleanOptions('deploy')).toEqual(
      new Set([
        'ssh-accept-new-host-keys',
        'reboot',
        'rollback',
        'substitute-on-target',
        'require-reviewers',
        'allow-flake-commands',
        'install-bootloader'
      ])
    )
    expect(booleanOptions('check')).toEqual(new Set(['format']))
    expect(booleanOptions('diff')).toEqual(new Set())
    const parsed = parseArgs(
      ['--no-rollback', '--reboot', '--health-timeout', '30'],
      terminalOptions('deploy'),
      'deploy',
      booleanOptions('deploy')
    )
    expect(Object.fromEntries(parsed.values)).toEqual({
      rollback: 'false',
      reboot: 'true',
      'health-timeout': '30'
    })
    // A boolean of another command is not one here: --no-comment is an unknown option for deploy.
    expect(() =>
      parseArgs(['--no-comment'], terminalOptions('deploy'), 'deploy', booleanOptions('deploy'))
    ).toThrow(/Unknown option '--no-comment' for 'deploy'/)
  })
})
