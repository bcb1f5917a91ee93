/** The SSH inputs every action that reaches a host shares (contract: "SSH inputs"). */
import { parseBool, parseEnum, parsePositiveInt } from '../core/inputs.js'
import { parseSshOptions, type SshSettings } from '../core/ssh.js'
import type { InputReader } from './types.js'

export const SSH_INPUTS = [
  'ssh-private-key',
  'ssh-known-hosts',
  'ssh-accept-new-host-keys',
  'ssh-options',
  'sudo'
] as const

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
      false
    ),
    extraOptions: parseSshOptions(get('ssh-options')),
    sudo: parseEnum('sudo', get('sudo'), ['auto', 'true', 'false'] as const, 'auto'),
    connectTimeout: parsePositiveInt('ssh-connect-timeout', get('ssh-connect-timeout'), 15, {
      max: 600
    }),
    allowUserKnownHosts: opts.terminal === true
  }
}
