// Where the package's files are, whether this runs from src/ (node src/main.ts: development and
// the tests) or compiled into dist/src/ (npm run build: what npm start and the systemd units run).
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const compiled = import.meta.url.endsWith('.js')

/** The package root: package.json, views/, prisma/, vendor/. */
const PROJECT_ROOT = fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url))

/** A path under the package root. */
export const fromRoot = (...parts: string[]): string => path.join(PROJECT_ROOT, ...parts)

/** The file extension of this build's modules: a worker or child process entry has its parent's. */
export const MODULE_EXT = compiled ? '.js' : '.ts'
