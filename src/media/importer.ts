// Taking a file that is already on this machine (the import folder, `npm run cli -- import`):
// checked like an upload (the container sniff), then brought into storage without ever being
// lost: hard-linked into incoming/ when on the same filesystem (the rename of an upload, made
// crash-safe), else copied and fsynced there; the original goes only once the video's record
// exists. A crash in between leaves the original in place and at most a spare link in incoming/,
// which the start-up check removes.
import { constants } from 'node:fs'
import { copyFile, link, open, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { detectContainer, SNIFF_BYTES } from './sniff.ts'
import { incomingPartPath, type StoragePaths } from './storage.ts'
import type { ReceivedFile } from './uploadEngine.ts'

/** A file that is not taken, and why (logged; the file stays where it is). */
export class ImportRefused extends Error {}

export interface BroughtIn {
  received: ReceivedFile
  /** Removes the original: call once the video's record exists. */
  removeOriginal(): Promise<void>
  /** Removes the copy in incoming/ (the import failed after all). */
  discard(): Promise<void>
}

/** The title an imported file gets unless one is given: its name without extension, spaced. */
export function titleFromFileName(file: string): string {
  const base = path.basename(file).replace(/\.[^.]*$/, '')
  const spaced = base.replace(/[_.]+/g, ' ').replace(/\s+/g, ' ').trim()
  return (spaced || base || 'Imported video').slice(0, 200)
}

/** The container of a regular, non-empty file, read from its first bytes; refuses anything else. */
async function sniffFile(file: string): Promise<{ size: number; container: ReceivedFile['container'] }> {
  // O_NOFOLLOW: a symbolic link is not taken (its target may be anything on the machine).
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    throw new ImportRefused(err.code === 'ELOOP' ? 'it is a symbolic link' : `it cannot be read (${err.code})`)
  })
  try {
    const s = await handle.stat()
    if (!s.isFile()) throw new ImportRefused('it is not a regular file')
    if (s.size === 0) throw new ImportRefused('it is empty')
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, s.size))
    await handle.read(head, 0, head.length, 0)
    const container = detectContainer(head)
    if (!container) throw new ImportRefused('it is not a known audio or video container (MP4, Matroska, WebM, ...)')
    return { size: s.size, container }
  } finally {
    await handle.close()
  }
}

/**
 * Checks `file` and puts it into incoming/. `onCopied` sees the bytes copied so far while a copy
 * to another filesystem runs (a hard link is instant).
 */
export async function bringIn(
  file: string,
  paths: StoragePaths,
  onCopied?: (bytes: number, size: number) => void,
): Promise<BroughtIn> {
  const { size, container } = await sniffFile(file)
  const target = incomingPartPath(paths)
  try {
    await link(file, target)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // Another filesystem, or a file the link is not allowed for (fs.protected_hardlinks): copy.
    if (code !== 'EXDEV' && code !== 'EPERM') throw err
    await copyInto(file, target, size, onCopied)
  }
  const copied = (await stat(target)).size
  if (copied !== size) {
    await unlink(target).catch(() => {})
    throw new ImportRefused(`it changed while being taken (${copied} bytes, was ${size})`)
  }
  return {
    received: { path: target, size, container },
    removeOriginal: () => unlink(file),
    discard: () => unlink(target).catch(() => {}),
  }
}

async function copyInto(
  file: string,
  target: string,
  size: number,
  onCopied?: (bytes: number, size: number) => void,
): Promise<void> {
  // copy_file_range in the kernel: no bytes through this process. Its progress is the target's size.
  const timer = onCopied
    ? setInterval(
        () =>
          void stat(target).then(
            (s) => onCopied(s.size, size),
            () => {},
          ),
        200,
      )
    : null
  try {
    await copyFile(file, target, constants.COPYFILE_EXCL)
    const handle = await open(target, 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (err) {
    await unlink(target).catch(() => {})
    throw err
  } finally {
    if (timer) clearInterval(timer)
  }
  onCopied?.(size, size)
}
