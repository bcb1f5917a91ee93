#!/usr/bin/env node
/**
 * Parses Mermaid texts with the real Mermaid (the npm `mermaid` package, in a jsdom window, since
 * it needs a DOM even to parse) and prints what it understood. Run as its own Node process by
 * test/harness/mermaid.ts, away from jest's module system.
 *
 * stdin: a JSON array of Mermaid texts. stdout: a JSON array, one entry per text:
 * `{ ok: true, type, title, sections, tasks }` (gantt: each task's name, section, start and end
 * in ms, and its crit / active / milestone tags), or `{ ok: false, error }`.
 */
import { JSDOM } from 'jsdom'

const dom = new JSDOM('<!doctype html><html><body></body></html>')
globalThis.window = dom.window
globalThis.document = dom.window.document

const { default: mermaid } = await import('mermaid')
mermaid.initialize({ startOnLoad: false })

let input = ''
for await (const chunk of process.stdin) input += chunk
const out = []
for (const text of JSON.parse(input)) {
  try {
    // The syntax check GitHub's renderer makes first; it throws on a parse error.
    const parsed = await mermaid.parse(text)
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text)
    const entry = { ok: true, type: parsed.diagramType }
    if (parsed.diagramType === 'gantt') {
      const db = diagram.db
      entry.title = db.getDiagramTitle()
      entry.sections = db.getSections()
      entry.tasks = db.getTasks().map(t => ({
        name: t.task.trim(),
        section: t.section,
        id: t.id,
        start: +t.startTime,
        end: +t.endTime,
        crit: !!t.crit,
        active: !!t.active,
        milestone: !!t.milestone
      }))
    }
    out.push(entry)
  } catch (err) {
    out.push({
      ok: false,
      error: String(err?.message ?? err)
        .split('\n')
        .slice(0, 3)
        .join(' ')
    })
  }
}
process.stdout.write(JSON.stringify(out))
