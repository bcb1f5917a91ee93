/**
 * Every secret the process knows (private keys, tokens). Everything the process runner logs or
 * puts into an error goes through `scrub`, so a secret echoed by ssh or nix never reaches a log.
 */
export class Secrets {
  private readonly values = new Set<string>()

  add(value: string | undefined): void {
    if (!value) return
    const trimmed = value.trim()
    if (trimmed.length < 4) return
    this.values.add(trimmed)
    // Multi-line secrets (private keys) are also masked line by line: tools echo them that way.
    for (const line of trimmed.split(/\r?\n/)) {
      if (line.trim().length >= 8) this.values.add(line.trim())
    }
  }

  list(): string[] {
    return [...this.values]
  }

  scrub(text: string): string {
    let out = text
    // Longest first, so a whole key is replaced before its lines are.
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) {
      if (out.includes(value)) out = out.split(value).join('***')
    }
    return out
  }
}

/** The process-wide registry. */
export const secrets = new Secrets()
