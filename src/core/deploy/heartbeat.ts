/**
 * The runner's half of the dead-man switch. While the runner lives it sends the host a heartbeat
 * every few seconds over the host's SSH connection; each one pushes the watchdog's deadline to
 * now + confirm-timeout. If the runner dies or the connection drops, the beats stop and the host
 * restores the previous generation within confirm-timeout (+ the watchdog's 1 s poll), however
 * long the health checks were allowed to take.
 *
 * A channel that ends (a dropped connection) is opened again on the next beat, through a new
 * connection when needed; if the watchdog fired meanwhile, the host says so and `fired` is set.
 */
import type { Logger } from '../log.js'
import type { LongRunning } from '../process.js'
import type { RemoteSystem } from './remote-system.js'

/** Seconds between beats: a quarter of confirm-timeout, at least 1, at most 5. */
export function beatInterval(confirmSeconds: number): number {
  return Math.max(1, Math.min(5, Math.floor(confirmSeconds / 4)))
}

export class Heartbeat {
  /** Beats the host acknowledged. */
  acknowledged = 0
  /** The host's watchdog fired (the previous generation is being or was restored). */
  fired = false
  private sent = 0
  private channel: LongRunning | null = null
  private timer: NodeJS.Timeout | null = null
  private busy = false
  private stopped = false

  constructor(
    private readonly system: RemoteSystem,
    private readonly id: string,
    private readonly confirmSeconds: number,
    /** How long the channel may live at most (the deploy's longest possible run). */
    private readonly maxSeconds: number,
    private readonly logger?: Logger
  ) {}

  /** Opens the channel and waits for the first beat's answer; false when the host did not answer. */
  async start(): Promise<boolean> {
    const first = await this.beat(30_000)
    if (!first) return false
    this.timer = setInterval(() => void this.tick(), beatInterval(this.confirmSeconds) * 1000)
    this.timer.unref()
    return true
  }

  /** Stops beating (before confirming, before a rollback, at the end). */
  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.channel?.closeInput()
    const ch = this.channel
    this.channel = null
    if (ch)
      void Promise.race([ch.done, new Promise(r => setTimeout(r, 5000).unref())]).then(() =>
        ch.kill()
      )
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped || this.fired) return
    this.busy = true
    try {
      await this.beat(beatInterval(this.confirmSeconds) * 4000)
    } finally {
      this.busy = false
    }
  }

  /** Sends one beat (opening the channel when it is not open) and waits for its answer. */
  private async beat(waitMs: number): Promise<boolean> {
    if (!this.channel || !this.channel.write('')) {
      this.channel?.kill()
      this.channel = null
      try {
        await this.system.connect('confirm', 'reopening the connection for the heartbeat')
      } catch {
        this.logger?.debug(`${this.system.host}: heartbeat: the host does not answer`)
        return false
      }
      if (this.stopped) return false
      this.channel = this.system.heartbeatChannel(this.id, this.confirmSeconds, this.maxSeconds)
    }
    const n = ++this.sent
    const ch = this.channel
    ch.write(`${n}\n`)
    const answer = await ch.waitForLine(
      l => l === `nix-deploy-beat ${n}` || l === 'nix-deploy-fired',
      waitMs
    )
    if (answer === 'nix-deploy-fired') {
      this.fired = true
      return false
    }
    if (answer === null) {
      // No answer: the channel is gone or stuck; the next beat opens a new one.
      if (this.channel === ch) {
        ch.kill()
        this.channel = null
      }
      return false
    }
    this.acknowledged++
    return true
  }
}
