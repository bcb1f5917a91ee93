/**
 * Every command's inputs, declared once: name, type, default, whether it is required, what it
 * means, and where it exists (the action, the terminal, or both). The terminal command's options
 * (src/cli.ts) and the defaults the commands fall back to (src/commands/*) are read from these
 * tables; test/unit/inputs-table.test.ts checks each table against the action's action.yml
 * (names, defaults, required) and the README's input tables.
 */

export type InputType = 'string' | 'boolean' | 'integer' | 'list' | 'enum' | 'yaml' | 'secret'

export interface InputSpec {
  name: string
  type: InputType
  /** The default, as action.yml writes it ('' or absent: none). */
  default?: string
  required?: boolean
  /** 'action': only the GitHub action has it; 'terminal': only `nix-deploy`; default both. */
  where?: 'action' | 'terminal'
  description: string
}

/** Whose comment is the sticky comment, for every action that comments (anyone can forge the marker). */
const COMMENT_AUTHOR: InputSpec = {
  name: 'comment-author',
  type: 'string',
  default: 'github-actions[bot]',
  where: 'action',
  description:
    "The login that writes the pull request comment with 'github-token': only that user's comment carrying the marker is read and edited; a comment by anyone else is ignored with a warning, never edited or deleted. 'github-actions[bot]' for the workflow's GITHUB_TOKEN; for a GitHub App token, the App's bot user ('<app-slug>[bot]'); for a personal token, its owner."
}

/** The SSH inputs, shared by every command that reaches a host (contract: "SSH inputs"). */
export const SSH_INPUTS: readonly InputSpec[] = [
  { name: 'ssh-private-key', type: 'secret', description: 'The private key for SSH (a secret).' },
  {
    name: 'ssh-private-key-file',
    type: 'string',
    where: 'terminal',
    description:
      'Reads ssh-private-key from this file (a key on the command line is visible in ps).'
  },
  {
    name: 'ssh-known-hosts',
    type: 'string',
    description: "The hosts' known_hosts lines. Required unless ssh-accept-new-host-keys is true."
  },
  {
    name: 'ssh-known-hosts-file',
    type: 'string',
    where: 'terminal',
    description: 'Reads ssh-known-hosts from this file.'
  },
  {
    name: 'ssh-accept-new-host-keys',
    type: 'boolean',
    default: 'false',
    description: "'true': trust a host key seen for the first time (never the default)."
  },
  { name: 'ssh-options', type: 'string', description: 'Extra ssh arguments, space-separated.' },
  {
    name: 'sudo',
    type: 'enum',
    default: 'auto',
    description: "'auto' (sudo when the SSH user is not root), 'true' or 'false'."
  },
  {
    name: 'ssh-connect-timeout',
    type: 'integer',
    default: '15',
    description:
      "Seconds ssh waits for a host to answer before the connection counts as failed (ssh's ConnectTimeout)."
  }
]

/** The binary cache a deploy or dry-activate takes the closure from (issue 12). */
export const CACHE_INPUTS: readonly InputSpec[] = [
  {
    name: 'substituters',
    type: 'list',
    description:
      "The binary cache(s) build pushed to (push-to), Nix store URLs, newline- or comma-separated: s3://bucket?region=…, https://…, file:///…, ssh-ng://user@host. With them nothing is built: each host's store path is taken from store-path/store-paths or evaluated (no build), fetched into the runner's store with signatures required, verified, then copied to the host. A path missing from every cache fails: not in the cache: build and push it first."
  },
  {
    name: 'trusted-public-keys',
    type: 'list',
    description:
      'The public keys of the cache (name:base64, as nix key convert-secret-to-public prints), newline-, comma- or space-separated; required with substituters. Every path of the closure must carry a signature by one of them: an unsigned path, one signed by another key (even of the same name) or one whose NAR does not match its signature is refused, naming the host and the path, before anything reaches the host.'
  }
]

