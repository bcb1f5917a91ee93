import { describe, it, expect } from '@jest/globals'
import fc from 'fast-check'
import { exit4Reason, isUnitName, parseActivationOutput } from '../../src/core/activation-output.js'

// Output in the shape switch-to-configuration-ng prints for dry-activate (its eprintln! lines).
const DRY_NG = `would stop the following units: nginx.service, old-timer.timer
would NOT stop the following changed units: dbus.service, systemd-journald.service
would activate the configuration...
setting up /etc...
would restart systemd
would reload the following units: dev-disk-by\\x2dlabel-root.mount, sshd.service
would restart the following units: systemd-networkd.service
would start the following units: nginx.service, new-app.service
`

// The Perl implementation of the 22.05–24.05 era, switch, with "as well" lines and a failure.
const SWITCH_PERL = `stopping the following units: nginx.service
NOT restarting the following changed units: dbus.service
activating the configuration...
setting up /etc...
reloading user units for alice...
stopping the following units as well: socket-activated.service, socket-activated.socket
NOT restarting the following changed units as well: systemd-logind.service
restarting systemd...
setting up tmpfiles
reloading the following units: sshd.service
restarting the following units: systemd-networkd.service
starting the following units: nginx.service, socket-activated.socket
the following new units were started: new-app.service, run-credentials.mount
warning: the following units failed: nginx.service

× nginx.service - Nginx Web Server
     Loaded: loaded (/etc/systemd/system/nginx.service; enabled; preset: enabled)
     Active: failed (Result: exit-code) since Mon 2024-05-06 10:00:00 UTC; 5ms ago
`

describe('parseActivationOutput', () => {
  it('reads dry-activate output (switch-to-configuration-ng)', () => {
    const r = parseActivationOutput(DRY_NG)
    expect(r.stop).toEqual(['nginx.service', 'old-timer.timer'])
    expect(r.notStopped).toEqual(['dbus.service', 'systemd-journald.service'])
    expect(r.reload).toEqual(['dev-disk-by\\x2dlabel-root.mount', 'sshd.service'])
    expect(r.restart).toEqual(['systemd-networkd.service'])
    expect(r.start).toEqual(['new-app.service', 'nginx.service'])
    expect(r.restartSystemd).toBe(true)
    expect(r.failed).toEqual([])
    expect(r.lines).toEqual(['setting up /etc...'])
  })

  it('reads the Perl dry-activate variants ("as well", NOT restart)', () => {
    const r = parseActivationOutput(
      [
        'would stop the following units: a.service',
        'would activate the configuration...',
        'would stop the following units as well: b.socket',
        'would NOT restart the following changed units as well: c.service',
        'would start the following units: a.service'
      ].join('\n')
    )
    expect(r.stop).toEqual(['a.service', 'b.socket'])
    expect(r.notStopped).toEqual(['c.service'])
    expect(r.start).toEqual(['a.service'])
    expect(r.restartSystemd).toBe(false)
    expect(r.lines).toEqual([])
  })

  it('reads switch output with failures, new units and unrecognised lines', () => {
    const r = parseActivationOutput(SWITCH_PERL)
    expect(r.stop).toEqual(['nginx.service', 'socket-activated.service', 'socket-activated.socket'])
    expect(r.skipped).toEqual(['dbus.service', 'systemd-logind.service'])
    expect(r.reload).toEqual(['sshd.service'])
    expect(r.restart).toEqual(['systemd-networkd.service'])
    expect(r.start).toEqual(['nginx.service', 'socket-activated.socket'])
    expect(r.newlyStarted).toEqual(['new-app.service', 'run-credentials.mount'])
    expect(r.failed).toEqual(['nginx.service'])
    expect(r.restartSystemd).toBe(true)
    expect(r.lines).toEqual([
      'setting up /etc...',
      'reloading user units for alice...',
      'setting up tmpfiles',
      '× nginx.service - Nginx Web Server',
      'Loaded: loaded (/etc/systemd/system/nginx.service; enabled; preset: enabled)',
      'Active: failed (Result: exit-code) since Mon 2024-05-06 10:00:00 UTC; 5ms ago'
    ])
  })

  it('sorts and deduplicates; strips colours and carriage returns', () => {
    const r = parseActivationOutput(
      '\x1b[1mwould start the following units: z.service, a.service, z.service\x1b[0m\r\nwould start the following units: a.service\r\n'
    )
    expect(r.start).toEqual(['a.service', 'z.service'])
    expect(r.lines).toEqual([])
  })

  it('joins a list wrapped over several lines', () => {
    const r = parseActivationOutput(
      'would restart the following units: a.service, b.service,\n  c.service, d.timer\nother line'
    )
    expect(r.restart).toEqual(['a.service', 'b.service', 'c.service', 'd.timer'])
    expect(r.lines).toEqual(['other line'])
  })

  it('drops items that are not unit names from the arrays and keeps their line', () => {
    const line =
      'would stop the following units: good.service, $(rm -rf /), bad name.service, evil.exe'
    const r = parseActivationOutput(line)
    expect(r.stop).toEqual(['good.service'])
    expect(r.lines).toEqual([line])
  })

  it('keeps user-unit lines and swap lines out of the system lists', () => {
    const r = parseActivationOutput(
      'restarting the following user units: nixos-activation.service\nwould stop swap device: /dev/sda2'
    )
    expect(r.restart).toEqual([])
    expect(r.stop).toEqual([])
    expect(r.lines).toHaveLength(2)
  })

  // switch-to-configuration-ng (nixpkgs pkgs/by-name/sw/switch-to-configuration-ng) restarts each
  // logged-in user's units and exits 4 when that fails. No NixOS host runs here: these lines are
  // written in its wording, as users' published switch logs show it verbatim.
  it('names failed user units and failed user activations (exit 4)', () => {
    const r = parseActivationOutput(
      [
        'activating the configuration...',
        'reloading user units for alice...',
        'reloading user units for bob...',
        'reloading the following user units: dbus-broker.service',
        'Failed to reload user unit dbus-broker.service',
        'warning: the following user units failed: dbus-broker.service, waybar.service',
        'warning: user activation for alice failed',
        'warning: user activation for bob failed',
        'the following new units were started: new-app.service'
      ].join('\n')
    )
    expect(r.failedUserUnits).toEqual(['dbus-broker.service', 'waybar.service'])
    expect(r.failedUsers).toEqual(['alice', 'bob'])
    // User units are not system units.
    expect(r.failed).toEqual([])
    expect(r.newlyStarted).toEqual(['new-app.service'])
    expect(exit4Reason(r)).toBe(
      'user units failed: dbus-broker.service, waybar.service; user activation failed for alice, bob'
    )
  })

  it('says which units failed on exit 4, and "see the log" only when nothing is named', () => {
    expect(exit4Reason(parseActivationOutput(SWITCH_PERL))).toBe('units failed: nginx.service')
    expect(
      exit4Reason(parseActivationOutput('warning: user activation for gdm-greeter failed'))
    ).toBe('user activation failed for gdm-greeter')
    expect(exit4Reason(parseActivationOutput('activating the configuration...'))).toBe(
      'units failed: see the log'
    )
    // A line that only looks like one keeps its text and names nobody.
    const odd = parseActivationOutput('warning: user activation for $(id) failed')
    expect(odd.failedUsers).toEqual([])
    expect(odd.lines).toEqual(['warning: user activation for $(id) failed'])
  })

  it('gives an empty report for empty output', () => {
    expect(parseActivationOutput('')).toEqual({
      stop: [],
      restart: [],
      reload: [],
      start: [],
      notStopped: [],
      skipped: [],
      newlyStarted: [],
      failed: [],
      failedUserUnits: [],
      failedUsers: [],
      restartSystemd: false,
      lines: []
    })
  })
})

