/**
 * Packing hosts into shards of one system each (fleets past GitHub's 256 matrix jobs), and the
 * `runners` input (Nix system -> runner label).
 */
import { describe, expect, it } from '@jest/globals'
import { ActionError } from '../../src/core/errors.js'
import { parseRunners, shardBySystem } from '../../src/core/matrix.js'
import { parseHostsInput } from '../../src/commands/build.js'

const fleet = (n: number, system: string | null, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({
    host: `${prefix}-${String(i + 1).padStart(3, '0')}`,
    system
  }))

describe('shardBySystem', () => {
  it('packs 300 hosts into at most 256 shards, each host exactly once, one system per shard', () => {
    const hosts = [...fleet(240, 'x86_64-linux', 'x'), ...fleet(60, 'aarch64-linux', 'a')]
    const shards = shardBySystem(hosts, 256)
    expect(shards.length).toBeLessThanOrEqual(256)
    const all = shards.flatMap(s => s.hosts)
    expect(all.sort()).toEqual(hosts.map(h => h.host).sort())
    const systemOf = new Map(hosts.map(h => [h.host, h.system]))
    for (const s of shards) {
      expect(s.hosts.length).toBeGreaterThan(0)
      for (const h of s.hosts) expect(systemOf.get(h)).toBe(s.system)
    }
    // Shards as even as the systems allow: no shard more than one host larger than another.
    const sizes = shards.map(s => s.hosts.length)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
  })

  it('gives a small system its own shard even when a large one would take every slot', () => {
    const hosts = [...fleet(1000, 'x86_64-linux', 'x'), ...fleet(1, 'aarch64-linux', 'a')]
    const shards = shardBySystem(hosts, 10)
    expect(shards).toHaveLength(10)
    expect(shards.filter(s => s.system === 'aarch64-linux')).toEqual([
      { system: 'aarch64-linux', hosts: ['a-001'] }
    ])
    expect(shards.flatMap(s => s.hosts)).toHaveLength(1001)
  })

  it('keeps hosts of an unknown system (null) apart from the others', () => {
    const shards = shardBySystem([...fleet(5, null, 'u'), ...fleet(5, 'x86_64-linux', 'x')], 4)
    for (const s of shards) expect(new Set(s.hosts.map(h => h[0])).size).toBe(1)
    expect(shards.flatMap(s => s.hosts)).toHaveLength(10)
  })

  it('refuses more systems than max-jobs, naming the input', () => {
    const hosts = [
      ...fleet(3, 'x86_64-linux', 'x'),
      ...fleet(3, 'aarch64-linux', 'a'),
      ...fleet(3, 'riscv64-linux', 'r')
    ]
    expect(() => shardBySystem(hosts, 2)).toThrow(/^Input 'max-jobs' is 2, .*3 systems/)
  })
})

describe('parseRunners', () => {
  it('reads a map from system to label, with * for every other system', () => {
    expect(parseRunners('')).toEqual({})
    expect(
      parseRunners('{"aarch64-linux":"ubuntu-24.04-arm","*":"self-hosted large x64"}')
    ).toEqual({ 'aarch64-linux': 'ubuntu-24.04-arm', '*': 'self-hosted large x64' })
  })

  it.each([
    ['{aarch64-linux: ubuntu-24.04-arm}', /^Input 'runners' is not valid JSON/],
    ['["ubuntu-latest"]', /^Input 'runners' must be a JSON object .* not an array/],
    ['"ubuntu-latest"', /^Input 'runners' must be a JSON object/],
    [
      '{"aarch64-linux":["self-hosted","ARM64"]}',
      /gives aarch64-linux an array, not a runner label/
    ],
    ['{"aarch64-linux":7}', /gives aarch64-linux a number, not a runner label/],
    ['{"aarch64-linux":null}', /gives aarch64-linux null/],
    ['{"arm":"ubuntu-24.04-arm"}', /has the key 'arm', which is not a Nix system/],
    ['{"aarch64-linux":"x\\n::add-mask::y"}', /contains whitespace \('\\n'\)/],
    ['{"aarch64-linux":"${{ secrets.X }}"}', /contains the character '\$'/],
    ['{"aarch64-linux":""}', /is empty/]
  ])('refuses %s in one sentence naming the input', (value, message) => {
    let err: unknown
    try {
      parseRunners(value)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ActionError)
    expect((err as ActionError).input).toBe('runners')
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message.includes('\n')).toBe(false)
  })
})

describe("build's hosts input", () => {
  it('takes a JSON array (a shard) or a list, each name once', () => {
    expect(parseHostsInput('["web-01","web-02","web-01"]')).toEqual(['web-01', 'web-02'])
    expect(parseHostsInput('web-01, web-02\nweb-03')).toEqual(['web-01', 'web-02', 'web-03'])
  })
  it('refuses a broken array and names that are not host names', () => {
    expect(() => parseHostsInput('["web-01"')).toThrow(/^Input 'hosts' starts with '\['/)
    expect(() => parseHostsInput('[1,2]')).toThrow(
      /^Input 'hosts' must be a JSON array of host names/
    )
    expect(() => parseHostsInput('web-01,$(reboot)')).toThrow(/input 'hosts'/i)
  })
})
