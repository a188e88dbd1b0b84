// The piece space of a torrent mapped onto files on disk: a read of piece-space bytes becomes
// reads of the files it covers, and what no file covers (BEP 47 pad files, the implicit gaps
// between files of a v2-only torrent) is zeros, written here and never read from disk. A
// single-file torrent is one file from offset 0: its reads pass through unchanged.

export interface DiskFile {
  /** Where it starts in the piece space. */
  offset: number
  length: number
  /** On disk. */
  path: string
}

/** One read of one file: `targets` are filled in order from `position` of `path`. */
interface FileRead {
  path: string
  position: number
  targets: Buffer[]
}

export interface ReadPlan {
  reads: FileRead[]
  /** Bytes zero-filled (already written into the targets). */
  zeros: number
}

/** `files` sorted by offset, not overlapping, none empty. */
export class FileMap {
  readonly files: readonly DiskFile[]
  private readonly whole: boolean

  constructor(files: DiskFile[], size: number) {
    this.files = files
    this.whole = files.length === 1 && files[0]!.offset === 0 && files[0]!.length === size
  }

  /** The file holding piece-space byte `pos`, or the index of the next file after it (as -1 - i). */
  private find(pos: number): number {
    let lo = 0
    let hi = this.files.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const f = this.files[mid]!
      if (pos < f.offset) hi = mid - 1
      else if (pos >= f.offset + f.length) lo = mid + 1
      else return mid
    }
    return -1 - lo
  }

  /** Splits a read of piece-space bytes from `position` into `targets` (in order). */
  plan(position: number, targets: Buffer[]): ReadPlan {
    if (this.whole) return { reads: [{ path: this.files[0]!.path, position, targets }], zeros: 0 }
    const reads: FileRead[] = []
    let zeros = 0
    let pos = position
    let last: FileRead | null = null
    let lastEnd = -1 // file position the last read has reached
    for (const target of targets) {
      let at = 0
      while (at < target.length) {
        const i = this.find(pos)
        if (i < 0) {
          const next = this.files[-1 - i]
          const n = Math.min(target.length - at, next ? next.offset - pos : Infinity)
          target.fill(0, at, at + n)
          zeros += n
          at += n
          pos += n
          continue
        }
        const f = this.files[i]!
        const n = Math.min(target.length - at, f.offset + f.length - pos)
        const filePos = pos - f.offset
        const view = at === 0 && n === target.length ? target : target.subarray(at, at + n)
        if (last && last.path === f.path && lastEnd === filePos) last.targets.push(view)
        else {
          last = { path: f.path, position: filePos, targets: [view] }
          reads.push(last)
        }
        lastEnd = filePos + n
        at += n
        pos += n
      }
    }
    return { reads, zeros }
  }
}
