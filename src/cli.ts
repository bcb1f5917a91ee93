/**
 * `nix-deploy`: every action's core from a terminal, with the same options as the action inputs
 * (`nix-deploy matrix --on @prod --changed-since origin/main`). Prints the same records as text.
 */
import { checkCommand, checkFailure } from './commands/check.js'
import { matrixCommand } from './commands/matrix.js'
import type { CommandContext } from './commands/types.js'
import { ActionError, describeError } from './core/errors.js'
import { ConsoleLogger } from './core/log.js'
import { renderCheckText } from './core/render-check.js'
import { renderMatrixText } from './core/render-matrix.js'

interface Command {
  summary: string
  options: string[]
  run: (ctx: CommandContext, json: boolean) => Promise<number>
}

const commands: Record<string, Command> = {
  check: {
    summary: 'nix flake check, with errors at file and line, and flake.lock freshness',
    options: ['flake', 'lock-max-age-days', 'format'],
    run: async (ctx, json) => {
      const result = await checkCommand(ctx)
      process.stdout.write(
        json
          ? JSON.stringify(result.report, null, 2) + '\n'
          : renderCheckText(result.report, result.flake)
      )
      const failure = checkFailure(result)
      if (failure) process.stderr.write(`error: ${failure}\n`)
      return failure ? 1 : 0
    }
  },
  matrix: {
    summary: 'the hosts to build, as a GitHub Actions matrix',
    options: ['flake', 'on', 'changed-since', 'max-jobs'],
    run: async (ctx, json) => {
      const plan = await matrixCommand(ctx)
      process.stdout.write(json ? JSON.stringify(plan.matrix) + '\n' : renderMatrixText(plan))
      return 0
    }
  }
}

const BOOLEAN_OPTIONS = new Set([
  'format',
  'comment',
  'cache',
  'reboot',
  'rollback',
  'ssh-accept-new-host-keys',
  'substitute-on-target'
])

function usage(): string {
  const lines = [
    'usage: nix-deploy <command> [--option value ...] [--json] [--verbose]',
    '',
    'commands:'
  ]
  for (const [name, c] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(14)}${c.summary}`)
    lines.push(`  ${''.padEnd(14)}options: ${c.options.map(o => `--${o}`).join(' ')}`)
  }
  lines.push('', 'Options have the names and meanings of the action inputs (see the README).')
  return lines.join('\n') + '\n'
}

export function parseArgs(
  argv: string[],
  allowed: string[]
): { values: Map<string, string>; json: boolean; verbose: boolean } {
  const values = new Map<string, string>()
  let json = false
  let verbose = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--json') json = true
    else if (arg === '--verbose' || arg === '-v') verbose = true
    else if (arg.startsWith('--')) {
      let name = arg.slice(2)
      let value: string | undefined
      const eq = name.indexOf('=')
      if (eq >= 0) {
        value = name.slice(eq + 1)
        name = name.slice(0, eq)
      }
      if (name.startsWith('no-') && BOOLEAN_OPTIONS.has(name.slice(3)) && value === undefined) {
        values.set(name.slice(3), 'false')
        continue
      }
      if (!allowed.includes(name))
        throw new ActionError(
          `Unknown option '--${name}' (expected one of ${allowed.map(o => `--${o}`).join(', ')}).`
        )
      if (value === undefined) {
        if (
          BOOLEAN_OPTIONS.has(name) &&
          (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))
        )
          value = 'true'
        else if (i + 1 < argv.length) value = argv[++i]
        else throw new ActionError(`Option '--${name}' needs a value.`)
      }
      values.set(name, value)
    } else {
      throw new ActionError(`Unexpected argument '${arg}': options are written --name value.`)
    }
  }
  return { values, json, verbose }
}

export async function cli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    process.stderr.write(`error: unknown command '${name}'\n\n${usage()}`)
    return 2
  }
  try {
    const { values, json, verbose } = parseArgs(rest, command.options)
    const ctx: CommandContext = {
      get: n => (values.get(n) ?? '').trim(),
      cwd: process.cwd(),
      logger: new ConsoleLogger(verbose)
    }
    return await command.run(ctx, json)
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n`)
    return 1
  }
}
