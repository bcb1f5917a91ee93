/** The SSH inputs every action that reaches a host shares (contract: "SSH inputs"). */
import { parseBool, parseEnum, parsePositiveInt } from '../core/inputs.js'
import { parseSshOptions, type SshSettings } from '../core/ssh.js'
import type { InputReader } from './types.js'
import { SSH_INPUTS } from './inputs.js'

/** The declared default of an SSH input (src/commands/inputs.ts). */
function sshDefault(name: string): string {
  return SSH_INPUTS.find(s => s.name === name)?.default ?? ''
}

export function sshSettingsFromInputs(
  get: InputReader,
  opts: { terminal?: boolean } = {}
): SshSettings {
  return {
    privateKey: get('ssh-private-key'),
    knownHosts: get('ssh-known-hosts'),
    acceptNewHostKeys: parseBool(
      'ssh-accept-new-host-keys',
      get('ssh-accept-new-host-keys'),
      sshDefault('ssh-accept-new-host-keys') === 'true'
    ),
    extraOptions: parseSshOptions(get('ssh-options')),
    sudo: parseEnum(
      'sudo',
      get('sudo'),
      ['auto', 'true', 'false'] as const,
      sshDefault('sudo') as 'auto'
    ),
    connectTimeout: parsePositiveInt(
      'ssh-connect-timeout',
      get('ssh-connect-timeout'),
      Number(sshDefault('ssh-connect-timeout')),
      {
        max: 600
      }
    ),
    allowUserKnownHosts: opts.terminal === true
  }
}
