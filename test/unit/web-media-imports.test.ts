import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

// Every relative import of every module under src/ (type-only imports included: a cycle of
// types is still two folders that cannot be understood apart).
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name)
    if (!entry.isFile() || !file.endsWith('.ts') || file.includes(`${path.sep}generated${path.sep}`)) continue
    const text = readFileSync(file, 'utf8')
    const targets = [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)].map((m) =>
      path.resolve(path.dirname(file), m[1]!),
    )
    graph.set(file, targets)
  }
  return graph
}

const folderOf = (file: string) => path.relative(SRC, file).split(path.sep)[0]!

/** Modules each module reaches through its imports, itself excluded unless it is on a cycle. */
function reaches(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>()
  const stack = [...(graph.get(from) ?? [])]
  while (stack.length) {
    const next = stack.pop()!
    if (seen.has(next)) continue
    seen.add(next)
    stack.push(...(graph.get(next) ?? []))
  }
  return seen
}

test('no module of src/media reaches src/web through its imports', () => {
  const graph = importGraph()
  assert.ok(graph.size > 50, 'the scan found the sources')
  for (const file of graph.keys()) {
    if (folderOf(file) !== 'media') continue
    const intoWeb = [...reaches(graph, file)].filter((f) => folderOf(f) === 'web').map((f) => path.relative(SRC, f))
    assert.deepEqual(intoWeb, [], `${path.relative(SRC, file)} imports web/`)
  }
})