export const COMMAND_INPUTS = {
  check: [
    { name: 'flake', type: 'string', default: '.', description: 'The flake reference.' },
    {
      name: 'lock-max-age-days',
      type: 'integer',
      default: '30',
      description: 'Warn about flake.lock inputs older than this many days (0 turns it off).'
    },
    {
      name: 'format',
      type: 'boolean',
      default: 'false',
      description: "'true': the flake's formatter (nix fmt) must leave the tree unchanged."
    }
  ],
  matrix: [
    { name: 'flake', type: 'string', default: '.', description: 'The flake reference.' },
    {
      name: 'on',
      type: 'string',
      description:
        "Host selector (colmena's syntax): names, globs (web-*), tags (@prod), comma- or space-separated; empty means every host."
    },
    {
      name: 'changed-since',
      type: 'string',
      description:
        'A git revision: hosts whose toplevel derivation is the same at that revision are left out.'
    },
    {
      name: 'max-jobs',
      type: 'integer',
      default: '256',
      description:
        "At most this many matrix jobs (GitHub's cap is 256); beyond it hosts are packed into shards."
    },
    {
      name: 'runners',
      type: 'string',
      description:
        'JSON map from Nix system to the runner label its hosts build on, such as {"aarch64-linux":"ubuntu-24.04-arm"}; the key * names the runner of every other system. Each matrix entry (and shard, which holds hosts of one system) gets runs-on. Empty: ubuntu-latest for every system; a system the map does not name builds on its * entry, else ubuntu-latest, with a notice.'
    },
    {
      name: 'environment',
      type: 'string',
      where: 'action',
      description:
        "With changed-since: an environment the deploy records per host (the deploy action's environment input); a host whose last deploy there failed stays in the matrix even when unchanged. Needs deployments: read."
    },
    {
      name: 'github-token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description: 'Token for reading the deployment records of environment.'
    }
  ],
  build: [
    { name: 'flake', type: 'string', default: '.', description: 'The flake reference.' },
    {
      name: 'host',
      type: 'string',
      description:
        'The host to build: nixosConfigurations.<host>.config.system.build.toplevel, or its system in a colmena hive or deploy-rs node. Give exactly one of host and installable.'
    },
    {
      name: 'hosts',
      type: 'list',
      description:
        "Several hosts to build in this one job, each with its own diff and comment section: a JSON array (a matrix shard's hosts, through toJSON(matrix.hosts)) or a newline- or comma-separated list. Instead of host. Every host is checked to exist before any build; a failed host does not stop the others, and the step then fails naming it. Outputs: store-paths maps each host to its store path; store-path, drv-path, closure-size and the diff files are empty for several hosts."
    },
    {
      name: 'installable',
      type: 'string',
      description:
        'Anything nix build takes instead of a host (.#nixosConfigurations.web1.config.system.build.toplevel, .#packages.x86_64-linux.foo). Give exactly one of host and installable.'
    },
    {
      name: 'diff-against',
      type: 'string',
      description:
        "What to compare the build with. Empty: nothing. 'deployed': the system the host runs now (/run/current-system, read over SSH; its closure is read from the host's store, not copied). A value starting with /nix/store/: that store path (it must be in the local store). A value containing '#': that installable, built. Anything else: a git revision of the flake's repository (a commit, branch or tag, such as the pull request's base; write refs/heads/deployed for a branch named deployed): the same host is built from the flake at that revision. The checkout needs that revision (actions/checkout with fetch-depth: 0)."
    },
    {
      name: 'comment',
      type: 'boolean',
      default: 'false',
      where: 'action',
      description:
        "'true': put the diff into the pull request's sticky comment (one section per host). On other events a notice says there is no pull request; a token without write access (a fork) gives a warning, not a failure."
    },
    COMMENT_AUTHOR,
    {
      name: 'cache',
      type: 'boolean',
      default: 'true',
      where: 'action',
      description:
        "'true': save the closure to the GitHub Actions cache (key nix-deploy-closure-<store path hash>, one entry per system, skipped when it exists), so a later job can deploy it without rebuilding. Saved only on push, schedule and workflow_dispatch events (never from a pull request), signed with signing-key; a deploy imports it only with trusted-public-keys, signatures checked. A cache failure is a warning."
    },
    {
      name: 'push-to',
      type: 'string',
      description:
        'A Nix store URL the closure is copied to after the build (nix copy --to): s3://bucket?region=…&endpoint=…, file:///dir, ssh-ng://user@host, an HTTP binary cache that accepts uploads. Deploy then takes it with substituters and trusted-public-keys.'
    },
    {
      name: 'signing-key',
      type: 'secret',
      description:
        'A Nix secret key name:base64 (nix key generate-secret --key-name NAME prints one): every path of the closure is signed with it (nix store sign --recursive) before the push. Masked; written 0600 to a private temporary folder removed right after signing.'
    },
    {
      name: 'signing-key-file',
      type: 'string',
      where: 'terminal',
      description: 'Reads signing-key from this file (a key on the command line is visible in ps).'
    },
    {
      name: 'github-token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description: 'The token for the pull request comment.'
    },
    {
      name: 'target',
      type: 'string',
      description:
        "With diff-against: deployed, the host's SSH destination user@host[:port] (default: from the flake: deploy.nodes, deployment.targetHost, networking.fqdn, networking.hostName, the host's name)."
    },
    ...SSH_INPUTS
  ],
  diff: [
    {
      name: 'before',
      type: 'string',
      description:
        "The system before (required unless report is given). A value starting with /nix/store/ is a store path (it must be in the local store); a value containing '#' is an installable (built); anything else is a git revision of the flake's repository, at which the host's toplevel is built (needs host)."
    },
    {
      name: 'after',
      type: 'string',
      description: 'The system after, read like before (required unless report is given).'
    },
    {
      name: 'host',
      type: 'string',
      description:
        'The host (in nixosConfigurations, a colmena hive or deploy.nodes) a git revision refers to; also names the diff. Needed when before or after is a revision.'
    },
    {
      name: 'flake',
      type: 'string',
      default: '.',
      description: 'The flake reference, for git revisions.'
    },
    {
      name: 'report',
      type: 'list',
      where: 'action',
      description:
        "Instead of before and after: diff JSON files written by build or diff (their diff-json-file output, docs/diff-schema.md), newline- or comma-separated paths, each a file or a folder whose .json files are all read. Each is checked strictly (it may come from a fork's artifact) and becomes its host's section in the summary and, with comment, in the sticky comment. For the workflow_run pattern (examples/forks-comment.yml)."
    },
    {
      name: 'pull-request',
      type: 'integer',
      where: 'action',
      description:
        "With report: the pull request's number to comment on, when the event names none (a workflow_run from a fork). On a workflow_run event it is used only if that pull request's head commit is the commit the run built."
    },
    {
      name: 'comment',
      type: 'boolean',
      default: 'false',
      where: 'action',
      description: "'true': put the diff into the pull request's sticky comment."
    },
    COMMENT_AUTHOR,
    {
      name: 'github-token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description: 'The token for the pull request comment.'
    }
  ],
  'dry-activate': [
    { name: 'flake', type: 'string', default: '.', description: 'The flake reference.' },
    {
      name: 'host',
      type: 'string',
      description:
        'The host: a name in nixosConfigurations, a colmena hive or deploy.nodes. Give host or hosts.'
    },
    {
      name: 'hosts',
      type: 'list',
      where: 'action',
      description:
        "Several hosts dry-activated in this one job, each with its own report file, summary and comment section: a JSON array (a matrix shard's hosts, through toJSON(matrix.hosts)) or a newline- or comma-separated list. Instead of host (and without store-path and target). A failed host does not stop the others; the step then fails naming it. The units outputs are then the union over the hosts, the flags true when true for any host, store-path, current-system and report-file empty."
    },
    {
      name: 'store-path',
      type: 'string',
      description:
        "The host's system, already built (the build action's store-path output): skips the build. It must be in the local Nix store or in the Actions cache (build with cache: true). Empty: build nixosConfigurations.<host>.config.system.build.toplevel."
    },
    {
      name: 'target',
      type: 'string',
      description:
        "The host's SSH destination user@host[:port]. Default: from the flake (deploy.nodes.<host>.hostname, deployment.targetHost, networking.fqdn, networking.hostName, the host's name)."
    },
    {
      name: 'comment',
      type: 'boolean',
      default: 'false',
      where: 'action',
      description:
        "'true': put the report into the host's dry-activate section of the pull request's sticky comment. On other events a notice says there is no pull request."
    },
    COMMENT_AUTHOR,
    {
      name: 'github-token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description: 'The token for the pull request comment.'
    },
    {
      name: 'substitute-on-target',
      type: 'boolean',
      default: 'true',
      description:
        "'true': the host fetches what it can from its own binary caches while the closure is copied (nix copy --substitute-on-destination)."
    },
    {
      name: 'activation-timeout',
      type: 'integer',
      default: '600',
      description: 'Seconds switch-to-configuration dry-activate may run.'
    },
    {
      name: 'store-paths',
      type: 'string',
      description:
        "Build's store-paths output (a JSON object host → /nix/store path): the host's entry is taken as store-path. A host it does not name is evaluated (with substituters) or built."
    },
    ...CACHE_INPUTS,
    ...SSH_INPUTS
  ],
  deploy: [
    { name: 'flake', type: 'string', default: '.', description: 'The flake reference.' },
    {
      name: 'host',
      type: 'string',
      description:
        'The host to deploy (a name in nixosConfigurations, a colmena hive or deploy.nodes). Use one of host, hosts and on.'
    },
    { name: 'hosts', type: 'list', description: 'Hosts to deploy, newline- or comma-separated.' },
    {
      name: 'on',
      type: 'string',
      description: "Host selector (colmena's syntax): names, globs (web-*), tags (@prod)."
    },
    {
      name: 'store-path',
      type: 'string',
      description:
        "The system to deploy (with host): a /nix/store path, e.g. the build action's store-path output. Empty: build the host's toplevel here (or restore it from the Actions cache)."
    },
    {
      name: 'store-paths',
      type: 'string',
      description:
        "The systems to deploy, as build's store-paths output writes them: a JSON object host → /nix/store path (objects of several build jobs may be merged). Hosts it does not name are evaluated (with substituters) or built."
    },
    ...CACHE_INPUTS,
    {
      name: 'target',
      type: 'string',
      description:
        'SSH destination user@host[:port] (with host); default: from the flake (deploy.nodes, deployment.targetHost, networking.fqdn, hostName, the attribute name).'
    },
    ...SSH_INPUTS,
    {
      name: 'mode',
      type: 'enum',
      default: 'switch',
      description:
        "'switch' (default), 'boot' (the next boot) or 'test' (activate, not the boot default)."
    },
    {
      name: 'reboot',
      type: 'boolean',
      default: 'false',
      description:
        'With mode: boot, reboot into the new generation, wait for a new boot id (up to activation-timeout) and run the health checks; on failure, make the previous generation the boot default again and reboot into it.'
    },
    {
      name: 'health-checks',
      type: 'yaml',
      description:
        'YAML list of health checks (http, command, tcp, systemd); all must pass within health-timeout. {host} and {target} are substituted.'
    },
    {
      name: 'health-timeout',
      type: 'integer',
      default: '120',
      description: 'Seconds the health checks may take, retried until then.'
    },
    {
      name: 'confirm-timeout',
      type: 'integer',
      default: '60',
      description:
        'Seconds the host waits for confirmation before its own watchdog restores the previous generation (counted from the end of the activation, and again from the start of the health checks).'
    },
    {
      name: 'activation-timeout',
      type: 'integer',
      default: '600',
      description: 'Seconds switch-to-configuration may run.'
    },
    {
      name: 'rollback',
      type: 'boolean',
      default: 'true',
      description:
        "'true': roll back to the exact previous generation when anything fails after the switch."
    },
    {
      name: 'max-parallel',
      type: 'integer',
      default: '10',
      description: 'Hosts deployed at the same time.'
    },
    {
      name: 'strategy',
      type: 'string',
      default: 'all',
      description:
        "'all', 'canary' (one host first, the rest only if it is healthy) or 'waves:N' (N waves of growing size)."
    },
    {
      name: 'rollback-scope',
      type: 'enum',
      default: 'fleet',
      description:
        "When a wave fails: 'fleet' (default) also returns the hosts of earlier waves to their previous systems; 'host' leaves them deployed."
    },
    {
      name: 'substitute-on-target',
      type: 'boolean',
      default: 'true',
      description:
        "'true': let the target fetch paths from its own substituters (nix copy --substitute-on-destination)."
    },
    {
      name: 'allow-flake-commands',
      type: 'boolean',
      default: 'false',
      description:
        "'true': also run the command checks the flake keeps with a host (deploy.nodes.<host>.healthChecks, config.deployment.healthChecks). 'false' (default): a host whose flake has one fails before anything is copied, since a pull request controls the flake."
    },
    {
      name: 'specialisation',
      type: 'string',
      description:
        "Activate this specialisation of each host's system (<toplevel>/specialisation/<name>, as nixos-rebuild --specialisation); the profile gets the system itself. Modes switch and test."
    },
    {
      name: 'install-bootloader',
      type: 'boolean',
      default: 'false',
      description:
        "'true': (re)install the boot loader, as nixos-rebuild --install-bootloader (NIXOS_INSTALL_BOOTLOADER=1 for switch-to-configuration). Modes switch and boot."
    },
    {
      name: 'environment',
      type: 'string',
      where: 'action',
      description:
        'Record a GitHub deployment with statuses for each host in this environment (the job itself names the protected environment for approvals).'
    },
    {
      name: 'require-reviewers',
      type: 'boolean',
      default: 'false',
      description:
        'true: refuse to deploy unless the environment input names an environment with required reviewers (read with actions: read). false: deploy, with a warning when it has none. From a terminal, true always refuses: no GitHub environment approved the run.'
    },
    {
      name: 'github-token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description:
        'Token for deployment records (needs deployments: write) and the approval on record (actions: read).'
    }
  ],
  rollback: [
    {
      name: 'flake',
      type: 'string',
      default: '.',
      description: 'The flake reference (for host names and SSH targets).'
    },
    {
      name: 'host',
      type: 'string',
      description: 'The host to roll back. Use one of host, hosts and on.'
    },
    {
      name: 'hosts',
      type: 'list',
      description: 'Hosts to roll back, newline- or comma-separated.'
    },
    {
      name: 'on',
      type: 'string',
      description: "Host selector (colmena's syntax): names, globs (web-*), tags (@prod)."
    },
    {
      name: 'target',
      type: 'string',
      description: 'SSH destination user@host[:port] (with host); default: from the flake.'
    },
    {
      name: 'to',
      type: 'string',
      default: 'previous',
      description:
        "'previous' (the generation before the current one), a generation number, or a /nix/store path."
    },
    ...SSH_INPUTS,
    {
      name: 'health-checks',
      type: 'yaml',
      description: 'YAML list of health checks, as for deploy.'
    },
    {
      name: 'allow-flake-commands',
      type: 'boolean',
      default: 'false',
      description:
        "'true': also run the command checks the flake keeps with a host. 'false' (default): they are left out, with a warning."
    },
    {
      name: 'health-timeout',
      type: 'integer',
      default: '120',
      description: 'Seconds the health checks may take.'
    },
    {
      name: 'activation-timeout',
      type: 'integer',
      default: '600',
      description: 'Seconds switch-to-configuration may run.'
    },
    {
      name: 'max-parallel',
      type: 'integer',
      default: '10',
      description: 'Hosts rolled back at the same time.'
    }
  ],
  drift: [
    { name: 'flake', type: 'string', default: '.', description: 'The flake reference.' },
    {
      name: 'host',
      type: 'string',
      description: 'One host to check. Use one of host, hosts and on; none of them: every host.'
    },
    { name: 'hosts', type: 'list', description: 'Hosts to check, newline- or comma-separated.' },
    {
      name: 'on',
      type: 'string',
      description: "Host selector (colmena's syntax): names, globs (web-*), tags (@prod)."
    },
    {
      name: 'target',
      type: 'string',
      description: 'SSH destination user@host[:port] (with host); default: from the flake.'
    },
    ...SSH_INPUTS,
    {
      name: 'expected',
      type: 'enum',
      default: 'deployed',
      description:
        "What each host should run: 'deployed' (the store path of its last successful deployment in environment, from GitHub's deployment records; a host with none is compared with the flake) or 'flake' (its toplevel as the flake evaluates now; evaluated, not built)."
    },
    {
      name: 'environment',
      type: 'string',
      default: 'production',
      description:
        "With expected: deployed, the environment whose deployment records are read (the deploy action's environment input). Needs deployments: read."
    },
    {
      name: 'issue',
      type: 'boolean',
      default: 'false',
      where: 'action',
      description:
        "'true': keep one issue open listing the drifted hosts, updated in place; closed with a comment when none drift, reopened when drift returns. Needs issues: write."
    },
    {
      name: 'issue-author',
      type: 'string',
      default: 'github-actions[bot]',
      where: 'action',
      description:
        "The login that writes the drift issue with github-token: only that user's issue carrying the marker is found and edited. 'github-actions[bot]' for GITHUB_TOKEN; '<app-slug>[bot]' for a GitHub App token; the owner of a personal token."
    },
    {
      name: 'max-parallel',
      type: 'integer',
      default: '10',
      description: 'Hosts checked at the same time.'
    },
    {
      name: 'github-token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description:
        'Token for the deployment records (deployments: read) and the issue (issues: write).'
    }
  ],
  update: [
    {
      name: 'flake',
      type: 'string',
      default: '.',
      description: 'The flake reference (a local flake in a git checkout).'
    },
    {
      name: 'inputs',
      type: 'list',
      description:
        "Only these inputs (newline- or comma-separated names; 'home-manager/nixpkgs' for a nested one). Empty: every input (nix flake update)."
    },
    {
      name: 'branch',
      type: 'string',
      default: 'nix-deploy/flake-update',
      where: 'action',
      description:
        'The branch the new flake.lock is committed to: recreated from base on each run (one commit), force-pushed to origin.'
    },
    {
      name: 'base',
      type: 'string',
      where: 'action',
      description: "The branch the pull request goes into. Empty: origin's default branch."
    },
    {
      name: 'title',
      type: 'string',
      default: 'flake.lock: update',
      where: 'action',
      description: "The pull request's title."
    },
    {
      name: 'labels',
      type: 'list',
      where: 'action',
      description: 'Labels added to the pull request (newline- or comma-separated).'
    },
    {
      name: 'commit-message',
      type: 'string',
      default: 'flake.lock: update',
      where: 'action',
      description: "The commit's first line; a line per input that moved follows it."
    },
    {
      name: 'diff',
      type: 'boolean',
      default: 'true',
      description:
        "'true': build every host whose system changed, before and after the update, and show its closure diff."
    },
    {
      name: 'token',
      type: 'secret',
      default: '${{ github.token }}',
      where: 'action',
      description:
        'The token that pushes the branch and opens the pull request (contents: write, pull-requests: write). A pull request opened with the default GITHUB_TOKEN starts no workflows: give a GitHub App token or a personal token; the summary warns when the default opened it.'
    }
  ]
} as const satisfies Record<string, readonly InputSpec[]>

