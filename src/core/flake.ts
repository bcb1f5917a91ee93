/**
 * The hosts of a flake: their names, systems, tags and SSH targets, read in two evaluations
 * (nixosConfigurations, and deploy-rs's `deploy.nodes` when the flake has it), never one process
 * per host. Target resolution follows the contract: the `target` input, then deploy-rs, then
 * colmena's `deployment.*` options, then networking.fqdn, networking.hostName, the attribute name.
 */
import { ActionError } from './errors.js'
import type { Logger } from './log.js'
import { nixEvalJsonOptional, nixString } from './nix.js'
import { parseTarget, validateHostName, type Target } from './target.js'

export interface HostInfo {
  /** The attribute name under nixosConfigurations. */
  name: string
  system: string | null
  hostName: string | null
  fqdn: string | null
  tags: string[]
  /** Where the suite connects to; null when the flake's value is invalid (see targetError). */
  target: Target | null
  /** Why `target` is null: thrown when the host is used, so one bad host does not break the rest. */
  targetError?: ActionError
  /** Where `target` came from, for messages ("deploy.nodes.web1.hostname"). */
  targetSource: string
  /** Extra ssh options from deploy-rs `sshOpts` (checked against an allow-list). */
  sshOptions: string[]
}

interface RawHost {
  hostName: string | null
  fqdn: string | null
  system: string | null
  targetHost: string | null
  targetUser: string | null
  targetPort: number | null
  tags: unknown
}

interface RawDeployNode {
  hostname: string | null
  sshUser: string | null
  user: string | null
  sshOpts: unknown
}

interface RawDeploy {
  sshUser: string | null
  sshOpts: unknown
  nodes: Record<string, RawDeployNode>
}

/** Reads each configuration's metadata; `tryEval` keeps one host's optional fields from failing all. */
const INVENTORY_APPLY = `cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`

/** deploy-rs: only the connection settings; `profiles` (expensive to evaluate) are never touched. */
const DEPLOY_APPLY = `d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`

export interface InventoryOptions {
  logger?: Logger
  cwd?: string
}

export async function readInventory(
  flake: string,
  opts: InventoryOptions = {}
): Promise<HostInfo[]> {
  const configs = await nixEvalJsonOptional<Record<string, RawHost>>(
    `${flake}#nixosConfigurations`,
    {
      apply: INVENTORY_APPLY,
      logger: opts.logger,
      cwd: opts.cwd,
      phase: 'evaluate',
      what: `evaluating the hosts of '${flake}'`
    }
  )
  if (configs === undefined) {
    throw new ActionError(
      `The flake '${flake}' has no nixosConfigurations output, so it has no hosts.`,
      {
        phase: 'evaluate',
        input: 'flake'
      }
    )
  }
  const deploy = await nixEvalJsonOptional<RawDeploy>(`${flake}#deploy`, {
    apply: DEPLOY_APPLY,
    logger: opts.logger,
    cwd: opts.cwd,
    phase: 'evaluate',
    what: `evaluating deploy.nodes of '${flake}'`
  })
  return Object.keys(configs)
    .sort()
    .map(name => hostInfo(name, configs[name], deploy))
}

function hostInfo(name: string, raw: RawHost, deploy: RawDeploy | undefined): HostInfo {
  validateHostName(name, 'A nixosConfigurations attribute name')
  const tags = Array.isArray(raw.tags) ? (raw.tags as string[]) : []
  for (const tag of tags) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(tag)) {
      throw new ActionError(
        `Host ${name} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,
        {
          host: name,
          phase: 'evaluate'
        }
      )
    }
  }
  try {
    checkSystem(name, raw.system)
    return {
      name,
      system: raw.system,
      hostName: raw.hostName,
      fqdn: raw.fqdn,
      tags,
      ...resolveTarget(name, raw, deploy)
    }
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    return {
      name,
      system: raw.system,
      hostName: raw.hostName,
      fqdn: raw.fqdn,
      tags,
      target: null,
      targetError: err,
      targetSource: '',
      sshOptions: []
    }
  }
}

/** The host's target, or the one-sentence error that says why its flake data is unusable. */
export function requireTarget(host: HostInfo): Target {
  if (host.target) return host.target
  throw (
    host.targetError ?? new ActionError(`Host ${host.name} has no SSH target.`, { host: host.name })
  )
}

function resolveTarget(
  name: string,
  raw: RawHost,
  deploy: RawDeploy | undefined
): Pick<HostInfo, 'target' | 'targetSource' | 'sshOptions'> {
  const node = deploy?.nodes?.[name]
  let target: Target
  let targetSource: string
  let sshOptions: string[] = []
  if (node?.hostname) {
    targetSource = `Host ${name}'s deploy.nodes.${name}.hostname`
    const user = node.sshUser ?? deploy?.sshUser ?? null
    target = parseTarget(
      user ? `${user}@${bracket(node.hostname)}` : bracket(node.hostname),
      targetSource
    )
    const rawOpts = [...asStrings(deploy?.sshOpts), ...asStrings(node.sshOpts)]
    sshOptions = checkFlakeSshOptions(rawOpts, `deploy.nodes.${name}.sshOpts`, name)
    // deploy-rs users give the port as `sshOpts = [ "-p" "2222" ]`: it is the target's port.
    const p = sshOptions.indexOf('-p')
    if (p >= 0) {
      target = { ...target, port: Number(sshOptions[p + 1]) }
      sshOptions = [...sshOptions.slice(0, p), ...sshOptions.slice(p + 2)]
    }
  } else if (raw.targetHost) {
    targetSource = `Host ${name}'s config.deployment.targetHost`
    let text = bracket(raw.targetHost)
    if (raw.targetUser) text = `${raw.targetUser}@${text}`
    if (raw.targetPort) text = `${text}:${raw.targetPort}`
    target = parseTarget(text, targetSource)
  } else if (raw.fqdn) {
    targetSource = `Host ${name}'s config.networking.fqdn`
    target = parseTarget(raw.fqdn, targetSource)
  } else if (raw.hostName) {
    targetSource = `Host ${name}'s config.networking.hostName`
    target = parseTarget(raw.hostName, targetSource)
  } else {
    targetSource = `Host ${name}'s attribute name`
    target = parseTarget(name, targetSource)
  }
  return { target, targetSource, sshOptions }
}

