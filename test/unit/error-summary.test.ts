/**
 * errorSummary: the one line a failed command's message quotes. The stderr below is real output of
 * `nix eval --json <flake>#x` on a flake whose lib.nix throws, as Nix 2.8.0, 2.26.3 and 2.34.8 print it.
 */
import { describe, it, expect } from '@jest/globals'
import { errorSummary } from '../../src/core/process.js'

const NIX_2_8 = `error: The FQDN is required but cannot be determined.
(use '--show-trace' to show detailed location information)
`

const NIX_2_26 = `error:
       … while evaluating the attribute 'fqdn'
         at /nix/store/nmk3crnj7zaalyhix9virnvr3rna0m6q-source/lib.nix:2:3:
            1| {
            2|   fqdn =
             |   ^
            3|     let domain = null; in

       … while calling the 'throw' builtin
         at /nix/store/nmk3crnj7zaalyhix9virnvr3rna0m6q-source/lib.nix:5:10:
            4|     if domain != null then "a.b"
            5|     else throw "The FQDN is required but cannot be determined.";
             |          ^
            6| }

       error: The FQDN is required but cannot be determined.
`

const NIX_2_34 = NIX_2_26.replace(/\/nix\/store\/[a-z0-9]{32}-source/g, '/tmp/vflake')

describe('errorSummary', () => {
  it.each([
    ['2.8', NIX_2_8],
    ['2.26', NIX_2_26],
    ['2.34', NIX_2_34]
  ])('quotes the message of Nix %s, not a trace or source line', (_, stderr) => {
    expect(errorSummary(stderr)).toBe('The FQDN is required but cannot be determined.')
  })

  it('takes the lines after a last bare error: when the message starts on a line of its own', () => {
    const stderr = [
      'error:',
      "       … while evaluating the attribute 'config.system.build.toplevel'",
      '         at /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-source/lib/modules.nix:10:3:',
      '           10|   toplevel = x;',
      '             |   ^',
      '',
      '       error:',
      '       Failed assertions:',
      '       - web1: services.nginx.enable needs a package'
    ].join('\n')
    expect(errorSummary(stderr)).toBe('Failed assertions:')
  })

  it('falls back to the last line when there is no error: line', () => {
    expect(errorSummary('warning: x\nssh: connect to host 127.0.0.1 port 22: refused\n')).toBe(
      'ssh: connect to host 127.0.0.1 port 22: refused'
    )
  })
})
