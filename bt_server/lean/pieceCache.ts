// The read cache: LRU of read windows (see geometry.ts) shared by every peer and torrent, with a
// pool of window buffers so a steady download allocates nothing. A window buffer goes back to the
// pool only when nothing refers to it any more: the cache (until evicted), a read in flight, and
// every socket write of one of its slices (released from the write callback, i.e. once the kernel
// has the bytes). The file access itself is injected: this module does no I/O.
import { layoutWindow, WINDOW_BUFFER_BYTES, WINDOW_BYTES, type Geometry } from './geometry.ts'

export interface CacheTorrent extends Geometry {
  id: number
}

/** Reads file bytes from `position` into `targets` in order; resolves with the bytes read. */
export type WindowReader<T> = (torrent: T, position: number, targets: Buffer[]) => Promise<number>

export class CachedWindow {
  readonly key: number
  readonly buf: Buffer
  state: 'loading' | 'ready' | 'failed' = 'loading'
  error: Error | null = null
  /** Called once the read is over (ready or failed). */
  waiters: (() => void)[] = []
  refs = 1 // the cache's own
  /** Never pooled again (e.g. handed to a uTP socket, which may keep it for retransmission). */
  poolable = true
  lastUsed: number
  /** Served from at least once (the first serve triggers the read-ahead). */
  served = false

  constructor(key: number, buf: Buffer, now: number) {
    this.key = key
    this.buf = buf
    this.lastUsed = now
  }
}

// Window keys: torrent id in the high part, window number (< 2^24: files < 4 TiB) in the low.
const key = (id: number, w: number): number => id * 0x1000000 + w

export class PieceCache<T extends CacheTorrent> {
  private readonly windows = new Map<number, CachedWindow>()
  private readonly pool: Buffer[] = []
  private readonly maxWindows: number
  private readonly maxPooled: number
  private readonly read: WindowReader<T>
  private readonly now: () => number
  /** Buffers allocated so far (for tests and stats). */
  allocated = 0

  constructor(opts: { maxWindows: number; maxPooled: number; read: WindowReader<T>; now?: () => number }) {
    this.maxWindows = opts.maxWindows
    this.maxPooled = opts.maxPooled
    this.read = opts.read
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.windows.size
  }
  get pooled(): number {
    return this.pool.length
  }

  /** The window if cached (loading or ready); marks it recently used. */
  get(id: number, w: number): CachedWindow | undefined {
    const k = key(id, w)
    const win = this.windows.get(k)
    if (win) {
      win.lastUsed = this.now()
      // Re-insert: Map order is the LRU order.
      this.windows.delete(k)
      this.windows.set(k, win)
    }
    return win
  }

  has(id: number, w: number): boolean {
    return this.windows.has(key(id, w))
  }

  /** Starts reading window `w` of `t` (call only when not cached). */
  load(t: T, w: number): CachedWindow {
    const buf = this.pool.pop() ?? this.alloc()
    const win = new CachedWindow(key(t.id, w), buf, this.now())
    this.windows.set(win.key, win)
    this.evictOverflow()
    const targets = layoutWindow(t, w, buf)
    let expected = 0
    for (const x of targets) expected += x.length
    win.refs++ // the read in flight
    const finish = (err: Error | null) => {
      if (err) {
        win.state = 'failed'
        win.error = err
        if (this.windows.get(win.key) === win) {
          this.windows.delete(win.key)
          this.release(win)
        }
      } else {
        win.state = 'ready'
      }
      this.release(win)
      const waiters = win.waiters
      win.waiters = []
      for (const wake of waiters) wake()
    }
    this.read(t, w * WINDOW_BYTES, targets).then(
      (n) =>
        finish(
          n === expected
            ? null
            : new Error(`short read: ${n} of ${expected} bytes at ${w * WINDOW_BYTES} (file changed?)`),
        ),
      (err: Error) => finish(err),
    )
    return win
  }

  /** Another holder (a socket write) of the window's buffer. */
  retain(win: CachedWindow): void {
    win.refs++
  }

  release(win: CachedWindow): void {
    if (--win.refs > 0) return
    if (win.poolable && this.pool.length < this.maxPooled) this.pool.push(win.buf)
  }

  /** Forgets every window of torrent `id` (removed torrent). */
  dropTorrent(id: number): void {
    for (const [k, win] of this.windows) {
      if (Math.floor(k / 0x1000000) === id) {
        this.windows.delete(k)
        this.release(win)
      }
    }
  }

  /** Evicts ready windows unused for `idleMs`, and empties the pool once the cache is idle. */
  expire(idleMs: number): void {
    const cutoff = this.now() - idleMs
    for (const [k, win] of this.windows) {
      if (win.lastUsed > cutoff) break // LRU order: the rest are newer
      if (win.state === 'loading') continue
      this.windows.delete(k)
      this.release(win)
    }
    if (this.windows.size === 0) this.pool.length = 0
  }

  private alloc(): Buffer {
    this.allocated++
    return Buffer.allocUnsafeSlow(WINDOW_BUFFER_BYTES)
  }

  private evictOverflow(): void {
    if (this.windows.size <= this.maxWindows) return
    for (const [k, win] of this.windows) {
      if (this.windows.size <= this.maxWindows) break
      if (win.state === 'loading') continue // a read is filling it: keep
      this.windows.delete(k)
      this.release(win)
    }
  }
}
