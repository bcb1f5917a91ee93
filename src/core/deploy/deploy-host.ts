/**
 * Deploys one host. The story, in the order of the files in ./phases:
 *
 *   probe → lock → copy → record → arm → activate → verify → confirm
 *                                             ↘ (mode boot + reboot) reboot → verify
 *   and, when anything after the switch fails, rollback.
 *
 * Each phase returns a typed outcome; this file only decides what comes next and writes the
 * host's record (a plain HostResult). A host is never left half-changed without saying exactly
 * what it runs.
 */
import { hostSentence } from '../errors.js'
import type { HealthCheck } from '../health-config.js'
import type { Logger } from '../log.js'
import type { Remote, SshSession } from '../ssh.js'
import type { Heartbeat } from './heartbeat.js'
import { RemoteSystem, type Probe } from './remote-system.js'
import { activate, missingSpecialisation, specialisationPath } from './phases/activate.js'
import { arm } from './phases/arm.js'
import { confirm } from './phases/confirm.js'
import { copy } from './phases/copy.js'
import { lock } from './phases/lock.js'
import { describeFailure, type Failure, type HostContext } from './phases/outcome.js'
import { probe, readBack } from './phases/probe.js'
import { reboot } from './phases/reboot.js'
import { record, type RollbackPoint } from './phases/record.js'
import { awaitWatchdog, bootPrevious, rollBack } from './phases/rollback.js'
import { checkHostHealth, verify } from './phases/verify.js'
import {
  newHostResult,
  type DeployMode,
  type HostResult,
  type HostStatus,
  type PhaseName
} from '../model.js'

export { checkHostHealth } from './phases/verify.js'
export { summarizeActivation } from './phases/activate.js'

export interface DeployHostOptions {
  session: SshSession
  remote: Remote
  storePath: string
  mode: DeployMode
  /** With mode boot: reboot into the new generation, prove it, and on failure boot the previous one. */
  reboot?: boolean
  healthChecks: HealthCheck[]
  healthTimeoutSeconds: number
  confirmTimeoutSeconds: number
  /** Roll back when anything fails after the switch (the `rollback` input). */
  rollback: boolean
  substituteOnTarget: boolean
  /** How long switch-to-configuration may run. */
  activationTimeoutSeconds: number
  /** Who deploys, for the lock ("run 4242 of octo/fleet"). */
  holder: string
  logger: Logger
  /** Called when a phase starts, for progress lines. */
  onPhase?: (host: string, phase: PhaseName) => void
  /** Activate this specialisation of the system (modes switch and test; the profile gets the system). */
  specialisation?: string
  /** NIXOS_INSTALL_BOOTLOADER=1 for switch-to-configuration (nixos-rebuild --install-bootloader). */
  installBootloader?: boolean
}

export function newDeployId(): string {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0')}`
}

export async function deployHost(opts: DeployHostOptions): Promise<HostResult> {
  const d = new HostDeploy(opts)
  const host = opts.remote.host

  // What runs there now; nothing to do when it already runs the wanted system (with a
  // specialisation: /run/current-system is the specialisation's own system).
  const wanted = opts.specialisation
    ? specialisationPath(opts.storePath, opts.specialisation)
    : opts.storePath
  const now = await probe(d.ctx, wanted)
  if (now.kind !== 'ok') return d.failed('probe', now)
  d.found(now.value)
  const running =
    now.value.current !== null &&
    (opts.specialisation
      ? now.value.current === now.value.wantedReal
      : now.value.current === opts.storePath)
  if (running && opts.mode !== 'boot') {
    opts.logger.info(`${host}: already runs ${opts.storePath}; nothing to do.`)
    return d.end('unchanged')
  }
  if (!now.value.flock)
    return d.failed('probe', {
      kind: 'host-state',
      detail:
        "the host has no 'flock' command (util-linux), which the deploy lock and the rollback watchdog need"
    })

  const held = await lock(d.ctx, opts.holder, d.maxSeconds, wanted)
  if (held.kind !== 'ok') return d.failed('lock', held)
  try {
    return await d.deployLocked(held.value.state)
  } finally {
    d.heartbeat?.stop()
    await held.value.release()
  }
}