describe('isUnitName', () => {
  it('knows unit names', () => {
    for (const u of [
      'a.service',
      'getty@tty1.service',
      'dev-sda1.swap',
      'sys-subsystem-net-devices-eth0.device',
      'user-1000.slice',
      'x.automount'
    ])
      expect(isUnitName(u)).toBe(true)
    for (const u of ['a', 'a.exe', '.service ', 'a b.service', 'a;b.service', ''])
      expect(isUnitName(u)).toBe(false)
  })
})

describe('properties', () => {
  it('is total: any text gives a report, never an exception', () => {
    const words = fc.constantFrom(
      'would stop the following units: ',
      'warning: the following units failed: ',
      'a.service',
      ', ',
      ',\n',
      '\n',
      'would restart systemd',
      '\x1b[31m',
      '\r',
      'x y',
      '€'
    )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.array(words, { maxLength: 30 }).map(w => w.join(''))
        ),
        text => {
          const r = parseActivationOutput(text)
          for (const list of [
            r.stop,
            r.restart,
            r.reload,
            r.start,
            r.notStopped,
            r.skipped,
            r.newlyStarted,
            r.failed
          ]) {
            expect(list.every(isUnitName)).toBe(true)
            expect([...list].sort()).toEqual(list)
            expect(new Set(list).size).toBe(list.length)
          }
        }
      ),
      { numRuns: 3000 }
    )
  })

  it('reads back any lists it is given', () => {
    const unit = fc
      .tuple(
        fc.stringMatching(/^[a-z][a-z0-9@-]{0,12}$/),
        fc.constantFrom('service', 'socket', 'timer', 'mount')
      )
      .map(([n, t]) => `${n}.${t}`)
    fc.assert(
      fc.property(
        fc.uniqueArray(unit, { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(unit, { minLength: 1, maxLength: 8 }),
        (stop, start) => {
          const r = parseActivationOutput(
            `would stop the following units: ${stop.join(', ')}\nwould start the following units: ${start.join(', ')}\n`
          )
          expect(r.stop).toEqual([...stop].sort())
          expect(r.start).toEqual([...start].sort())
          expect(r.lines).toEqual([])
        }
      )
    )
  })
})
