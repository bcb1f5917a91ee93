/**
 * The hosts of a flake: their names, systems, tags and SSH targets, read in a few evaluations
 * (one per output: nixosConfigurations, colmena's `colmenaHive`, deploy-rs's `deploy`), never
 * one process per host. Target resolution follows the contract: the `target` input, then
 * deploy-rs, then colmena's `deployment.*` options, then networking.fqdn, networking.hostName,
 * the attribute name.
 *
 * Where a host's system comes from (see `locateSystems`):
 *  - `nixosConfigurations.<h>.config.system.build.toplevel`, when the flake has that host;
 *  - else colmena's hive, as `colmena.lib.makeHive` produces it (zhaofengli/colmena,
 *    src/nix/hive/eval.nix, schema v0.5): `colmenaHive.toplevel.<h>`, with the node's
 *    `deployment` options read from `colmenaHive.deploymentConfig.<h>`;
 *  - deploy-rs's `deploy.nodes.<h>.profiles.system.path`, when the node is in no other output or
 *    that path is deploy-rs's activation wrapper (`activate.nixos`, a buildEnv named
 *    `activatable-<toplevel name>` whose first member is the toplevel): the toplevel inside it
 *    is what the host runs.
 */
import { ActionError } from './errors.js'
import type { Logger } from './log.js'
import { attrName, nixEvalJsonOptional, nixString } from './nix.js'
import { parseTarget, validateHostName, type Target } from './target.js'

/** The flake output a host's system comes from. */
export type HostSource = 'nixosConfigurations' | 'colmenaHive' | 'deploy'

export interface HostInfo {
  /** The attribute name (under nixosConfigurations, colmenaHive.nodes or deploy.nodes). */
  name: string
  /** The output the host was found in (its system may still come from deploy: see locateSystems). */
  source: HostSource
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
  /** Extra ssh options from deploy-rs `sshOpts` or colmena `sshOptions` (checked against an allow-list). */
  sshOptions: string[]
  /** What the flake asks for that the suite does not do (one sentence each, shown as notices). */
  notices: string[]
  /** deploy.nodes.<name> has a `system` profile (see locateSystems). */
  deploySystem?: boolean
}

/** What the inventory reads of one host's NixOS configuration or colmena node. */
export interface RawHost {
  hostName: string | null
  fqdn: string | null
  system: string | null
  targetHost: string | null
  targetUser: string | null
  targetPort: number | null
  tags: unknown
  /** colmena's deployment.sshOptions. */
  sshOptions?: unknown
  /** colmena deployment options set to values the suite does not honour (see NOT_HONOURED). */
  notHonoured?: unknown
}

export interface RawDeployNode {
  hostname: string | null
  sshUser: string | null
  user: string | null
  sshOpts: unknown
  /** The node's profile names (`system`, `home`, ...). */
  profiles?: unknown
  /** The Nix system of its `system` profile; read only for nodes in no other output. */
  system?: string | null
}

export interface RawDeploy {
  sshUser: string | null
  sshOpts: unknown
  nodes: Record<string, RawDeployNode>
}

/**
 * colmena's deployment options (src/nix/hive/options.nix) whose non-default values the suite
 * does not honour, with what it does instead. Honoured: targetHost (default: the node's name),
 * targetUser (default root), targetPort (default null: 22), tags, sshOptions (allow-listed).
 */
export const NOT_HONOURED: Record<string, string> = {
  buildOnTarget:
    'the system is built on the runner (or taken from a binary cache), never on the host',
  keys: 'no key is uploaded: keep secrets with a secret manager that runs on the host (agenix, sops-nix)',
  allowLocalDeployment: 'every host is deployed over SSH, the runner included',
  replaceUnknownProfiles:
    'the system profile gets its new generation whatever it pointed to before',
  privilegeEscalationCommand:
    "a target user other than root runs commands through sudo (input 'sudo')"
}

/**
 * Nix, shared by the inventory expressions: `dep` is a node's `deployment` attribute set (or
 * null); `depFields` reads what the suite honours, and the names of the options set to values it
 * does not honour. Each read is guarded by tryEval so one broken option does not fail every host.
 */