/** One host's deploy: the phases' shared context, the record, and the decisions between phases. */
class HostDeploy {
  readonly ctx: HostContext
  readonly result: HostResult
  readonly id = newDeployId()
  heartbeat: Heartbeat | null = null
  private point: RollbackPoint | null = null
  private readonly started = Date.now()

  constructor(private readonly opts: DeployHostOptions) {
    this.result = newHostResult(opts.remote.host, 'failed', opts.storePath)
    this.ctx = {
      session: opts.session,
      remote: opts.remote,
      system: new RemoteSystem(opts.session, opts.remote, opts.logger),
      logger: opts.logger,
      result: this.result,
      onPhase: opts.onPhase
    }
  }

  /** The longest this deploy can take (caps the lock's and the heartbeat's sessions). */
  get maxSeconds(): number {
    const o = this.opts
    return (
      o.activationTimeoutSeconds + o.healthTimeoutSeconds * 2 + o.confirmTimeoutSeconds + 4 * 3600
    )
  }

  get host(): string {
    return this.opts.remote.host
  }

  found(p: Probe): void {
    this.result.previousStorePath = p.current
    this.result.previousGeneration = p.generation
    this.result.activeStorePath = p.current
    this.result.generation = p.generation
  }

  /** The phases under the host lock: copy, record, arm, activate, then prove and confirm. */
  async deployLocked(state: Probe): Promise<HostResult> {
    const o = this.opts
    const copied = await copy(this.ctx, o.storePath, {
      alreadyThere: state.hasWanted,
      substituteOnTarget: o.substituteOnTarget
    })
    if (copied.kind !== 'ok') return this.failed('copy', copied)
    if (o.specialisation) {
      const missing = await missingSpecialisation(this.ctx, o.storePath, o.specialisation)
      if (missing) return this.failed('activate', missing)
    }

    // What to come back to: the state read under the lock (the host may have changed since the
    // probe; the copy does not change the running system).
    const recorded = await record(this.ctx, state, o.rollback)
    if (recorded.kind !== 'ok') return this.failed('record', recorded)
    this.found(state)
    this.point = recorded.value

    // The dead-man switch guards the running system (mode boot leaves it running).
    if (o.rollback && this.point && o.mode !== 'boot') {
      const armed = await arm(this.ctx, {
        id: this.id,
        point: this.point,
        mode: o.mode,
        confirmSeconds: o.confirmTimeoutSeconds,
        activationSeconds: o.activationTimeoutSeconds,
        maxSeconds: this.maxSeconds
      })
      if (armed.kind !== 'ok') return this.failed('arm', armed)
      this.heartbeat = armed.value
    }

    const activated = await activate(this.ctx, {
      id: this.id,
      toplevel: o.storePath,
      action: o.mode,
      profile: o.mode === 'test' ? 'keep' : 'set',
      specialisation: o.specialisation,
      installBootloader: o.installBootloader,
      timeoutSeconds: o.activationTimeoutSeconds,
      onLine: line => o.logger.info(`${this.host}: ${line}`)
    })
    if (activated.kind !== 'ok') return this.recover('activate', activated)

    if (o.mode === 'boot') return o.reboot ? this.rebootAndProve(state) : this.bootDefaultSet()

    const proven = await verify(this.ctx, {
      healthChecks: o.healthChecks,
      healthTimeoutSeconds: o.healthTimeoutSeconds,
      freshLogin: true,
      heartbeat: this.heartbeat
    })
    if (proven.kind !== 'ok') return this.recover('verify', proven)

    if (this.heartbeat) {
      const confirmed = await confirm(this.ctx, this.id, this.heartbeat)
      if (confirmed.kind !== 'ok') return this.recover('confirm', confirmed)
    }
    const after = await readBack(this.ctx, o.storePath)
    this.result.generation = after?.generation ?? null
    this.result.activeStorePath = after?.current ?? o.storePath
    o.logger.info(`${this.host}: deployed ${o.storePath}${this.generationText()}.`)
    return this.end('deployed')
  }

