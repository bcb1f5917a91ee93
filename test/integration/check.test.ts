/**
 * The check bundle, run as GitHub's runner runs it, on real flakes evaluated by the real nix.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { runAction } from '../harness/action-runner.js'
import { makeFlakeRepo, type FlakeRepo } from '../harness/flake-repo.js'

const repos: FlakeRepo[] = []
afterAll(() => repos.forEach(r => r.remove()))

function repo(files: Record<string, string>): FlakeRepo {
  const r = makeFlakeRepo(files, { withLib: false })
  repos.push(r)
  return r
}

const readFile = (file: string) => readFileSync(file, 'utf8')

/** The minor version of the nix on PATH (2.8 → 8, 2.34 → 34): shapes differ since 2.13. */
function nixMinor(): number {
  const m = /(\d+)\.(\d+)/.exec(execFileSync('nix', ['--version'], { encoding: 'utf8' }))
  return m ? Number(m[1]) * 1000 + Number(m[2]) - 2000 : 0
}

const drv = (name: string) =>
  `derivation { name = "${name}"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo ok > $out" ]; }`

describe('check action', () => {
  it('passes a clean flake and lists what it checked', async () => {
    const r = repo({
      'flake.nix': `{
  outputs = { self }: {
    nixosConfigurations.web1 = { config.system.build.toplevel = ${drv('toplevel-web1')}; config.networking.hostName = "web1"; };
    checks.x86_64-linux.unit = ${drv('unit-check')};
  };
}
`
    })
    const run = await runAction({
      action: 'check',
      workspace: r.dir,
      inputs: { 'lock-max-age-days': '0' }
    })
    expect(run.stderr).toBe('')
    expect(run.exitCode).toBe(0)
    expect(run.outputs).toEqual({ result: 'passed', errors: '0' })
    expect(run.summary).toContain('nix flake check passed')
    expect(run.summary).toContain('`web1`')
    expect(run.summary).toMatch(/1 check\b/)
    expect(run.annotations.filter(a => a.level === 'error')).toEqual([])
  })

  it('annotates an evaluation error at the repository-relative file and line, and fails', async () => {
    const r = repo({
      'flake.nix': `{
  outputs = { self }: {
    nixosConfigurations.web1 = import ./hosts/web1.nix;
  };
}
`,
      'hosts/web1.nix': `{
  config.networking.hostName = "web1";
  config.system.build.toplevel =
    builtins.derivation {
      name = "x";
      system = "x86_64-linux";
      builder = undefinedBuilderVariable;
    };
}
`
    })
    const run = await runAction({
      action: 'check',
      workspace: r.dir,
      inputs: { 'lock-max-age-days': '0' }
    })
    expect(run.exitCode).toBe(1)
    expect(run.outputs.result).toBe('failed')
    expect(Number(run.outputs.errors)).toBeGreaterThanOrEqual(1)
    const errors = run.annotations.filter(a => a.level === 'error' && a.file)
    expect(errors[0]).toMatchObject({ file: 'hosts/web1.nix', line: 7 })
    expect(errors[0].message).toMatch(/undefined variable 'undefinedBuilderVariable'/)
    // The step fails with one sentence that names the phase and the place.
    expect(run.failure).toMatch(/^check: .*hosts\/web1\.nix:7/)
    expect(run.summary).toContain('hosts/web1.nix')
  })

  it('names an error inside a flake input with the input, never annotating the repository', async () => {
    // A stand-in for nixpkgs in a git repository of its own (a local input: no network), whose
    // lib/modules.nix fails at line 6 when a host forgets boot.loader.grub.device.
    const nixpkgs = repo({
      'flake.nix': '{ outputs = { self }: { lib = import ./lib/modules.nix; }; }\n',
      'lib/modules.nix': `# stand-in for nixpkgs' lib
{
  evalModules = { modules }:
    let config = builtins.foldl' (a: b: a // b) { } modules; in
    { config = config // { system.build.toplevel = builtins.seq
        config.boot.loader.grub.device
        (${drv('toplevel')}); }; };
}
`
    })
    // The user's repository has its own lib/modules.nix, longer than line 6: nixpkgs' position
    // must not land on it.
    const r = repo({
      'flake.nix': `{
  inputs.nixpkgs.url = "git+file://${nixpkgs.dir}";
  outputs = { self, nixpkgs }: {
    nixosConfigurations.web1 = nixpkgs.lib.evalModules {
      modules = [ { networking.hostName = "web1"; } ];
    };
  };
}
`,
      'lib/modules.nix':
        Array.from({ length: 12 }, (_, i) => `# the user's own line ${i + 1}`).join('\n') + '\n'
    })
    execFileSync('nix', ['flake', 'lock'], { cwd: r.dir, stdio: 'ignore' })
    r.commit({ 'flake.lock': readFile(`${r.dir}/flake.lock`) }, 'lock')

    const run = await runAction({
      action: 'check',
      workspace: r.dir,
      inputs: { 'lock-max-age-days': '0' }
    })
    expect(run.exitCode).toBe(1)
    expect(run.outputs).toEqual({ result: 'failed', errors: '1' })
    const errors = run.annotations.filter(a => a.level === 'error')
    // Never on the repository's lib/modules.nix (nor any file but the user's flake.nix).
    expect(errors.filter(a => a.file === 'lib/modules.nix')).toEqual([])
    const onFiles = errors.filter(a => a.file)
    if (nixMinor() >= 13) {
      // Nix 2.13+ prints the frame that names the host: the user's flake.nix, line 4.
      expect(onFiles).toHaveLength(1)
      expect(onFiles[0]).toMatchObject({ file: 'flake.nix', line: 4 })
    } else {
      // Nix 2.8 prints only the position inside the input: no file of the repository at all.
      expect(onFiles).toEqual([])
    }
    const where = 'nixpkgs: lib/modules.nix:6'
    expect(errors.some(a => a.message === `attribute 'boot' missing (at ${where})`)).toBe(true)
    expect(run.failure).toContain(`attribute 'boot' missing (at ${where})`)
    // In the summary's table, as code: `nixpkgs: lib/modules.nix:6`.
    expect(run.summary).toContain(`(at \`${where}\`)`)
  })

  it("annotates a home-manager definition at the user's file and keeps NixOS assertion text", async () => {
    // Messages in the words of nixpkgs' module system, thrown from the user's own flake: the
    // definition names the user's file with home-manager's ", via option …" suffix.
    const r = repo({
      'flake.nix': `{
  outputs = { self }: {
    nixosConfigurations.mail = {
      config.system.build.toplevel = throw "A definition for option \`home-manager.users.alice.programs.git.enable' is not of type \`boolean'. Definition values:\n- In \`\${toString ./home/alice.nix}, via option home-manager.users.alice': \\"yes\\"";
    };
    nixosConfigurations.db = {
      config.system.build.toplevel = throw "\nFailed assertions:\n- services.postgresql.enable needs a data directory";
    };
  };
}
`,
      'home/alice.nix': '{ programs.git.enable = "yes"; }\n'
    })
    const run = await runAction({
      action: 'check',
      workspace: r.dir,
      inputs: { 'lock-max-age-days': '0' }
    })
    expect(run.exitCode).toBe(1)
    expect(run.outputs).toEqual({ result: 'failed', errors: '2' })
    const errors = run.annotations.filter(a => a.level === 'error')
    const mail = errors.find(a => a.message.startsWith('A definition for option'))
    expect(mail?.message).toContain('via option home-manager.users.alice\': "yes"')
    // The definition's file, without a line (it has none), before the throw's frame.
    expect(mail?.file).toBe('home/alice.nix')
    expect(mail?.line).toBeUndefined()
    expect(
      errors.some(
        a => a.message === 'Failed assertions: - services.postgresql.enable needs a data directory'
      )
    ).toBe(true)
    // The summary's table escapes Markdown: read it without the escapes.
    expect(run.summary.replace(/\\(.)/g, '$1')).toContain(
      'Failed assertions: - services.postgresql.enable needs a data directory'
    )
  })

  it('with more Nix errors than the runner keeps, the failure sentence is still the last error annotation', async () => {
    const files: Record<string, string> = {}
    const checks: string[] = []
    for (let i = 1; i <= 12; i++) {
      files[`checks/c${i}.nix`] = `{ x = undefinedVariable${i}; }\n`
      checks.push(`c${i} = (import ./checks/c${i}.nix).x;`)
    }
    files['flake.nix'] =
      `{\n  outputs = { self }: {\n    checks.x86_64-linux = {\n      ${checks.join('\n      ')}\n    };\n  };\n}\n`
    const run = await runAction({
      action: 'check',
      workspace: repo(files).dir,
      inputs: { 'lock-max-age-days': '0' }
    })
    expect(run.exitCode).toBe(1)
    expect(Number(run.outputs.errors)).toBeGreaterThan(10)
    const written = run.annotations.filter(a => a.level === 'error')
    // No more than the runner keeps: 8 at their file and line, one count of the rest, the failure.
    expect(written).toHaveLength(10)
    expect(written.filter(a => a.file?.startsWith('checks/c'))).toHaveLength(8)
    expect(written[8].message).toMatch(
      /^\d+ more errors than GitHub shows per step: they are in the log/
    )
    expect(run.failure).toMatch(/^check: /)
    expect(written[9].message).toBe(run.failure)
    // Every error is still in the log.
    for (let i = 1; i <= 12; i++) expect(run.stdout).toContain(`undefinedVariable${i}`)
  })

  it('warns about flake.lock inputs older than lock-max-age-days', async () => {
    // A local input (a path flake) so the lock has a node with lastModified, without network.
    const r = repo({
      'dep/flake.nix': '{ outputs = { self }: { value = 1; }; }\n',
      'flake.nix': `{
  inputs.dep.url = "path:./dep";
  outputs = { self, dep }: { checks.x86_64-linux.ok = ${drv('ok')}; };
}
`
    })
    // Write a lock whose dep input was last modified long ago (as if nobody ran nix flake update).
    const { execFileSync } = await import('node:child_process')
    execFileSync('nix', ['flake', 'lock'], { cwd: r.dir, stdio: 'ignore' })
    const fs = await import('node:fs')
    const lock = JSON.parse(fs.readFileSync(`${r.dir}/flake.lock`, 'utf8'))
    const old = Math.floor(Date.parse('2025-01-01T00:00:00Z') / 1000)
    lock.nodes.dep.locked.lastModified = old
    r.commit({ 'flake.lock': JSON.stringify(lock, null, 2) + '\n' }, 'lock')
    const run = await runAction({
      action: 'check',
      workspace: r.dir,
      inputs: { 'lock-max-age-days': '30' }
    })
    expect(run.exitCode).toBe(0)
    const warnings = run.annotations.filter(a => a.level === 'warning')
    expect(warnings.some(w => w.file === 'flake.lock' && /'dep'/.test(w.message))).toBe(true)
    expect(run.summary).toContain('Stale flake.lock inputs')
  })

  it('refuses a flake that does not exist with one clear line', async () => {
    const r = repo({ README: 'no flake here\n' })
    const run = await runAction({ action: 'check', workspace: r.dir, inputs: { flake: './nope' } })
    expect(run.exitCode).toBe(1)
    expect(run.failure).toBeDefined()
    expect(run.failure!.split('\n')).toHaveLength(1)
    expect(run.failure).toMatch(/nope/)
    expect(run.stdout).not.toMatch(/^\s+at .*\.js:\d+/m)
  })

  it('refuses a bad input naming it', async () => {
    const r = repo({ 'flake.nix': '{ outputs = { self }: { }; }\n' })
    const run = await runAction({
      action: 'check',
      workspace: r.dir,
      inputs: { 'lock-max-age-days': 'soon' }
    })
    expect(run.exitCode).toBe(1)
    expect(run.failure).toMatch(/Input 'lock-max-age-days'/)
  })
})
