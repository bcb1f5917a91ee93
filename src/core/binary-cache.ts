/**
 * The binary cache between build and hosts: `build` signs a closure and pushes it to a Nix store
 * (`push-to`, `signing-key`); `deploy` and `dry-activate` fetch it from there (`substituters`,
 * `trusted-public-keys`) and build nothing.
 *
 * Where signatures are checked: on Nix 2.8 a host reached through `ssh-ng://` checks the paths it
 * receives against its own nix.conf, so `--option trusted-public-keys` given to the runner's nix
 * reaches no check on the host. The runner therefore fetches the closure into its own store with
 * `require-sigs` and only the user's keys trusted, then verifies the whole closure in its store
 * (`nix store verify --recursive --sigs-needed 1`): a path that was already in the runner's store
 * (built there, unsigned, or put there by anything else) is not copied again by `nix copy`, and the
 * verification is what refuses it. Only a closure that passed both goes on to the host, over the
 * same `nix copy --to ssh-ng://…` as any deploy. A refused closure never reaches the host.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError, hostError } from './errors.js'
import { showValue } from './inputs.js'
import type { Logger } from './log.js'
import { nixCopy, nixStoreHas, nixStoreSign, nixStoreVerify } from './nix.js'
import { secrets } from './secrets.js'

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

function decodedLength(b64: string): number {
  return Buffer.from(b64, 'base64').length
}

/**
 * `trusted-public-keys`: Nix public keys `name:base64` (ed25519, 32 bytes), newline-, comma- or
 * space-separated, as `nix key convert-secret-to-public` prints them.
 */
export function parseTrustedKeys(input: string, value: string): string[] {
  const keys = value
    .split(/[\s,]+/)
    .map(k => k.trim())
    .filter(Boolean)
  for (const k of keys) {
    const colon = k.indexOf(':')
    const name = k.slice(0, colon)
    const b64 = k.slice(colon + 1)
    if (colon <= 0 || !KEY_NAME.test(name) || !BASE64.test(b64) || decodedLength(b64) !== 32) {
      throw new ActionError(
        `Input '${input}': ${showValue(k)} is not a Nix public key (name:base64 of 32 bytes, as 'nix key convert-secret-to-public' prints).`,
        { input }
      )
    }
  }
  return [...new Set(keys)]
}

/** `signing-key`: a Nix secret key `name:base64` (64 bytes), as `nix key generate-secret` prints. */
export function parseSigningKey(input: string, value: string): string {
  const key = value.trim()
  secrets.add(key)
  const colon = key.indexOf(':')
  const name = key.slice(0, colon)
  const b64 = key.slice(colon + 1)
  if (colon <= 0 || !KEY_NAME.test(name) || !BASE64.test(b64) || decodedLength(b64) !== 64) {
    throw new ActionError(
      `Input '${input}' is not a Nix secret key (name:base64 of 64 bytes, as 'nix key generate-secret --key-name NAME' prints); the value is not shown.`,
      { input }
    )
  }
  return key
}

const STORE_SCHEMES = ['file', 'http', 'https', 's3', 'ssh', 'ssh-ng', 'daemon', 'local', 'gs']

/** One Nix store URL (`file:///…`, `https://…`, `s3://bucket?…`, `ssh-ng://user@host`). */
export function parseStoreUrl(input: string, value: string): string {
  const url = value.trim()
  const m = /^([a-z][a-z0-9+-]*):\/\/\S+$/.exec(url)
  if (!m || !STORE_SCHEMES.includes(m[1]) || /[\s\0]/.test(url)) {
    throw new ActionError(
      `Input '${input}': ${showValue(url || '(empty)')} is not a Nix store URL (file:///dir, https://cache.example.com, s3://bucket?region=…, ssh-ng://user@host).`,
      { input }
    )
  }
  return url
}

/** `substituters`: one or more store URLs, newline-, comma- or space-separated. */
export function parseSubstituters(input: string, value: string): string[] {
  return [
    ...new Set(
      value
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(u => parseStoreUrl(input, u))
    )
  ]
}

/** Whether a store URL is reached over SSH (NIX_SSHOPTS applies). */
export function isSshStore(url: string): boolean {
  return /^ssh(-ng)?:\/\//.test(url)
}

export interface CacheCall {
  logger?: Logger
  host?: string
  /** Extra environment for nix (NIX_SSHOPTS for an ssh(-ng):// store). */
  env?: Record<string, string | undefined>
  /** Where the signing key's private folder goes (RUNNER_TEMP in the action). */
  tempRoot?: string
}

/**
 * Signs every path of the closures of `paths` with `secretKey`: the key goes to a 0600 file in a
 * private (0700) folder, removed when signing ends, whatever happens.
 */