const NIX_HELPERS = `
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    str = v: if builtins.isString v then v else null;
    strs = v: if builtins.isList v then builtins.filter builtins.isString v else [];
    depFields = dep: if dep == null || !(builtins.isAttrs dep) then {
        targetHost = null; targetUser = null; targetPort = null; tags = []; sshOptions = []; notHonoured = [];
      } else {
        targetHost = str (try (dep.targetHost or null));
        targetUser = str (try (dep.targetUser or null));
        targetPort = let p = try (dep.targetPort or null); in if builtins.isInt p then p else null;
        tags = let t = try (dep.tags or []); in strs t;
        sshOptions = strs (try (dep.sshOptions or []));
        notHonoured = builtins.filter (x: x != null) [
          (if try (dep.buildOnTarget or false) == true then "buildOnTarget" else null)
          (let k = try (dep.keys or {}); in if builtins.isAttrs k && builtins.attrNames k != [] then "keys" else null)
          (if try (dep.allowLocalDeployment or false) == true then "allowLocalDeployment" else null)
          (if try (dep.replaceUnknownProfiles or true) == false then "replaceUnknownProfiles" else null)
          (let c = try (dep.privilegeEscalationCommand or [ "sudo" "-H" "--" ]);
           in if c == null || c == [ "sudo" "-H" "--" ] then null else "privilegeEscalationCommand")
        ];
      };`

/** Reads each configuration's metadata; `tryEval` keeps one host's optional fields from failing all. */
const INVENTORY_APPLY = `cs: builtins.mapAttrs (name: c:
  let ${NIX_HELPERS}
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
  } // depFields dep) cs`

/**
 * colmena's evaluated hive (the `colmenaHive` output of `colmena.lib.makeHive`): node names and
 * deployment options from `deploymentConfig` (cheap: no toplevel is evaluated), the system and
 * networking names from `nodes.<n>.config`. Anything without `deploymentConfig` is not a hive.
 */
export const HIVE_APPLY = `h:
  let ${NIX_HELPERS}
  in if !(builtins.isAttrs h) || !(h ? deploymentConfig) || !(builtins.isAttrs h.deploymentConfig) then null
  else builtins.mapAttrs (name: d:
    let
      node = try (h.nodes.\${name} or null);
      cfg = if builtins.isAttrs node then node.config or {} else {};
    in {
      hostName = str (try (cfg.networking.hostName or null));
      fqdn = str (try (cfg.networking.fqdn or null));
      system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or node.pkgs.stdenv.hostPlatform.system or null));
    } // depFields (try d)) h.deploymentConfig`

/**
 * deploy-rs's activation wrapper, unwrapped: `p: { wrapped; toplevel }`. deploy-rs's
 * `activate.nixos base` is `buildEnv { name = "activatable-" + toplevel.name; paths = [ toplevel
 * activate-script activate-rs ]; }`; nixpkgs' buildEnv keeps `paths` in passthru (recent
 * versions), `chosenOutputs` (structured attributes), or the JSON string `pkgs` (older ones).
 * Anything else is a system as it is (`wrapped = false`).
 */
export const UNWRAP_PROFILE = `p:
  let
    isAct = builtins.isAttrs p && builtins.isString (p.name or null)
      && builtins.substring 0 12 p.name == "activatable-";
    members =
      if p ? paths && builtins.isList p.paths then p.paths
      else if p ? chosenOutputs && builtins.isList p.chosenOutputs then map (o: builtins.head o.paths) p.chosenOutputs
      else if p ? pkgs && builtins.isString p.pkgs
      then map (o: builtins.head o.paths) (builtins.fromJSON (builtins.unsafeDiscardStringContext p.pkgs))
      else [];
    wrapped = isAct && builtins.length members > 0;
  in { inherit wrapped; toplevel = if wrapped then builtins.head members else p; }`

/** deploy-rs: connection settings and profile names; profile paths only for nodes no other output has. */
export function deployApply(known: string[]): string {
  return `d:
  let ${NIX_HELPERS}
    known = [ ${known.map(nixString).join(' ')} ];
    unwrap = ${UNWRAP_PROFILE};
    systemOf = v: let u = unwrap v.profiles.system.path; t = u.toplevel;
      in str (if builtins.isAttrs t then t.system or null else v.profiles.system.path.system or null);
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = strs (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = strs (v.sshOpts or []);
      profiles = let p = try (v.profiles or {}); in if builtins.isAttrs p then builtins.attrNames p else [];
      system = if builtins.elem n known then null else try (systemOf v);
    }) (d.nodes or {});
  }`
}

export interface InventoryOptions {
  logger?: Logger
  cwd?: string
}

/** The raw data of a flake's three host outputs (undefined: the flake has no such output). */
export interface FlakeHostData {
  configs?: Record<string, RawHost>
  hive?: Record<string, RawHost> | null
  deploy?: RawDeploy
}

