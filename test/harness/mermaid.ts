/**
 * Mermaid texts parsed by the real Mermaid (test/harness/mermaid-parse.mjs, its own Node process
 * with a jsdom window), and the ```mermaid blocks of a Markdown text.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface GanttTask {
  name: string
  section: string
  id: string
  start: number
  end: number
  crit: boolean
  active: boolean
  milestone: boolean
}

export type Parsed =
  | { ok: true; type: string; title?: string; sections?: string[]; tasks?: GanttTask[] }
  | { ok: false; error: string }

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mermaid-parse.mjs')

/** Parses each text; one answer per text, in order. */
export function parseMermaid(texts: string[]): Parsed[] {
  const r = spawnSync(process.execPath, [script], {
    input: JSON.stringify(texts),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: 120_000
  })
  if (r.status !== 0) throw new Error(`mermaid-parse.mjs failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout) as Parsed[]
}

/** The contents of every ```mermaid fenced block in a Markdown text. */
export function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm)].map(m => m[1])
}
