/**
 * `drift`: which hosts do not run what they should. Reads the inputs, selects the hosts (host |
 * hosts | on), finds each host's expected system (`expected: deployed`: its last successful
 * deployment in `environment`, through the `deployedRecords` hook the caller gives, since those
 * records live on GitHub; `flake`: its toplevel's outPath as the flake evaluates now, evaluated,
 * never built), then asks every host over one SSH connection what it runs and booted
 * (src/core/drift.ts). A host with no successful deployment on record is compared with the flake
 * instead, and a notice says so. The GitHub side is src/actions/drift.ts; the terminal's is cli.ts.
 */
import { ActionError } from '../core/errors.js'
import { checkHost, type DriftReport, type DriftResult, type Expectation } from '../core/drift.js'
import { parseBool, parseEnum, parseFlakeRef, parsePositiveInt } from '../core/inputs.js'
import { evalSystemOutPaths } from '../core/flake.js'
import { SshSession, type Remote } from '../core/ssh.js'
import { mapLimit } from '../core/deploy/rollout.js'
import { remotes, selectDeployHosts } from './deploy.js'
import { defaultBool, defaultInt, defaultOf } from './inputs.js'
import { sshSettingsFromInputs } from './ssh-inputs.js'
import type { CommandContext } from './types.js'

const D = (name: string) => defaultOf('drift', name)

/** A host's last successful deployment on record (read by the caller from GitHub). */
export interface DeployedRecord {
  storePath: string
  deploymentId: number
  sha: string
  createdAt: string
}

export interface DriftHooks {
  /**
   * `expected: deployed`: each host's last successful deployment in `environment` (null: none on
   * record). Without it, `deployed` is refused with a sentence saying where it works.
   */
  deployedRecords?: (
    environment: string,
    hosts: string[]
  ) => Promise<Map<string, DeployedRecord | null>>
  tempRoot?: string
  onSession?: (dir: string) => void
  terminal?: boolean
}

export interface DriftRun {
  report: DriftReport
  flake: string
  /** The `issue` input. */
  issue: boolean
}

/** Each host's toplevel outPath as the flake evaluates now: nothing built. */
async function flakeToplevels(
  ctx: CommandContext,
  flake: string,
  hosts: string[]
): Promise<Map<string, string>> {
  const paths = await ctx.logger.group(`Evaluating the systems of ${hosts.join(', ')}`, () =>
    evalSystemOutPaths(flake, hosts, { cwd: ctx.cwd, logger: ctx.logger, phase: 'evaluate' })
  )
  return new Map(hosts.map(h => [h, paths[h]]))
}

export async function driftCommand(ctx: CommandContext, hooks: DriftHooks = {}): Promise<DriftRun> {
  const log = ctx.logger
  const expectedMode = parseEnum(
    'expected',
    ctx.get('expected'),
    ['deployed', 'flake'] as const,
    D('expected') as 'deployed'
  )
  const environment = ctx.get('environment') || D('environment')
  const issue = parseBool('issue', ctx.get('issue'), defaultBool('drift', 'issue'))
  const maxParallel = parsePositiveInt(
    'max-parallel',
    ctx.get('max-parallel'),
    defaultInt('drift', 'max-parallel'),
    { max: 256 }
  )
  const flake = parseFlakeRef('flake', ctx.get('flake') || D('flake'))
  const ssh = sshSettingsFromInputs(ctx.get, { terminal: hooks.terminal })
  if (expectedMode === 'deployed' && !hooks.deployedRecords)
    throw new ActionError(
      "expected: deployed reads GitHub's deployment records, which need GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name) in the environment: set them, or use expected: flake.",
      { input: 'expected' }
    )

  // None of host, hosts and on: every host of the flake (a scheduled check of the whole fleet).
  const every = !ctx.get('host') && !ctx.get('hosts') && !ctx.get('on')
  const selectCtx: CommandContext = every
    ? { ...ctx, get: n => (n === 'on' ? '*' : ctx.get(n)) }
    : ctx
  // The inventory gives the SSH targets (not needed for host + target alone).
  const sel = await selectDeployHosts(selectCtx, !(ctx.get('host') && ctx.get('target')), 'check')
  const remoteOf = remotes(ctx, sel)

  const expected = new Map<string, Expectation>()
  if (expectedMode === 'deployed') {
    const records = await log.group(
      `Reading the deployment records of environment '${environment}'`,
      () => hooks.deployedRecords!(environment, sel.hosts)
    )
    for (const h of sel.hosts) {
      const r = records.get(h)
      if (r)
        expected.set(h, {
          storePath: r.storePath,
          from: 'deployment',
          deployment: { id: r.deploymentId, sha: r.sha, createdAt: r.createdAt }
        })
    }
  }
  const missing = sel.hosts.filter(h => !expected.has(h))
  if (missing.length) {
    if (expectedMode === 'deployed')
      (log.notice ?? log.info).call(
        log,
        `No successful deployment of ${missing.join(', ')} is on record in environment '${environment}': ${missing.length === 1 ? 'it is' : 'they are'} compared with the flake's system instead.`
      )
    const paths = await flakeToplevels(ctx, flake, missing)
    for (const h of missing) expected.set(h, { storePath: paths.get(h)!, from: 'flake' })
  }

  const session = SshSession.create(ssh, hooks.tempRoot)
  hooks.onSession?.(session.dir)
  let results: DriftResult[]
  try {
    results = await mapLimit(sel.hosts, maxParallel, async host => {
      const r = await checkHost({
        session,
        remote: remoteOf.get(host) as Remote,
        expected: expected.get(host)!,
        logger: log
      })
      const line = `${host}: ${r.state}${r.reason ? ` (${r.reason})` : ''}${r.diff ? `; diff: ${r.diff.summary}` : ''}`
      if (r.state === 'unreachable') log.warning(line)
      else log.info(line)
      if (r.diffNote) log.info(`${host}: ${r.diffNote}`)
      return r
    })
  } finally {
    await session.close()
    session.dispose()
  }
  return {
    report: {
      results,
      expected: expectedMode,
      ...(expectedMode === 'deployed' ? { environment } : {})
    },
    flake,
    issue
  }
}
