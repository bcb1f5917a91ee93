/**
 * Build once, deploy that closure (issue 12): the build bundle signs and pushes a closure to a
 * binary cache, the deploy and dry-activate bundles take it from there with signatures checked.
 * Real stores: a `file://` cache, an HTTP cache served by Debian's nginx (uploads with WebDAV PUT),
 * an `ssh-ng://` cache on a host of the fleet harness, and `s3://` against s3rver (an S3 stand-in:
 * no S3 service runs here) where the Nix speaks S3 (2.34 does; Debian's 2.8 does not, and there
 * the test checks that the push fails saying so). Every refusal checks the target's store
 * (the path is absent) and its profile (the same generation) afterwards.
 *
 * The runner's store is this machine's store, where the build ran: before each deploy the system's
 * toplevel is deleted from it (`nix-store --delete`), so the deploy really fetches it from the
 * cache, as a deploy job on a fresh runner does.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { run } from '../../src/core/process.js'
import { repoRoot, runAction, type ActionRun } from '../harness/action-runner.js'
import { makeFlakeRepo, startFleet, type FlakeRepo, type Fleet } from '../harness/fleet.js'
import { nixEnv } from '../harness/nix-env.js'
import { itWith } from '../harness/requires.js'

const T = 300_000
const it = itWith(['nix', 'sshd'])
// Fresh store paths on every run: a path signed by an earlier run must not pass for this one's.
const NONCE = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

const FLAKE = `{
  outputs = { self }:
    let
      lib = import ./lib;
      inherit (lib) pkgs;
      mk = name: lib.mkHost { name = "\${name}-${NONCE}"; packages = [ pkgs.nginx ]; };
      addresses = builtins.fromJSON (builtins.readFile ./hosts.json);
      # Two hosts whose targets come from the flake, for a deploy of several hosts.
      onHost = name: target: lib.mkHost {
        name = "\${name}-${NONCE}";
        packages = [ pkgs.nginx ];
        deployment.targetHost = addresses.\${target};
      };
    in {
      nixosConfigurations = {
        fleet1 = onHost "fleet1" "web1";
        fleet2 = onHost "fleet2" "web2";
        base = mk "base";
        signed = mk "signed";
        unsigned = mk "unsigned";
        otherkey = mk "otherkey";
        viahttp = mk "viahttp";
        viassh = mk "viassh";
        vias3 = mk "vias3";
        missing = mk "missing";
      };
    };
}
`

let fleet: Fleet
let repo: FlakeRepo
let tmp: string
let key: { secret: string; pub: string }
let sameName: { secret: string; pub: string }
let nginx: ChildProcess | undefined
const HTTP_PORT = 18000 + Math.floor(Math.random() * 1000)
const HTTP_ADDR = '127.0.0.1'

async function sh(argv: string[], input?: string) {
  return run(argv, { timeoutMs: T, env: nixEnv(), check: false, input })
}

async function newKey(name: string) {
  const secret = (await sh(['nix', 'key', 'generate-secret', '--key-name', name])).stdout.trim()
  const pub = (await sh(['nix', 'key', 'convert-secret-to-public'], secret)).stdout.trim()
  return { secret, pub }
}

function ssh() {
  return { 'ssh-private-key': fleet.privateKey, 'ssh-known-hosts': fleet.knownHosts }
}

async function build(host: string, inputs: Record<string, string>): Promise<string> {
  const r = await runAction({
    action: 'build',
    workspace: repo.path,
    inputs: { host, cache: 'false', ...inputs }
  })
  expect(r.failure).toBeUndefined()
  const paths = JSON.parse(r.outputs['store-paths']) as Record<string, string>
  expect(paths).toEqual({ [host]: r.outputs['store-path'] })
  return paths[host]
}

/** Removes a system's toplevel from the runner's store, so a deploy must fetch it. */
async function forget(storePath: string): Promise<void> {
  const r = await sh(['nix-store', '--delete', storePath])
  expect(r.exitCode).toBe(0)
  expect((await sh(['nix-store', '--check-validity', storePath])).exitCode).not.toBe(0)
}