  /** mode boot without reboot: the new generation is the boot default; the running one stays. */
  private async bootDefaultSet(): Promise<HostResult> {
    this.result.generation = (await readBack(this.ctx))?.generation ?? null
    this.result.activeStorePath = this.point?.storePath ?? this.result.previousStorePath
    this.opts.logger.info(
      `${this.host}: ${this.opts.storePath} is the boot default; it becomes active at the next reboot.`
    )
    return this.end('deployed')
  }

  /** mode boot + reboot: reboot, wait for a new boot id, prove the host; or boot the previous generation again. */
  private async rebootAndProve(before: Probe): Promise<HostResult> {
    const o = this.opts
    const booted = await reboot(this.ctx, {
      bootIdBefore: before.bootId,
      expected: o.storePath,
      waitSeconds: o.activationTimeoutSeconds
    })
    if (booted.kind !== 'ok') return this.recoverBoot('reboot', booted)
    // The new boot's connection is the host's connection now; no watchdog survives a reboot.
    const proven = await verify(this.ctx, {
      healthChecks: o.healthChecks,
      healthTimeoutSeconds: o.healthTimeoutSeconds,
      freshLogin: false
    })
    if (proven.kind !== 'ok') return this.recoverBoot('verify', proven)
    this.result.activeStorePath = booted.value.current
    this.result.generation = booted.value.generation
    o.logger.info(`${this.host}: rebooted into ${o.storePath}${this.generationText()}.`)
    return this.end('deployed')
  }

  /** Something failed after the switch: restore the rollback point, or say why not. */
  private async recover(failedPhase: PhaseName, failure: Failure): Promise<HostResult> {
    const o = this.opts
    const point = this.point
    // No more heartbeats: from here on the host's watchdog acts on its own if the runner cannot.
    this.heartbeat?.stop()
    this.result.failedPhase = failedPhase
    const why = describeFailure(failure)
    if (!point) {
      const now = await this.readNow()
      const gen = now?.generation != null ? ` (generation ${now.generation})` : ''
      return this.end(
        'failed',
        failedPhase,
        `${why}; the host had no previous generation to roll back to, so it stays on ${now?.current ?? o.storePath}${gen}`
      )
    }
    if (!o.rollback) {
      const now = await this.readNow()
      return this.end(
        'failed',
        failedPhase,
        `${why}; rollback is off, so the host stays on ${now?.current ?? 'an unknown system'}`
      )
    }
    const armed = this.heartbeat !== null
    if (armed && (failure.kind === 'connection-lost' || failure.kind === 'watchdog-fired')) {
      // The host restores itself; wait for that and check.
      const restored = await awaitWatchdog(this.ctx, {
        id: this.id,
        point,
        confirmSeconds: o.confirmTimeoutSeconds,
        activationSeconds: o.activationTimeoutSeconds,
        because: failure.kind
      })
      if (restored.kind !== 'ok') {
        const seconds = restored.kind === 'not-back' ? restored.seconds : 0
        return this.end(
          'failed',
          failedPhase,
          `${why}; the host did not answer again within ${seconds} s, so whether its watchdog restored ${point.storePath} is unknown`
        )
      }
      return this.checkRolledBack(
        failedPhase,
        `${why}; the host's watchdog restored the previous generation`
      )
    }
    const back = await rollBack(this.ctx, {
      id: this.id,
      point,
      mode: o.mode,
      armed,
      activationSeconds: o.activationTimeoutSeconds
    })
    if (back.kind !== 'ok') {
      const now = await this.readNow()
      return this.end(
        'failed',
        failedPhase,
        `${why}; the rollback to ${point.storePath} failed too (${describeFailure(back)}): the host runs ${now?.current ?? 'an unknown system'}`
      )
    }
    return this.checkRolledBack(failedPhase, why)
  }