export async function signClosure(
  paths: string[],
  secretKey: string,
  opts: CacheCall
): Promise<void> {
  secrets.add(secretKey)
  const root = opts.tempRoot ?? os.tmpdir()
  fs.mkdirSync(root, { recursive: true })
  const dir = fs.mkdtempSync(path.join(root, 'nix-deploy-sign-'))
  try {
    fs.chmodSync(dir, 0o700)
    const file = path.join(dir, 'key')
    fs.writeFileSync(file, secretKey + '\n', { mode: 0o600 })
    await nixStoreSign(paths, file, {
      logger: opts.logger,
      host: opts.host,
      env: opts.env,
      phase: 'sign'
    })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Copies the closures of `paths` to the store `to` (a binary cache): signatures travel along. */
export async function pushClosure(paths: string[], to: string, opts: CacheCall): Promise<void> {
  await nixCopy(paths, {
    to,
    // The destination is a cache we fill, not a host: it keeps the signatures, it does not judge them
    // (an ssh-ng:// cache host would otherwise check them against its own nix.conf).
    noCheckSigs: true,
    logger: opts.logger,
    host: opts.host,
    env: opts.env,
    phase: 'push',
    what: `pushing ${paths.join(' ')} to ${to}`,
    onStderrLine: l => opts.logger?.debug(l)
  })
}

function who(host: string | undefined): string {
  return host ?? 'the runner'
}

function refusal(host: string | undefined, text: string): ActionError {
  return host
    ? hostError({ host, phase: 'fetch', kind: 'failed' }, text)
    : new ActionError(text, { phase: 'fetch' })
}

/** The store path a line of `nix copy`/`nix store verify` stderr names, and why it failed. */
export function refusedPath(stderr: string): { path: string; why: string } | undefined {
  const patterns: [RegExp, string][] = [
    [/cannot add path '([^']+)' because it lacks a/, 'unsigned'],
    [/path '([^']+)' is untrusted/, 'unsigned'],
    [/hash mismatch importing path '([^']+)'/, 'tampered'],
    [/path '([^']+)' was modified/, 'tampered'],
    [/NAR hash mismatch in input '([^']+)'/, 'tampered'],
    [/path '([^']+)' is not valid/, 'missing']
  ]
  for (const [re, why] of patterns) {
    const m = re.exec(stderr)
    if (m) return { path: m[1], why }
  }
  return undefined
}

function refusalText(path: string, why: string, keys: string[]): string {
  const names = [...new Set(keys.map(k => k.slice(0, k.indexOf(':'))))].join(', ')
  switch (why) {
    case 'unsigned':
      return `${path} carries no valid signature by a key of trusted-public-keys (${names}): refused, nothing was copied to the host or activated`
    case 'tampered':
      return `${path} does not match its signature (its NAR's hash differs from the one signed): refused, nothing was copied to the host or activated`
    default:
      return `${path} is not in the cache: build and push it first`
  }
}

/**
 * Makes the closure of `storePath` valid in the runner's store (or `store`) from the first of `substituters`
 * that has it, with signatures required, then verifies the whole closure in the runner's store.
 * Throws one sentence naming the host and the path when the path is missing from every cache,
 * unsigned, signed by another key (whatever its name), or does not match its signature.
 */
export async function fetchVerified(
  storePath: string,
  substituters: string[],
  trustedKeys: string[],
  opts: CacheCall & { store?: string }
): Promise<{ from: string }> {
  const host = opts.host
  let from: string | undefined
  for (const s of substituters) {
    const has = await nixStoreHas(storePath, s, { logger: opts.logger, host, env: opts.env })
    if (has.exitCode === 0) {
      from = s
      break
    }
    opts.logger?.debug(`${s} does not have ${storePath}.`)
  }
  if (!from) {
    throw refusal(
      host,
      `${storePath} is not in the cache (${substituters.join(', ')}): build and push it first`
    )
  }
  opts.logger?.info(`${who(host)}: fetching ${storePath} from ${from}, signatures checked.`)
  const copied = await nixCopy([storePath], {
    from,
    to: opts.store,
    options: [
      ['trusted-public-keys', trustedKeys.join(' ')],
      ['require-sigs', 'true']
    ],
    check: false,
    logger: opts.logger,
    host,
    env: opts.env,
    phase: 'fetch',
    what: `fetching ${storePath} from ${from}`,
    onStderrLine: l => opts.logger?.debug(l)
  })
  if (copied.exitCode !== 0) {
    const bad = refusedPath(copied.stderr)
    if (bad) throw refusal(host, refusalText(bad.path, bad.why, trustedKeys))
    const last = copied.stderr.trim().split('\n').slice(-3).join(' ').trim()
    throw refusal(
      host,
      `fetching ${storePath} from ${from} failed (${last || `exit ${copied.exitCode}`}); nothing was copied to the host`
    )
  }
  // Paths already in the runner's store were not fetched, so not checked: verify them all.
  const verified = await nixStoreVerify([storePath], trustedKeys, {
    store: opts.store,
    logger: opts.logger,
    host,
    env: opts.env
  })
  if (verified.exitCode !== 0) {
    const bad = refusedPath(verified.stderr) ?? { path: storePath, why: 'unsigned' }
    throw refusal(host, refusalText(bad.path, bad.why, trustedKeys))
  }
  return { from }
}
