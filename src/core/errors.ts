/**
 * The one error type the engine throws on purpose. Its message is a single sentence a user can
 * act on; `host` and `phase` say where it happened. Adapters print `message` and fail the step;
 * anything that is not an ActionError is a bug and is reported as such.
 */
export class ActionError extends Error {
  readonly host?: string
  readonly phase?: string
  readonly input?: string

  constructor(
    message: string,
    where: { host?: string; phase?: string; input?: string; cause?: unknown } = {}
  ) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause })
    this.name = 'ActionError'
    this.host = where.host
    this.phase = where.phase
    this.input = where.input
  }
}

/** An input the user gave is not acceptable. The message names the input. */
export function badInput(input: string, problem: string): ActionError {
  return new ActionError(`Input '${input}' ${problem}`, { input })
}

/** The text to show a user for any thrown value: ActionErrors as they are, others as one line. */
export function describeError(err: unknown): string {
  if (err instanceof ActionError) return err.message
  if (err instanceof Error) {
    const first = (err.message || err.name).split('\n')[0]
    return `Unexpected internal error: ${first}`
  }
  return `Unexpected internal error: ${String(err)}`
}
