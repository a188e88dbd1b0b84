// A node:test reporter beside spec (scripts/test.sh): at the end of a run, the files that took
// longest, by the sum of their top-level tests' durations (hooks not included), so the files to
// look at when CI grows past its 15 minutes are named in every log.
const SHOWN = 12

export default async function* fileTimes(source) {
  const byFile = new Map()
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { file, nesting, details } = event.data
    if (nesting !== 0 || !file || details?.type === 'suite' || typeof details?.duration_ms !== 'number') continue
    byFile.set(file, (byFile.get(file) ?? 0) + details.duration_ms)
  }
  if (!byFile.size) return
  const cwd = `${process.cwd()}/`
  const rows = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
  yield `\nslowest files (sum of top-level tests):\n`
  for (const [file, ms] of rows) yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${file.replace(cwd, '')}\n`
}