export async function readInventory(
  flake: string,
  opts: InventoryOptions = {}
): Promise<HostInfo[]> {
  const evalOpts = (what: string) => ({
    logger: opts.logger,
    cwd: opts.cwd,
    phase: 'evaluate',
    what: `evaluating ${what} of '${flake}'`
  })
  const configs = await nixEvalJsonOptional<Record<string, RawHost>>(
    `${flake}#nixosConfigurations`,
    {
      apply: INVENTORY_APPLY,
      ...evalOpts('the hosts')
    }
  )
  const hive = await nixEvalJsonOptional<Record<string, RawHost> | null>(`${flake}#colmenaHive`, {
    apply: HIVE_APPLY,
    ...evalOpts('the colmena hive (colmenaHive)')
  })
  const known = [...Object.keys(configs ?? {}), ...Object.keys(hive ?? {})]
  const deploy = await nixEvalJsonOptional<RawDeploy>(`${flake}#deploy`, {
    apply: deployApply(known.filter(n => /^[A-Za-z0-9._-]{1,253}$/.test(n))),
    ...evalOpts('deploy.nodes')
  })
  const { hosts, notices } = hostsFromFlakeData(flake, { configs, hive, deploy })
  for (const n of notices) {
    if (opts.logger?.notice) opts.logger.notice(n)
    else opts.logger?.info(n)
  }
  return hosts
}

/**
 * The hosts of a flake from its raw data (pure: unit-tested). nixosConfigurations first; a colmena
 * node only when no configuration has its name; a deploy-rs node with a `system` profile only
 * when neither has it. deploy-rs connection settings apply to a host of any source. `notices`:
 * every sentence about what the flake asks for and the suite does not do.
 */
