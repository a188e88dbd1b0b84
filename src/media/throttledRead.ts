// The web seed's cap, applied where its bytes come from: the file stream that res.sendFile makes
// (the `send` package hands its options on to fs.createReadStream, `fs` among them) reads
// through these functions, each read waiting for its turn and its tokens in the shared throttle.
// Range, ETag and everything else stay sendFile's. One read per stream at a time, so the
// throttle's queue serves the connections in turn.
import fs from 'node:fs'
import type { FairThrottle, ThrottleWaiter } from '../fairThrottle.ts'

type ReadCallback = (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: Buffer) => void

interface ThrottledFs {
  /** For fs.createReadStream's `fs` option. */
  fs: {
    open: typeof fs.open
    close: typeof fs.close
    read(fd: number, buffer: Buffer, offset: number, length: number, position: number | null, cb: ReadCallback): void
  }
  /** The response is over: leave the queue, and end a read still waiting (its stream waits for it to close the file). */
  done(): void
}

export function throttledFs(throttle: FairThrottle): ThrottledFs {
  let pending: { go: () => void; cb: ReadCallback; buffer: Buffer } | null = null
  let over = false
  const waiter: ThrottleWaiter = {
    tokensGranted() {
      const p = pending
      pending = null
      p?.go()
    },
  }
  return {
    fs: {
      open: fs.open,
      close: fs.close,
      read(fd, buffer, offset, length, position, cb) {
        const go = () => fs.read(fd, buffer, offset, length, position, cb)
        if (over || throttle.take(waiter, length)) return go()
        pending = { go, cb, buffer }
      },
    },
    done() {
      over = true
      throttle.forget(waiter)
      const p = pending
      pending = null
      // End of file for a stream nobody reads any more: it then closes its file.
      p?.cb(null, 0, p.buffer)
    },
  }
}
