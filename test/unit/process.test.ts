/**
 * The one process runner (src/core/process.ts), with real processes: `run` is built on
 * `startProcess`, so each rule is checked through both.
 */
import { describe, it, expect, afterEach } from '@jest/globals'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ActionError } from '../../src/core/errors.js'
import { run, startProcess } from '../../src/core/process.js'
import { secrets } from '../../src/core/secrets.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'process-test-'))
  dirs.push(d)
  return d
}

/** Whether a process (or its group) still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('run', () => {
  it('returns the output and exit code of a command', async () => {
    const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 0'], { timeoutMs: 10_000 })
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe('out\n')
    expect(r.stderr).toBe('err\n')
  })

  it('writes its input to the command', async () => {
    const r = await run(['cat'], { timeoutMs: 10_000, input: 'hello\nworld' })
    expect(r.stdout).toBe('hello\nworld')
  })

  it('caps the captured output of both streams and keeps the start', async () => {
    const r = await run(
      [
        'sh',
        '-c',
        'head -c 100000 /dev/zero | tr "\\0" a; head -c 100000 /dev/zero | tr "\\0" b >&2'
      ],
      { timeoutMs: 10_000, maxOutputBytes: 1000 }
    )
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe('a'.repeat(1000))
    expect(r.stderr).toBe('b'.repeat(1000))
  })

  it('scrubs secrets from stdout, stderr and every line it hands out', async () => {
    const secret = 'hunter2-very-secret-value'
    secrets.add(secret)
    const outLines: string[] = []
    const errLines: string[] = []
    const r = await run(['sh', '-c', `echo "token ${secret}"; echo "key ${secret}" >&2`], {
      timeoutMs: 10_000,
      onStdoutLine: l => outLines.push(l),
      onStderrLine: l => errLines.push(l)
    })
    expect(r.stdout).toBe('token ***\n')
    expect(r.stderr).toBe('key ***\n')
    expect(outLines).toEqual(['token ***'])
    expect(errLines).toEqual(['key ***'])
  })

  it('fails with an ActionError naming the command when it exits non-zero', async () => {
    const p = run(['sh', '-c', 'echo "error: it broke" >&2; exit 3'], {
      timeoutMs: 10_000,
      what: 'breaking things',
      host: 'web1'
    })
    await expect(p).rejects.toThrow(ActionError)
    await expect(p).rejects.toThrow('web1: breaking things exited with code 3: it broke.')
  })

  it('reports a program that is not on PATH as a clear error naming it, not an exit code', async () => {
    const p = run(['nix-deploy-no-such-program', '--version'], { timeoutMs: 10_000, host: 'web1' })
    await expect(p).rejects.toThrow(ActionError)
    await expect(p).rejects.toThrow(
      "web1: running 'nix-deploy-no-such-program' failed: the program 'nix-deploy-no-such-program' was not found on PATH."
    )
    // check: false does not turn it into an exit code either.
    await expect(
      run(['nix-deploy-no-such-program'], { timeoutMs: 10_000, check: false })
    ).rejects.toThrow(/was not found on PATH/)
  })

  it('reports a program that is not executable as a clear error naming it', async () => {
    const file = join(tempDir(), 'not-executable')
    writeFileSync(file, '#!/bin/sh\necho hi\n')
    chmodSync(file, 0o644)
    await expect(run([file], { timeoutMs: 10_000, what: 'probing' })).rejects.toThrow(
      `probing failed: the program '${file}' is not executable (permission denied).`
    )
  })

  it('ends a command that outlives its timeout, with SIGKILL when it ignores SIGTERM', async () => {
    const dir = tempDir()
    const pidFile = join(dir, 'pid')
    // The shell ignores SIGTERM, and so does its child.
    const p = run(['sh', '-c', `trap "" TERM; echo $$ > ${pidFile}; sleep 30 & wait; sleep 30`], {
      timeoutMs: 300,
      killGraceMs: 300,
      check: false
    })
    const r = await p
    expect(r.timedOut).toBe(true)
    expect(r.signal).toBe('SIGKILL')
    expect(alive(Number(readFileSync(pidFile, 'utf8').trim()))).toBe(false)
  })

  it('a timeout fails the call with check on', async () => {
    await expect(run(['sleep', '30'], { timeoutMs: 200 })).rejects.toThrow(
      /'sleep' timed out after \d+ s\.$/
    )
  })
})

describe('startProcess', () => {
  it('hands out scrubbed lines while it runs and ends on kill, with SIGKILL if needed', async () => {
    const secret = 'another-secret-value-42'
    secrets.add(secret)
    const p = startProcess(
      ['sh', '-c', `trap "" TERM; echo "ready ${secret}"; while :; do sleep 1; done`],
      { timeoutMs: 30_000, killGraceMs: 300 }
    )
    expect(await p.waitForLine(l => l.startsWith('ready'), 10_000)).toBe('ready ***')
    p.kill()
    const r = await p.done
    expect(r.signal).toBe('SIGKILL')
    expect(r.stdout).toBe('ready ***\n')
  })

  it('caps what it keeps', async () => {
    const p = startProcess(['sh', '-c', 'head -c 50000 /dev/zero | tr "\\0" x; echo; echo end'], {
      timeoutMs: 10_000,
      maxOutputBytes: 100
    })
    p.closeInput()
    const r = await p.done
    expect(r.stdout).toBe('x'.repeat(100))
    // Lines are still seen whole.
    expect(p.lines.at(-1)).toBe('end')
  })

  it('rejects `done` with a clear error when the program cannot start', async () => {
    const p = startProcess(['nix-deploy-no-such-program'], {
      timeoutMs: 10_000,
      what: 'taking the lock',
      host: 'web1'
    })
    expect(await p.waitForLine(() => true, 5000)).toBeNull()
    await expect(p.done).rejects.toThrow(
      "web1: taking the lock failed: the program 'nix-deploy-no-such-program' was not found on PATH."
    )
  })
})
