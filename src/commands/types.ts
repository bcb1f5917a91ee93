import type { Logger } from '../core/log.js'

/** Reads one input by its action.yml name ('' when unset); the adapter or the CLI provides it. */
export type InputReader = (name: string) => string

export interface CommandContext {
  get: InputReader
  cwd: string
  logger: Logger
}