  /** After a rollback: the host must run the rollback point again; its health is reported. */
  private async checkRolledBack(failedPhase: PhaseName, why: string): Promise<HostResult> {
    const point = this.point as RollbackPoint
    const now = await this.readNow()
    if (!now || now.current !== point.storePath) {
      return this.end(
        'failed',
        failedPhase,
        `${why}; after the rollback the host runs ${now?.current ?? 'an unknown system'}, not the previous ${point.storePath}`
      )
    }
    // A mode boot rollback changes the boot default; the running system is what it was.
    const again = await checkHostHealth({ ...this.ctx, ...this.opts })
    return this.end(
      'rolled-back',
      failedPhase,
      `${why}; rolled back to ${point.storePath}${this.generationText()}${healthText(again)}`
    )
  }

  /** A reboot into the new generation went wrong: make the previous one the boot default and boot it. */
  private async recoverBoot(failedPhase: PhaseName, failure: Failure): Promise<HostResult> {
    const o = this.opts
    const point = this.point
    this.result.failedPhase = failedPhase
    const why = describeFailure(failure)
    if (failure.kind === 'not-back') {
      this.result.activeStorePath = null
      this.result.generation = null
      return this.end(
        'failed',
        failedPhase,
        `${why}; its boot default is the new generation ${o.storePath}, and nothing more can be done over SSH until it answers`
      )
    }
    const now = await this.readNow()
    if (!point)
      return this.end(
        'failed',
        failedPhase,
        `${why}; the host had no previous generation to boot instead, so it stays on ${now?.current ?? o.storePath}`
      )
    if (!o.rollback)
      return this.end(
        'failed',
        failedPhase,
        `${why}; rollback is off, so the host stays on ${now?.current ?? 'an unknown system'}`
      )
    const back = await bootPrevious(this.ctx, {
      id: this.id,
      point,
      activationSeconds: o.activationTimeoutSeconds
    })
    if (back.kind !== 'ok') {
      const again = await this.readNow()
      return this.end(
        'failed',
        failedPhase,
        `${why}; booting the previous generation failed too (${describeFailure(back)}): the host runs ${again?.current ?? 'an unknown system'}`
      )
    }
    this.result.activeStorePath = back.value.current
    this.result.generation = back.value.generation
    const health = await checkHostHealth({ ...this.ctx, ...o })
    return this.end(
      'rolled-back',
      failedPhase,
      `${why}; rebooted into the previous generation ${point.storePath}${this.generationText()}${healthText(health)}`
    )
  }

  /** What the host runs now, into the record (null when it does not answer). */
  private async readNow(): Promise<Probe | null> {
    const now = await readBack(this.ctx, this.opts.storePath)
    this.result.activeStorePath = now?.current ?? null
    this.result.generation = now?.generation ?? null
    return now
  }

  private generationText(): string {
    return this.result.generation !== null ? ` (generation ${this.result.generation})` : ''
  }

  /** A phase before the switch failed: nothing changed on the host. */
  failed(failedPhase: PhaseName, failure: Failure): HostResult {
    return this.end('failed', failedPhase, describeFailure(failure))
  }

  /** The record, finished: its status and, for a failure, the one sentence about it. */
  end(status: HostStatus, failedPhase?: PhaseName, why?: string): HostResult {
    this.result.status = status
    if (failedPhase && why) {
      this.result.failedPhase = failedPhase
      this.result.error = hostSentence({ host: this.host, phase: failedPhase, failed: true }, why)
    }
    this.result.durationSeconds = (Date.now() - this.started) / 1000
    return this.result
  }
}

function healthText(h: { ok: boolean; failure?: string }): string {
  return h.ok ? ', which is healthy' : `, which is not healthy either (${h.failure})`
}
