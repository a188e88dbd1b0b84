// Open file descriptors of the media files, opened on first use and kept in an LRU so a busy
// torrent does not reopen its file per read and a thousand idle ones hold no descriptors.
// A descriptor in use (a read in flight) is never closed; it is closed once released if it was
// evicted or dropped meanwhile. open/close are injected (tests use fakes).
export interface FdOps {
  open(path: string): Promise<number>
  close(fd: number): void
}

interface Entry {
  fd: Promise<number>
  refs: number
  closed: boolean
}

export class FdCache {
  private readonly entries = new Map<string, Entry>()
  /** Evicted or dropped while in use: closed by their last release. */
  private readonly detached = new Map<Promise<number>, Entry>()
  private readonly max: number
  private readonly ops: FdOps

  constructor(max: number, ops: FdOps) {
    this.max = max
    this.ops = ops
  }

  get size(): number {
    return this.entries.size
  }

  /** An open descriptor of `path`; pair every acquire with a release. */
  acquire(path: string): Promise<number> {
    let e = this.entries.get(path)
    if (e) {
      this.entries.delete(path)
      this.entries.set(path, e) // most recently used last
    } else {
      const fd = this.ops.open(path)
      e = { fd, refs: 0, closed: false }
      this.entries.set(path, e)
      const entry = e
      fd.catch(() => {
        if (this.entries.get(path) === entry) this.entries.delete(path)
      })
      this.evict()
    }
    e.refs++
    return e.fd
  }

  release(path: string, fdPromise: Promise<number>): void {
    const e = this.entries.get(path)
    const entry = e && e.fd === fdPromise ? e : null
    if (entry) {
      entry.refs--
      this.evict()
      return
    }
    // Evicted or dropped while in use: the detached entry is closed by its last user.
    const detached = this.detached.get(fdPromise)
    if (!detached) return
    if (--detached.refs === 0) {
      this.detached.delete(fdPromise)
      this.closeEntry(detached)
    }
  }

  /** Closes `path`'s descriptor (now, or when its last read finishes). */
  drop(path: string): void {
    const e = this.entries.get(path)
    if (!e) return
    this.entries.delete(path)
    this.detach(e)
  }

  closeAll(): void {
    for (const path of [...this.entries.keys()]) this.drop(path)
  }

  private detach(e: Entry): void {
    if (e.refs === 0) this.closeEntry(e)
    else this.detached.set(e.fd, e)
  }

  private closeEntry(e: Entry): void {
    if (e.closed) return
    e.closed = true
    e.fd.then(
      (fd) => this.ops.close(fd),
      () => {},
    )
  }

  private evict(): void {
    if (this.entries.size <= this.max) return
    for (const [path, e] of this.entries) {
      if (this.entries.size <= this.max) break
      if (e.refs > 0) continue
      this.entries.delete(path)
      this.closeEntry(e)
    }
  }
}
