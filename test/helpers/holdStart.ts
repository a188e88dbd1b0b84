// Preloaded (`node --import`) into a site started by a test, to hold its start inside the window
// between listen and the admin being made: the first scrypt (hashing the admin's password, the
// last step of the start) waits until the test writes a line to the child's stdin. It reports on
// stderr when the hold begins (`[hold] start held`) and when the web server receives a request
// (`[hold] request`), so the test knows its request arrived inside the window.
import crypto from 'node:crypto'
import dc from 'node:diagnostics_channel'
import { syncBuiltinESMExports } from 'node:module'

const scrypt = crypto.scrypt
let held = false
const release = new Promise<void>((resolve) =>
  process.stdin.once('data', () => {
    process.stdin.destroy()
    resolve()
  }),
)
crypto.scrypt = ((...args: Parameters<typeof scrypt>) => {
  if (held) return scrypt(...args)
  held = true
  process.stderr.write('[hold] start held\n')
  void release.then(() => scrypt(...args))
}) as typeof scrypt
syncBuiltinESMExports()
dc.subscribe('http.server.request.start', () => process.stderr.write('[hold] request\n'))