export type CommandName = keyof typeof COMMAND_INPUTS

/** A command's inputs. */
export function inputsOf(command: CommandName): readonly InputSpec[] {
  return COMMAND_INPUTS[command]
}

function specOf(command: CommandName, name: string): InputSpec {
  const spec = inputsOf(command).find(s => s.name === name)
  if (!spec)
    throw new Error(`input '${name}' is not declared for ${command} (src/commands/inputs.ts)`)
  return spec
}

/** The declared default of an input ('' when it has none). */
export function defaultOf(command: CommandName, name: string): string {
  return specOf(command, name).default ?? ''
}

/** The declared default of an integer input. */
export function defaultInt(command: CommandName, name: string): number {
  const spec = specOf(command, name)
  const n = Number(spec.default)
  if (spec.type !== 'integer' || !Number.isSafeInteger(n))
    throw new Error(`input '${name}' of ${command} has no integer default`)
  return n
}

/** The declared default of a boolean input. */
export function defaultBool(command: CommandName, name: string): boolean {
  const spec = specOf(command, name)
  if (spec.type !== 'boolean' || (spec.default !== 'true' && spec.default !== 'false'))
    throw new Error(`input '${name}' of ${command} has no boolean default`)
  return spec.default === 'true'
}

/** The terminal command's options for a command (everything but the action-only inputs). */
export function terminalOptions(command: CommandName): string[] {
  return inputsOf(command)
    .filter(s => s.where !== 'action')
    .map(s => s.name)
}

/** The terminal options of a command that are booleans (`--rollback`, `--no-rollback`). */
export function booleanOptions(command: CommandName): Set<string> {
  return new Set(
    inputsOf(command)
      .filter(s => s.where !== 'action' && s.type === 'boolean')
      .map(s => s.name)
  )
}