function deploy(
  hostName: string,
  address: string,
  inputs: Record<string, string>
): Promise<ActionRun> {
  return runAction({
    action: 'deploy',
    workspace: repo.path,
    inputs: {
      host: hostName,
      target: `root@${address}`,
      'confirm-timeout': '6',
      ...ssh(),
      ...inputs
    }
  })
}

/** The refused host kept its store and profile: the path is absent, generation 1 is base. */
async function untouched(hostName: string, storePath: string, base: string): Promise<void> {
  const h = fleet.host(hostName)
  expect(await h.hasPath(storePath)).toBe(false)
  expect(await h.generations()).toEqual([1])
  expect(await h.profileSystem()).toBe(base)
  expect(await h.currentSystem()).toBe(base)
}

let base: string

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-cache-'))
  fleet = await startFleet({ hosts: ['web1', 'web2', 'cache'] })
  repo = await makeFlakeRepo({
    'flake.nix': FLAKE,
    'hosts.json': JSON.stringify(Object.fromEntries(fleet.hosts.map(h => [h.name, h.address])))
  })
  key = await newKey('ci-cache-1')
  sameName = await newKey('ci-cache-1')
  base = await build('base', {})
  await fleet.install('web2', base)
}, T)

afterAll(async () => {
  nginx?.kill('SIGTERM')
  await fleet?.stop()
  await repo?.remove()
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

describe('binary cache: file://', () => {
  let signed: string
  const dir = () => path.join(tmp, 'file-cache')

  it(
    'build signs and pushes; deploy fetches the closure from the cache, checked, and builds nothing',
    async () => {
      signed = await build('signed', {
        'push-to': `file://${dir()}?compression=none`,
        'signing-key': key.secret
      })
      expect(fs.existsSync(path.join(dir(), `${path.basename(signed).slice(0, 32)}.narinfo`))).toBe(
        true
      )
      await forget(signed)
      const r = await deploy('signed', fleet.host('web1').address, {
        'store-paths': JSON.stringify({ signed }),
        substituters: `file://${dir()}`,
        'trusted-public-keys': key.pub
      })
      expect(r.failure).toBeUndefined()
      expect(r.outputs.status).toBe('deployed')
      expect(await fleet.host('web1').currentSystem()).toBe(signed)
      expect(r.stdout).toContain(`fetching ${signed} from file://${dir()}, signatures checked`)
      expect(r.stdout).not.toMatch(/^::group::Building/m)
      // The runner's copy carries the key's signature (it came from the cache).
      const sigs = await sh(['nix', 'path-info', '--sigs', signed])
      expect(sigs.stdout).toContain('ci-cache-1:')
      // The secret key is masked, never printed.
      expect(r.stdout).not.toContain(key.secret.split(':')[1])
    },
    T
  )

  it(
    "refuses a NAR that does not match its signature (tampered .narinfo), leaving the host's store and profile as they were",
    async () => {
      const bad = path.join(tmp, 'tampered-narinfo')
      fs.cpSync(dir(), bad, { recursive: true })
      const info = path.join(bad, `${path.basename(signed).slice(0, 32)}.narinfo`)
      // Another path's NAR under this path's signature.
      const other = fs
        .readdirSync(bad)
        .find(f => f.endsWith('.narinfo') && f !== path.basename(info))!
      const otherText = fs.readFileSync(path.join(bad, other), 'utf8')
      const pick = (t: string, k: string) => new RegExp(`^${k}: .*$`, 'm').exec(t)![0]
      let text = fs.readFileSync(info, 'utf8')
      for (const k of ['URL', 'FileHash', 'FileSize', 'NarHash', 'NarSize'])
        text = text.replace(new RegExp(`^${k}: .*$`, 'm'), pick(otherText, k))
      fs.writeFileSync(info, text)
      await forget(signed)
      const r = await deploy('web2', fleet.host('web2').address, {
        'store-path': signed,
        substituters: `file://${bad}`,
        'trusted-public-keys': key.pub
      })
      expect(r.exitCode).not.toBe(0)
      // The signature covers the NAR's hash: another NAR under it is no valid signature.
      expect(r.failure).toContain(`Host web2, phase fetch: ${signed} carries no valid signature`)
      await untouched('web2', signed, base)
    },
    T
  )

  it(
    'refuses a NAR whose bytes were changed after signing',
    async () => {
      const bad = path.join(tmp, 'tampered-nar')
      fs.cpSync(dir(), bad, { recursive: true })
      const info = fs.readFileSync(
        path.join(bad, `${path.basename(signed).slice(0, 32)}.narinfo`),
        'utf8'
      )
      const nar = path.join(bad, /^URL: (.*)$/m.exec(info)![1])
      const bytes = fs.readFileSync(nar)
      const at = bytes.indexOf('switch-to-configuration')
      expect(at).toBeGreaterThan(0)
      bytes[at] = bytes[at] === 0x58 ? 0x59 : 0x58
      fs.writeFileSync(nar, bytes)
      const r = await deploy('web2', fleet.host('web2').address, {
        'store-path': signed,
        substituters: `file://${bad}`,
        'trusted-public-keys': key.pub
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(/Host web2, phase fetch: .*does not match its signature/)
      expect(r.failure).toContain(signed)
      await untouched('web2', signed, base)
    },
    T
  )

  it(
    "refuses an unsigned closure, even one already in the runner's store",
    async () => {
      const unsigned = await build('unsigned', { 'push-to': `file://${dir()}` })
      // Still in the runner's store (built there, unsigned): nix copy would skip it; verify refuses.
      const r = await deploy('web2', fleet.host('web2').address, {
        'store-path': unsigned,
        substituters: `file://${dir()}`,
        'trusted-public-keys': key.pub
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(
        new RegExp(
          `Host web2, phase fetch: /nix/store/\\S+ carries no valid signature by a key of trusted-public-keys \\(ci-cache-1\\)`
        )
      )
      await untouched('web2', unsigned, base)
      // Fetched from the cache instead: refused the same way.
      await forget(unsigned)
      const again = await deploy('web2', fleet.host('web2').address, {
        'store-path': unsigned,
        substituters: `file://${dir()}`,
        'trusted-public-keys': key.pub
      })
      expect(again.exitCode).not.toBe(0)
      expect(again.failure).toContain(`${unsigned} carries no valid signature`)
      await untouched('web2', unsigned, base)
    },
    T
  )

  it(
    'refuses a closure signed by another key with the same name (dry-activate too)',
    async () => {
      const other = await build('otherkey', {
        'push-to': `file://${dir()}`,
        'signing-key': sameName.secret
      })
      await forget(other)
      const r = await deploy('web2', fleet.host('web2').address, {
        'store-path': other,
        substituters: `file://${dir()}`,
        'trusted-public-keys': key.pub
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toContain(`Host web2, phase fetch: ${other} carries no valid signature`)
      await untouched('web2', other, base)
      const dry = await runAction({
        action: 'dry-activate',
        workspace: repo.path,
        inputs: {
          host: 'otherkey',
          target: `root@${fleet.host('web2').address}`,
          substituters: `file://${dir()}`,
          'trusted-public-keys': key.pub,
          ...ssh()
        }
      })
      expect(dry.exitCode).not.toBe(0)
      expect(dry.failure).toContain(`${other} carries no valid signature`)
      await untouched('web2', other, base)
    },
    T
  )

  it(
    'a system missing from the cache fails: not in the cache, build and push it first',
    async () => {
      const r = await deploy('missing', fleet.host('web2').address, {
        substituters: `file://${dir()}`,
        'trusted-public-keys': key.pub
      })
      expect(r.exitCode).not.toBe(0)
      expect(r.failure).toMatch(
        /Host missing, phase fetch: \/nix\/store\/\S+-nixos-system-missing-\S+ is not in the cache \(file:\/\/\S+\): build and push it first\./
      )
      expect(await fleet.host('web2').generations()).toEqual([1])
    },
    T
  )
})

describe('binary cache: several hosts', () => {
  it(
    'one unsigned system stops the whole deploy before any host is touched; signed, both deploy',
    async () => {
      const dir = path.join(tmp, 'fleet-cache')
      const one = await build('fleet1', { 'push-to': `file://${dir}`, 'signing-key': key.secret })
      const two = await build('fleet2', { 'push-to': `file://${dir}` })
      const paths = JSON.stringify({ fleet1: one, fleet2: two })
      const web1 = fleet.host('web1')
      const before1 = { gens: await web1.generations(), current: await web1.currentSystem() }
      await forget(one)
      await forget(two)
      const refused = await runAction({
        action: 'deploy',
        workspace: repo.path,
        inputs: {
          hosts: 'fleet1,fleet2',
          'store-paths': paths,
          substituters: `file://${dir}`,
          'trusted-public-keys': key.pub,
          'confirm-timeout': '6',
          ...ssh()
        }
      })
      expect(refused.exitCode).not.toBe(0)
      expect(refused.failure).toContain(
        `Host fleet2, phase fetch: ${two} carries no valid signature`
      )
      // Neither host changed: fleet1's closure was fetched, but the deploy stopped before any copy.
      expect(await web1.hasPath(one)).toBe(false)
      expect({ gens: await web1.generations(), current: await web1.currentSystem() }).toEqual(
        before1
      )
      await untouched('web2', two, base)

      // Signed too (the same store path, now with a signature), both hosts deploy. A cache that
      // has a path keeps its .narinfo (nix copy skips it): the signed pushes go to a new cache.
      const dir2 = path.join(tmp, 'fleet-cache-2')
      expect(
        await build('fleet1', { 'push-to': `file://${dir2}`, 'signing-key': key.secret })
      ).toBe(one)
      expect(
        await build('fleet2', { 'push-to': `file://${dir2}`, 'signing-key': key.secret })
      ).toBe(two)
      await forget(one)
      await forget(two)
      const r = await runAction({
        action: 'deploy',
        workspace: repo.path,
        inputs: {
          hosts: 'fleet1,fleet2',
          'store-paths': paths,
          substituters: `file://${dir2}`,
          'trusted-public-keys': key.pub,
          'confirm-timeout': '6',
          ...ssh()
        }
      })
      expect(r.failure).toBeUndefined()
      expect(r.outputs.status).toBe('deployed')
      expect(await web1.currentSystem()).toBe(one)
      expect(await fleet.host('web2').currentSystem()).toBe(two)
    },
    T
  )
})

describe('binary cache: s3:// (s3rver, an S3 stand-in on loopback)', () => {
  let s3: ChildProcess | undefined
  afterAll(() => {
    s3?.kill('SIGTERM')
  })

  it(
    'pushes to and deploys from an S3 bucket where Nix speaks S3 (2.34 does, over curl); elsewhere the push fails naming the store',
    async () => {
      const port = HTTP_PORT + 1000
      const data = path.join(tmp, 's3')
      fs.mkdirSync(data, { recursive: true })
      s3 = spawn(
        process.execPath,
        [
          path.join(repoRoot, 'node_modules/s3rver/bin/s3rver.js'),
          '-d',
          data,
          '-a',
          HTTP_ADDR,
          '-p',
          String(port),
          '--configure-bucket',
          'nixcache'
        ],
        { stdio: 'ignore' }
      )
      for (let i = 0; i < 100; i++) {
        const up = await fetch(`http://${HTTP_ADDR}:${port}/`).then(
          () => true,
          () => false
        )
        if (up) break
        await new Promise(res => setTimeout(res, 100))
      }
      // s3rver's fixed credentials, read by Nix from the environment as from any AWS setup.
      const aws = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
      const url = `s3://nixcache?endpoint=http://${HTTP_ADDR}:${port}&region=us-east-1`
      const probe = await run(
        ['nix', 'path-info', '--store', url, '/nix/store/00000000000000000000000000000000-probe'],
        {
          timeoutMs: T,
          env: { ...nixEnv(), ...aws },
          check: false
        }
      )
      const speaksS3 = !/don't know how to open Nix store/.test(probe.stderr)
      const b = await runAction({
        action: 'build',
        workspace: repo.path,
        inputs: { host: 'vias3', cache: 'false', 'push-to': url, 'signing-key': key.secret },
        env: aws
      })
      if (!speaksS3) {
        // Debian's Nix 2.8 is built without S3: the step fails, naming the host and the store.
        expect(b.exitCode).not.toBe(0)
        expect(b.failure).toContain(`pushing`)
        expect(b.failure).toContain(url)
        expect(b.failure).toMatch(/don't know how to open Nix store/)
        return
      }
      expect(b.failure).toBeUndefined()
      const p = b.outputs['store-path']
      await forget(p)
      const r = await runAction({
        action: 'deploy',
        workspace: repo.path,
        inputs: {
          host: 'vias3',
          target: `root@${fleet.host('web1').address}`,
          'store-path': p,
          substituters: url,
          'trusted-public-keys': key.pub,
          'confirm-timeout': '6',
          ...ssh()
        },
        env: aws
      })
      expect(r.failure).toBeUndefined()
      expect(await fleet.host('web1').currentSystem()).toBe(p)
      expect(r.stdout).toContain(`fetching ${p} from ${url}`)
    },
    T
  )
})

describe('binary cache: HTTP (nginx) and ssh-ng://', () => {
  it(
    'pushes to an HTTP cache (WebDAV PUT) and deploys from it, the store path evaluated, not built',
    async () => {
      const root = path.join(tmp, 'http-cache')
      const prefix = path.join(tmp, 'nginx')
      fs.mkdirSync(root, { recursive: true })
      fs.mkdirSync(prefix, { recursive: true })
      fs.writeFileSync(
        path.join(prefix, 'nginx.conf'),
        `user root;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events { worker_connections 64; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_max_body_size 1g;
  server {
    listen ${HTTP_ADDR}:${HTTP_PORT};
    root ${root};
    location / { dav_methods PUT; create_full_put_path on; }
  }
}
`
      )
      nginx = spawn(
        '/usr/sbin/nginx',
        ['-p', prefix, '-c', `${prefix}/nginx.conf`, '-g', 'daemon off;'],
        {
          stdio: 'ignore'
        }
      )
      const url = `http://${HTTP_ADDR}:${HTTP_PORT}`
      for (let i = 0; i < 100; i++) {
        const up = await fetch(`${url}/`).then(
          () => true,
          () => false
        )
        if (up) break
        await new Promise(res => setTimeout(res, 100))
      }
      const p = await build('viahttp', { 'push-to': url, 'signing-key': key.secret })
      expect(fs.existsSync(path.join(root, `${path.basename(p).slice(0, 32)}.narinfo`))).toBe(true)
      await forget(p)
      // No store-path: the deploy evaluates the host's toplevel store path (no build).
      const r = await deploy('viahttp', fleet.host('web1').address, {
        substituters: url,
        'trusted-public-keys': key.pub
      })
      expect(r.failure).toBeUndefined()
      expect(r.outputs.status).toBe('deployed')
      expect(await fleet.host('web1').currentSystem()).toBe(p)
      expect(r.stdout).toContain(`fetching ${p} from ${url}`)
      expect(fs.readFileSync(path.join(prefix, 'access.log'), 'utf8')).toMatch(/GET \/\w+\.narinfo/)
    },
    T
  )

  it(
    'pushes to an ssh-ng:// cache host and deploys from it',
    async () => {
      const cache = `ssh-ng://root@${fleet.host('cache').address}`
      const p = await build('viassh', {
        'push-to': cache,
        'signing-key': key.secret,
        ...ssh()
      })
      expect(await fleet.host('cache').hasPath(p)).toBe(true)
      await forget(p)
      const r = await deploy('web1', fleet.host('web1').address, {
        'store-path': p,
        substituters: cache,
        'trusted-public-keys': key.pub
      })
      expect(r.failure).toBeUndefined()
      expect(await fleet.host('web1').currentSystem()).toBe(p)
      expect(r.stdout).toContain(`fetching ${p} from ${cache}`)
    },
    T
  )
})
