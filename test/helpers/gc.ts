// A full collection for the tests that measure memory. npm test's Node has --expose-gc
// (scripts/test.sh), as the site's own processes do (src/runtimeFlags.ts); a file run alone
// needs `node --expose-gc --test <file>`.
export function collectGarbage(): void {
  if (typeof globalThis.gc !== 'function')
    throw new Error('gc() is not exposed: run with node --expose-gc (npm test does)')
  globalThis.gc()
  globalThis.gc()
}