export function hostsFromFlakeData(
  flake: string,
  data: FlakeHostData
): { hosts: HostInfo[]; notices: string[] } {
  const { configs, deploy } = data
  const hive = data.hive ?? undefined
  if (configs === undefined && hive === undefined && deploy === undefined) {
    throw new ActionError(
      `The flake '${flake}' has no nixosConfigurations output, no colmenaHive output (colmena.lib.makeHive) and no deploy.nodes, so it has no hosts.`,
      { phase: 'evaluate', input: 'flake' }
    )
  }
  const out = new Map<string, HostInfo>()
  for (const name of Object.keys(configs ?? {}))
    out.set(name, hostInfo(name, 'nixosConfigurations', configs![name], deploy))
  for (const name of Object.keys(hive ?? {}))
    if (!out.has(name)) out.set(name, hostInfo(name, 'colmenaHive', hive![name], deploy))
  const loose: string[] = []
  for (const name of Object.keys(deploy?.nodes ?? {}).sort()) {
    const node = deploy!.nodes[name]
    const profiles = asStrings(node.profiles)
    if (!out.has(name) && profiles.includes('system')) {
      const raw: RawHost = {
        hostName: null,
        fqdn: null,
        system: node.system ?? null,
        targetHost: null,
        targetUser: null,
        targetPort: null,
        tags: []
      }
      out.set(name, hostInfo(name, 'deploy', raw, deploy))
    }
    const found = out.get(name)
    if (found && profiles.includes('system')) found.deploySystem = true
    const others = profiles.filter(p => p !== 'system')
    if (others.length === 0) continue
    const list = others.map(p => `profiles.${p}`).join(', ')
    const host = out.get(name)
    if (host)
      host.notices.push(
        `Host ${name}: deploy.nodes.${name}.${list} ${others.length > 1 ? 'are' : 'is'} not deployed: the suite deploys the system profile only.`
      )
    else
      loose.push(
        `deploy.nodes.${name} has no system profile (only ${list}): it is not a host here, and its profiles are not deployed.`
      )
  }
  const hosts = [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { hosts, notices: [...hosts.flatMap(h => h.notices), ...loose] }
}

function sourceName(source: HostSource, name: string): string {
  if (source === 'colmenaHive') return `colmenaHive.deploymentConfig.${name}`
  if (source === 'deploy') return `deploy.nodes.${name}`
  return `config.deployment`
}

function hostInfo(
  name: string,
  source: HostSource,
  raw: RawHost,
  deploy: RawDeploy | undefined
): HostInfo {
  validateHostName(
    name,
    source === 'colmenaHive'
      ? 'A colmenaHive node name'
      : source === 'deploy'
        ? 'A deploy.nodes attribute name'
        : 'A nixosConfigurations attribute name'
  )
  const tags = Array.isArray(raw.tags) ? (raw.tags as string[]) : []
  const where = source === 'colmenaHive' ? `${sourceName(source, name)}.tags` : 'deployment.tags'
  for (const tag of tags) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(tag)) {
      throw new ActionError(
        `Host ${name} has an invalid tag in ${where} (letters, digits, '.', '_' and '-' only).`,
        {
          host: name,
          phase: 'evaluate'
        }
      )
    }
  }
  // One notice per host, naming every option it sets that the suite does not honour.
  const unhonoured = asStrings(raw.notHonoured).filter(o => o in NOT_HONOURED)
  const notices =
    unhonoured.length === 0
      ? []
      : [
          `Host ${name} sets ${unhonoured.map(o => `deployment.${o}`).join(', ')}, which ${unhonoured.length > 1 ? 'are' : 'is'} not honoured: ${unhonoured.map(o => NOT_HONOURED[o]).join('; ')}.`
        ]
  const common = {
    name,
    source,
    system: raw.system,
    hostName: raw.hostName,
    fqdn: raw.fqdn,
    tags,
    notices
  }
  try {
    checkSystem(name, raw.system)
    return { ...common, ...resolveTarget(name, source, raw, deploy) }
  } catch (err) {
    if (!(err instanceof ActionError)) throw err
    return {
      ...common,
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
  source: HostSource,
  raw: RawHost,
  deploy: RawDeploy | undefined
): Pick<HostInfo, 'target' | 'targetSource' | 'sshOptions'> {
  const node = deploy?.nodes?.[name]
  let target: Target
  let targetSource: string
  let sshOptions: string[] = []
  // deploy-rs users give the port as `sshOpts = [ "-p" "2222" ]` (colmena users may too, in
  // deployment.sshOptions): it is the target's port.
  const takePort = (): void => {
    const p = sshOptions.indexOf('-p')
    if (p >= 0) {
      target = { ...target, port: Number(sshOptions[p + 1]) }
      sshOptions = [...sshOptions.slice(0, p), ...sshOptions.slice(p + 2)]
    }
  }
  const deployment =
    source === 'colmenaHive' ? `colmenaHive.deploymentConfig.${name}` : 'config.deployment'
  if (node?.hostname) {
    targetSource = `Host ${name}'s deploy.nodes.${name}.hostname`
    const user = node.sshUser ?? deploy?.sshUser ?? null
    target = parseTarget(
      user ? `${user}@${bracket(node.hostname)}` : bracket(node.hostname),
      targetSource
    )
    const rawOpts = [...asStrings(deploy?.sshOpts), ...asStrings(node.sshOpts)]
    sshOptions = checkFlakeSshOptions(rawOpts, `deploy.nodes.${name}.sshOpts`, name)
    takePort()
  } else if (raw.targetHost) {
    targetSource = `Host ${name}'s ${deployment}.targetHost`
    let text = bracket(raw.targetHost)
    if (raw.targetUser) text = `${raw.targetUser}@${text}`
    if (raw.targetPort) text = `${text}:${raw.targetPort}`
    target = parseTarget(text, targetSource)
    sshOptions = checkFlakeSshOptions(asStrings(raw.sshOptions), `${deployment}.sshOptions`, name)
    if (!raw.targetPort) takePort()
    else sshOptions = dropPort(sshOptions)
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

/** The options without `-p <port>` (targetPort, when set, wins over a port in sshOptions). */
function dropPort(options: string[]): string[] {
  const p = options.indexOf('-p')
  return p < 0 ? options : [...options.slice(0, p), ...options.slice(p + 2)]
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

// ---------------------------------------------------------------------------------------------
// Where each host's system is

/** What to build for a host, and how to read its system from what was built. */
export interface SystemRef {
  host: string
  source: HostSource
  /** The attribute path (after `#`) that `nix build` builds for the host. */
  attrPath: string
  /**
   * deploy-rs's activation wrapper: the host's system is the toplevel inside what is built
   * (`UNWRAP_PROFILE`), not the built path itself.
   */
  wrapped: boolean
}

/** The attribute path of a host's system in an output. */
export function systemAttrPath(source: HostSource, host: string): string {
  if (source === 'colmenaHive') return `colmenaHive.toplevel.${attrName(host)}`
  if (source === 'deploy') return `deploy.nodes.${attrName(host)}.profiles.system.path`
  return `nixosConfigurations.${attrName(host)}.config.system.build.toplevel`
}

export interface HostIndex {
  nixos: string[]
  hive: string[]
  /** deploy.nodes names that have a `system` profile. */
  deploy: string[]
  /** True when the flake has none of the three outputs. */
  none: boolean
}

/** The host names of each output: attribute names only, no host is evaluated. */
export async function flakeHostIndex(
  flakeRef: string,
  opts: InventoryOptions & { phase?: string } = {}
): Promise<HostIndex> {
  const o = (what: string) => ({
    logger: opts.logger,
    cwd: opts.cwd,
    phase: opts.phase ?? 'evaluate',
    what: `listing the hosts of '${flakeRef}' (${what})`
  })
  const nixos = await nixEvalJsonOptional<string[]>(`${flakeRef}#nixosConfigurations`, {
    apply: 'builtins.attrNames',
    ...o('nixosConfigurations')
  })
  const hive = await nixEvalJsonOptional<string[] | null>(`${flakeRef}#colmenaHive`, {
    apply: `h: if builtins.isAttrs h && h ? deploymentConfig then builtins.attrNames h.deploymentConfig else null`,
    ...o('colmenaHive')
  })
  const deploy = await nixEvalJsonOptional<string[]>(`${flakeRef}#deploy`, {
    apply: `d: builtins.filter (n: builtins.isAttrs (d.nodes.\${n}.profiles or null) && d.nodes.\${n}.profiles ? system) (builtins.attrNames (d.nodes or {}))`,
    ...o('deploy.nodes')
  })
  return {
    nixos: nixos ?? [],
    hive: hive ?? [],
    deploy: deploy ?? [],
    none: nixos === undefined && (hive === undefined || hive === null) && deploy === undefined
  }
}

/** The index of hosts already read by readInventory (saves the evaluations of flakeHostIndex). */
export function indexOfInventory(hosts: readonly HostInfo[]): HostIndex {
  return {
    nixos: hosts.filter(h => h.source === 'nixosConfigurations').map(h => h.name),
    hive: hosts.filter(h => h.source === 'colmenaHive').map(h => h.name),
    deploy: hosts.filter(h => h.deploySystem).map(h => h.name),
    none: hosts.length === 0
  }
}

/** Every host name of an index, each once. */
export function indexNames(index: HostIndex): string[] {
  return [...new Set([...index.nixos, ...index.hive, ...index.deploy])].sort()
}

/**
 * Where the system of each named host is (hosts the flake does not have are absent):
 * nixosConfigurations, else the colmena hive; a deploy-rs node's `system` profile when the node
 * is in neither, or when its path is deploy-rs's activation wrapper (then the toplevel inside
 * it is deployed, whatever nixosConfigurations holds under the same name).
 */
export async function locateSystems(
  flakeRef: string,
  hosts: string[],
  opts: InventoryOptions & { phase?: string; index?: HostIndex } = {}
): Promise<Map<string, SystemRef>> {
  for (const h of hosts) validateHostName(h, `host '${h}'`)
  const index = opts.index ?? (await flakeHostIndex(flakeRef, opts))
  const inDeploy = hosts.filter(h => index.deploy.includes(h))
  let wrapped: Record<string, boolean> = {}
  if (inDeploy.length > 0) {
    wrapped =
      (await nixEvalJsonOptional<Record<string, boolean>>(`${flakeRef}#deploy.nodes`, {
        apply: `ns: let unwrap = ${UNWRAP_PROFILE}; in builtins.listToAttrs (map (n: { name = n; value = (unwrap ns.\${n}.profiles.system.path).wrapped; }) [ ${inDeploy.map(nixString).join(' ')} ])`,
        logger: opts.logger,
        cwd: opts.cwd,
        phase: opts.phase ?? 'evaluate',
        what: `reading the system profiles of deploy.nodes in '${flakeRef}'`
      })) ?? {}
  }
  const out = new Map<string, SystemRef>()
  for (const host of hosts) {
    const nixos = index.nixos.includes(host)
    const hive = index.hive.includes(host)
    let source: HostSource | undefined
    if (inDeploy.includes(host) && (wrapped[host] || (!nixos && !hive))) source = 'deploy'
    else if (nixos) source = 'nixosConfigurations'
    else if (hive) source = 'colmenaHive'
    if (!source) continue
    out.set(host, {
      host,
      source,
      attrPath: systemAttrPath(source, host),
      wrapped: source === 'deploy' && wrapped[host] === true
    })
  }
  return out
}

/**
 * The derivation path of what is built for every named host (its toplevel; deploy-rs's wrapper
 * around it), one evaluation per output, for the flake or the flake at a git revision. Hosts
 * missing from the flake are absent from the result.
 */
export function evalSystemDrvPaths(
  flakeRef: string,
  hosts: string[],
  opts: SystemEvalOptions = {}
): Promise<Record<string, string>> {
  return evalSystemAttr('drvPath', flakeRef, hosts, opts)
}

/**
 * Fails with one sentence naming the first of `hosts` that `refs` (from locateSystems) does not
 * place in the flake.
 */
export function requireLocated(
  flakeRef: string,
  hosts: readonly string[],
  refs: Map<string, SystemRef>,
  phase: string
): void {
  const absent = hosts.find(h => !refs.has(h))
  if (absent !== undefined)
    throw new ActionError(
      `Host ${absent} does not exist in the flake '${flakeRef}' (no nixosConfigurations, colmenaHive or deploy.nodes entry of that name).`,
      { host: absent, input: 'host', phase }
    )
}

/**
 * The toplevel store path of every named host as the flake evaluates now (nothing is built; a
 * deploy-rs wrapper's toplevel is the one inside it). A host the flake does not have fails, in
 * one sentence naming it.
 */
export async function evalSystemOutPaths(
  flakeRef: string,
  hosts: string[],
  opts: SystemEvalOptions = {}
): Promise<Record<string, string>> {
  const refs = opts.refs ?? (await locateSystems(flakeRef, hosts, opts))
  requireLocated(flakeRef, hosts, refs, opts.phase ?? 'evaluate')
  const wrapped = [...refs.values()].filter(r => r.wrapped).map(r => r.host)
  const plain = new Map([...refs].filter(([, r]) => !r.wrapped))
  const result = await evalSystemAttr('outPath', flakeRef, [...plain.keys()], {
    ...opts,
    refs: plain
  })
  return {
    ...result,
    ...(await unwrapSystems(flakeRef, wrapped, { ...opts, phase: opts.phase ?? 'evaluate' }))
  }
}

type SystemEvalOptions = InventoryOptions & {
  phase?: string
  refs?: Map<string, SystemRef>
  index?: HostIndex
}

async function evalSystemAttr(
  which: 'drvPath' | 'outPath',
  flakeRef: string,
  hosts: string[],
  opts: SystemEvalOptions
): Promise<Record<string, string>> {
  const refs = opts.refs ?? (await locateSystems(flakeRef, hosts, opts))
  const result: Record<string, string> = {}
  const groups: [HostSource, string, (n: string) => string][] = [
    ['nixosConfigurations', 'nixosConfigurations', n => `o.${n}.config.system.build.toplevel`],
    ['colmenaHive', 'colmenaHive', n => `o.toplevel.${n}`],
    ['deploy', 'deploy', n => `o.nodes.${n}.profiles.system.path`]
  ]
  const noun = which === 'drvPath' ? 'system derivations' : 'system store paths'
  for (const [source, output, attr] of groups) {
    const names = [...refs.values()].filter(r => r.source === source).map(r => r.host)
    if (names.length === 0) continue
    const paths = await nixEvalJsonOptional<Record<string, string>>(`${flakeRef}#${output}`, {
      apply: `o: { ${names.map(n => `${nixString(n)} = ${attr(attrName(n))}.${which};`).join(' ')} }`,
      logger: opts.logger,
      cwd: opts.cwd,
      phase: opts.phase ?? 'evaluate',
      what: `evaluating the ${noun} of ${names.length} host(s) in '${flakeRef}'`
    })
    Object.assign(result, paths ?? {})
  }
  return result
}

/** deploy-rs wrappers: the toplevel store path inside each (they are built: it is in the store). */
export async function unwrapSystems(
  flakeRef: string,
  hosts: string[],
  opts: InventoryOptions & { phase?: string } = {}
): Promise<Record<string, string>> {
  if (hosts.length === 0) return {}
  for (const h of hosts) validateHostName(h, `host '${h}'`)
  return (
    (await nixEvalJsonOptional<Record<string, string>>(`${flakeRef}#deploy.nodes`, {
      apply: `ns: let unwrap = ${UNWRAP_PROFILE}; in builtins.listToAttrs (map (n: { name = n; value = toString (unwrap ns.\${n}.profiles.system.path).toplevel; }) [ ${hosts.map(nixString).join(' ')} ])`,
      logger: opts.logger,
      cwd: opts.cwd,
      phase: opts.phase ?? 'build',
      what: `reading the toplevel inside deploy-rs's activation of ${hosts.join(', ')}`
    })) ?? {}
  )
}