/**
 * A host's Nix system (`x86_64-linux`, `aarch64-darwin`, ...) from `nixpkgs.hostPlatform.system`:
 * flake data that reaches the matrix output, where workflows write `${{ matrix.system }}`, so it
 * must look like a system name and nothing else (no newline, `::`, backtick or HTML).
 */
function checkSystem(name: string, system: string | null): void {
  if (system === null || /^[A-Za-z0-9_]{1,32}(?:-[A-Za-z0-9_]{1,32}){1,3}$/.test(system)) return
  throw new ActionError(
    `Host ${name}'s nixpkgs.hostPlatform.system is ${printable(system)}, which is not a Nix system name such as x86_64-linux.`,
    { host: name, phase: 'evaluate' }
  )
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

/**
 * ssh options that come from the flake (deploy-rs `sshOpts`) are data a pull request controls,
 * so only options that cannot run commands or weaken host-key checking are accepted.
 */
const SAFE_SSH_O_KEYS = new Set([
  'port',
  'connecttimeout',
  'connectionattempts',
  'serveraliveinterval',
  'serveralivecountmax',
  'compression',
  'ipqos',
  'addressfamily',
  'tcpkeepalive'
])

export function checkFlakeSshOptions(options: string[], source: string, host: string): string[] {
  const out: string[] = []
  const refuse = (opt: string, why: string): never => {
    throw new ActionError(
      `Host ${host}: ${source} contains the ssh option '${printable(opt)}', which is not allowed from flake data (${why}); pass it through the workflow's 'ssh-options' input instead.`,
      { host, phase: 'evaluate' }
    )
  }
  for (let i = 0; i < options.length; i++) {
    const opt = options[i]
    if (opt === '-4' || opt === '-6' || opt === '-C') {
      out.push(opt)
    } else if (opt === '-p' || opt.startsWith('-p')) {
      const value = opt === '-p' ? options[++i] : opt.slice(2)
      if (!value || !isPort(value))
        refuse(`${opt} ${value ?? ''}`.trim(), 'the port must be a number from 1 to 65535')
      out.push('-p', value)
    } else if (opt === '-J' || opt.startsWith('-J')) {
      // A jump host: ssh opens the jump connection with none of the pinned settings (the key,
      // the known_hosts file, StrictHostKeyChecking, BatchMode), so it is not accepted.
      refuse(opt, 'a jump host would be reached without the pinned key and known hosts')
    } else if (opt === '-o' || opt.startsWith('-o')) {
      const value = opt === '-o' ? options[++i] : opt.slice(2)
      const m = /^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(value ?? '')
      if (!m) refuse(value ?? opt, 'expected -o Key=Value')
      if (!SAFE_SSH_O_KEYS.has(m![1].toLowerCase()))
        refuse(
          `-o${value}`,
          `'${m![1]}' can run commands, reach other hosts or weaken host key checking`
        )
      if (m![2].startsWith('-')) refuse(`-o${value}`, 'a value may not start with -')
      if (m![1].toLowerCase() === 'port' && !isPort(m![2]))
        refuse(`-o${value}`, 'the port must be a number from 1 to 65535')
      out.push('-o', `${m![1]}=${m![2]}`)
    } else {
      refuse(opt, 'only -p, -4, -6, -C and a few -o options are accepted')
    }
  }
  return out
}

function isPort(text: string): boolean {
  return /^[1-9][0-9]{0,4}$/.test(text) && Number(text) <= 65535
}

function printable(s: string): string {
  const shown = JSON.stringify(s).slice(1, -1)
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown
}

/**
 * The derivation path of every named host's toplevel, in ONE evaluation of the flake (or of the
 * flake at a git revision). Hosts missing from the flake are absent from the result.
 */
export async function evalToplevelDrvPaths(
  flakeRef: string,
  hosts: string[],
  opts: InventoryOptions & { phase?: string } = {}
): Promise<Record<string, string>> {
  for (const h of hosts) validateHostName(h, `host '${h}'`)
  const wanted = `[ ${hosts.map(nixString).join(' ')} ]`
  const apply = `cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${wanted}))`
  const result = await nixEvalJsonOptional<Record<string, string>>(
    `${flakeRef}#nixosConfigurations`,
    {
      apply,
      logger: opts.logger,
      cwd: opts.cwd,
      phase: opts.phase ?? 'evaluate',
      what: `evaluating the toplevel derivations of ${hosts.length} host(s) in '${flakeRef}'`
    }
  )
  return result ?? {}
}
