/**
 * `nix-deploy`: every action's core from a terminal, with the same options as the action inputs
 * (`nix-deploy matrix --on @prod --changed-since origin/main`). Prints the same records as text.
 */
import { checkCommand, checkFailure } from './commands/check.js'
import { matrixCommand } from './commands/matrix.js'
import { buildCommand } from './commands/build.js'
import { diffCommand } from './commands/diff.js'
import { dryActivateCommand } from './commands/dry-activate.js'
import { updateCommand } from './commands/update.js'
import { renderUpdateText } from './core/update.js'
import { booleanOptions, terminalOptions, type CommandName } from './commands/inputs.js'
import { renderDryActivateText } from './core/render-dry-activate.js'
import { renderText, toJson } from './core/render-diff.js'
import { formatBytes } from './core/diff.js'
import type { CommandContext } from './commands/types.js'
import { ActionError, describeError } from './core/errors.js'
import { parseBool } from './core/inputs.js'
import { ConsoleLogger } from './core/log.js'
import { renderCheckText } from './core/render-check.js'
import { renderMatrixText } from './core/render-matrix.js'
import { deployCommand, deployFailure, rollbackCommand } from './commands/deploy.js'
import { renderDeployText } from './core/deploy/render.js'
import { resultRecord, type HostResult } from './core/model.js'
import fs from 'node:fs'
import { driftCommand } from './commands/drift.js'
import { driftRecord, renderDriftText } from './core/drift.js'

/** `--<input>-file PATH` reads the input from a file (a key on the command line is visible in `ps`). */
const FILE_OPTIONS: Record<string, string> = {
  'ssh-private-key-file': 'ssh-private-key',
  'ssh-known-hosts-file': 'ssh-known-hosts',
  'signing-key-file': 'signing-key'
}

interface Command {
  summary: string
  run: (ctx: CommandContext, json: boolean) => Promise<number>
}

/** deploy's and rollback's records: a text table and a status line, or JSON. */
function printHostResults(run: { status: string; results: HostResult[] }, json: boolean): void {
  process.stdout.write(
    json
      ? JSON.stringify({ status: run.status, results: run.results.map(resultRecord) }, null, 2) +
          '\n'
      : renderDeployText(run.results) + `status: ${run.status}\n`
  )
}

const commands: Record<CommandName, Command> = {
  check: {
    summary: 'nix flake check, with errors at file and line, and flake.lock freshness',
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
    run: async (ctx, json) => {
      const plan = await matrixCommand(ctx)
      process.stdout.write(json ? JSON.stringify(plan.matrix) + '\n' : renderMatrixText(plan))
      return 0
    }
  },
  build: {
    summary:
      "build a host's system (or an installable), with its closure diff against --diff-against",
    run: async (ctx, json) => {
      // Build logs go to stderr with the other progress lines; stdout holds the result.
      const run = await buildCommand(ctx, { terminal: true })
      if (json) {
        process.stdout.write(
          run.diff ? toJson(run.diff) : JSON.stringify({ storePath: run.built.storePath }) + '\n'
        )
      } else {
        const size = `${formatBytes(run.closure.bytes)} in ${run.closure.paths} paths`
        process.stdout.write(`${run.built.storePath}\nclosure: ${size}\n`)
        if (run.diff) process.stdout.write(renderText(run.diff))
        else if (run.note) process.stdout.write(`${run.note}\n`)
      }
      return 0
    }
  },
  diff: {
    summary:
      'closure diff between two systems (store paths, installables, or git revisions with --host)',
    run: async (ctx, json) => {
      const run = await diffCommand(ctx)
      process.stdout.write(json ? toJson(run.diff) : renderText(run.diff))
      return 0
    }
  },
  'dry-activate': {
    summary: "copy a host's new system to it and show what activating it would do (units, reboot)",
    run: async (ctx, json) => {
      const run = await dryActivateCommand(ctx, { terminal: true })
      process.stdout.write(
        json ? JSON.stringify(run.report, null, 2) + '\n' : renderDryActivateText(run.report)
      )
      return 0
    }
  },
  deploy: {
    summary:
      'copy, switch, prove the host healthy over a fresh connection, or roll it back by itself',
    run: async (ctx, json) => {
      // Approval is a GitHub environment's: a deploy from a terminal has none to show.
      if (parseBool('require-reviewers', ctx.get('require-reviewers'), false))
        throw new ActionError(
          'require-reviewers is true, but a deploy from a terminal runs in no GitHub environment, so no reviewer approved it: run it from a workflow job with environment:, or leave --require-reviewers out.'
        )
      const run = await deployCommand(ctx, { terminal: true })
      printHostResults(run, json)
      const failure = deployFailure(run.results)
      if (failure) process.stderr.write(`error: ${failure}\n`)
      return failure ? 1 : 0
    }
  },
  rollback: {
    summary:
      'return hosts to the previous generation, a generation number or a store path, then check them',
    run: async (ctx, json) => {
      const run = await rollbackCommand(ctx, { terminal: true })
      printHostResults(run, json)
      const failure = deployFailure(
        run.results.filter(r => r.status === 'failed'),
        'rollback'
      )
      if (failure) process.stderr.write(`error: ${failure}\n`)
      return failure ? 1 : 0
    }
  },
  drift: {
    summary:
      'which hosts do not run what they should: expected (deployed or flake) vs running and booted',
    run: async (ctx, json) => {
      // expected: deployed reads GitHub's records, with GITHUB_TOKEN and GITHUB_REPOSITORY as set.
      const token = process.env.GITHUB_TOKEN ?? ''
      const run = await driftCommand(ctx, {
        terminal: true,
        deployedRecords:
          token && process.env.GITHUB_REPOSITORY
            ? async (environment, hosts) =>
                (await import('./actions/deployments.js')).lastSuccessfulDeploys(
                  token,
                  environment,
                  hosts
                )
            : undefined
      })
      process.stdout.write(
        json
          ? JSON.stringify(run.report.results.map(driftRecord), null, 2) + '\n'
          : renderDriftText(run.report)
      )
      return 0
    }
  },
  update: {
    summary:
      "update flake.lock in place (every input, or --inputs) and show each host's closure diff",
    run: async (ctx, json) => {
      const { result } = await updateCommand(ctx)
      process.stdout.write(
        json
          ? JSON.stringify(
              {
                changed: result.changed,
                inputs: result.inputs,
                hosts: result.hosts,
                unchangedHosts: result.unchangedHosts
              },
              null,
              2
            ) + '\n'
          : renderUpdateText(result)
      )
      return 0
    }
  }
}

