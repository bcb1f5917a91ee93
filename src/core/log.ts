/**
 * How the engine talks to people. The GitHub adapter maps this onto workflow commands (groups,
 * annotations); the terminal command onto plain lines. The engine never writes to stdout itself.
 */
export interface Annotation {
  file?: string
  line?: number
  column?: number
  title?: string
}

export interface Logger {
  debug(message: string): void
  info(message: string): void
  warning(message: string, where?: Annotation): void
  error(message: string, where?: Annotation): void
  /** A notice (an annotation on GitHub); loggers without one use info. */
  notice?(message: string): void
  /** Runs `fn` inside a collapsible group of the log. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>
}

/**
 * Text from outside (Nix's output, what a host prints, values read from a flake) made unable to
 * act as a workflow command. GitHub's runner reads every line of a step's output (stdout and
 * stderr) that starts with `::`, after leading whitespace, as a command (`::add-mask::`,
 * `::error ...::`, `::stop-commands::`), and also reads the older `##[command]` form. So every
 * such line gets a visible `» ` in front, and every `##[` becomes `## [`. Line breaks are
 * normalised to `\n` (a lone `\r` also ends a line for the runner). Both loggers below and the
 * actions' logger pass every line through this, so no call site has to remember it.
 */
export function neutraliseCommands(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map(line => (/^[\s\u0085]*::/.test(line) ? `» ${line}` : line))
    .join('\n')
    .replace(/##\[/g, '## [')
}

/** A logger that writes nothing but keeps every line, for tests and for quiet sub-tasks. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; message: string; where?: Annotation }[] = []
  debug(message: string): void {
    this.lines.push({ level: 'debug', message })
  }
  info(message: string): void {
    this.lines.push({ level: 'info', message })
  }
  warning(message: string, where?: Annotation): void {
    this.lines.push({ level: 'warning', message, where })
  }
  error(message: string, where?: Annotation): void {
    this.lines.push({ level: 'error', message, where })
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push({ level: 'group', message: title })
    return fn()
  }
}

/** Plain lines on stderr: the terminal command's logger. */
export class ConsoleLogger implements Logger {
  constructor(private readonly verbose = false) {}
  // Run from a workflow step, stderr is read for workflow commands too.
  debug(message: string): void {
    if (this.verbose) process.stderr.write(`  ${neutraliseCommands(message)}\n`)
  }
  info(message: string): void {
    process.stderr.write(`${neutraliseCommands(message)}\n`)
  }
  warning(message: string, where?: Annotation): void {
    process.stderr.write(`warning: ${neutraliseCommands(at(where) + message)}\n`)
  }
  error(message: string, where?: Annotation): void {
    process.stderr.write(`error: ${neutraliseCommands(at(where) + message)}\n`)
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    process.stderr.write(`== ${neutraliseCommands(title)}\n`)
    return fn()
  }
}

function at(where?: Annotation): string {
  if (!where?.file) return ''
  return `${where.file}${where.line ? `:${where.line}` : ''}${where.column ? `:${where.column}` : ''}: `
}
