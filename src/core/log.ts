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
  debug(message: string): void {
    if (this.verbose) process.stderr.write(`  ${message}\n`)
  }
  info(message: string): void {
    process.stderr.write(`${message}\n`)
  }
  warning(message: string, where?: Annotation): void {
    process.stderr.write(`warning: ${at(where)}${message}\n`)
  }
  error(message: string, where?: Annotation): void {
    process.stderr.write(`error: ${at(where)}${message}\n`)
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    process.stderr.write(`== ${title}\n`)
    return fn()
  }
}

function at(where?: Annotation): string {
  if (!where?.file) return ''
  return `${where.file}${where.line ? `:${where.line}` : ''}${where.column ? `:${where.column}` : ''}: `
}