function usage(): string {
  const lines = [
    'usage: nix-deploy <command> [--option value ...] [--json] [--verbose]',
    '',
    'commands:'
  ]
  for (const [name, c] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(14)}${c.summary}`)
    lines.push(
      `  ${''.padEnd(14)}options: ${terminalOptions(name as CommandName)
        .map(o => `--${o}`)
        .join(' ')}`
    )
  }
  lines.push(
    '',
    'Options have the names and meanings of the action inputs (see the README); booleans take',
    'true/false or stand alone (--rollback, --no-rollback). --ssh-private-key-file and',
    '--ssh-known-hosts-file read those inputs from files. Without --ssh-known-hosts, the',
    'terminal also trusts your own ~/.ssh/known_hosts. Progress goes to stderr, the result to stdout.'
  )
  return lines.join('\n') + '\n'
}

export function parseArgs(
  argv: string[],
  allowed: string[],
  command = '',
  booleans: ReadonlySet<string> = new Set()
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
      if (name.startsWith('no-') && booleans.has(name.slice(3)) && value === undefined) {
        values.set(name.slice(3), 'false')
        continue
      }
      if (!allowed.includes(name))
        throw new ActionError(
          `Unknown option '--${name}'${command ? ` for '${command}'` : ''} (it takes ${allowed.map(o => `--${o}`).join(', ')}, --json, --verbose).`
        )
      if (value === undefined) {
        if (booleans.has(name) && (argv[i + 1] === undefined || argv[i + 1].startsWith('--')))
          value = 'true'
        else if (i + 1 < argv.length) value = argv[++i]
        else throw new ActionError(`Option '--${name}' needs a value.`)
      }
      const target = FILE_OPTIONS[name]
      if (target) {
        if (values.has(target))
          throw new ActionError(`Give one of '--${target}' and '--${name}', not both.`)
        try {
          values.set(target, fs.readFileSync(value, 'utf8'))
        } catch (err) {
          throw new ActionError(
            `Option '--${name}': cannot read '${value}' (${(err as NodeJS.ErrnoException).code ?? String(err)}).`
          )
        }
        continue
      }
      if (Object.values(FILE_OPTIONS).includes(name) && values.has(name))
        throw new ActionError(`Give one of '--${name}' and '--${name}-file', not both.`)
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
  const command = Object.hasOwn(commands, name) ? commands[name as CommandName] : undefined
  if (!command) {
    process.stderr.write(`error: unknown command '${name}'\n\n${usage()}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(
      `usage: nix-deploy ${name} [--option value ...] [--json] [--verbose]\n${command.summary}\noptions: ${terminalOptions(
        name as CommandName
      )
        .map(o => `--${o}`)
        .join(' ')}\n`
    )
    return 0
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs(
      rest,
      terminalOptions(name as CommandName),
      name,
      booleanOptions(name as CommandName)
    )
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n`)
    return 2
  }
  try {
    const { values, json, verbose } = parsed
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
