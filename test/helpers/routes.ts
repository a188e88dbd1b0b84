// The routes an Express app answers, read from its router stack: the role matrix checks that it
// has an entry for each, so a route added without one fails the test.
import type { Express } from 'express'

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> }
  handle?: { stack?: Layer[] }
}

/** "METHOD /path" for every route, sub-routers included (all are mounted at the root). */
export function listRoutes(app: Express): string[] {
  const out = new Set<string>()
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]
        for (const method of Object.keys(layer.route.methods))
          for (const p of paths) out.add(`${method.toUpperCase()} ${p}`)
      } else if (layer.handle?.stack) walk(layer.handle.stack)
    }
  }
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack)
  return [...out].sort()
}
