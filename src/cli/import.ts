// `import PATH…`: publishes files from the shell as the import folder does (src/media/importer.ts),
// on the server's storage and database, even while it runs: each file is hashed here (one worker
// per core, a progress bar per file) before its record is written, so the site never shows it
// half made, and the running site hears of it through the database (seederLink's generation:
// its tracker and its seeder take the new torrent within a second).
import path from 'node:path'
import type { AccountService } from '../accounts/accountService.ts'
import { SettingsService } from '../admin/settingsService.ts'
import { hashFileForTorrent } from '../bittorrent/hashInWorker.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'
import type { Config } from '../config.ts'
import type { Db } from '../db/client.ts'
import { bringIn, ImportRefused, titleFromFileName } from '../media/importer.ts'
import { descriptionText, titleText } from '../media/videoValidators.ts'
import { ensureStorage, storagePaths } from '../media/storage.ts'
import { VideoService } from '../media/videoService.ts'
import { bumpGeneration } from '../seeder/seederLink.ts'
import { siteUrls } from '../siteUrls.ts'
import { CliError } from './users.ts'

export interface ImportCommand {
  files: string[]
  title?: string
  description?: string
  owner?: string
}

/** Checks the words after `import` and its options before anything is opened. */
export function parseImportCommand(words: string[], opts: Omit<ImportCommand, 'files'>): ImportCommand {
  if (words.length === 0) throw new CliError('"import" needs at least one PATH (see --help)')
  if ((opts.title !== undefined || opts.description !== undefined) && words.length > 1)
    throw new CliError('--title and --description are for one file; import the others on their own')
  const check = (rule: typeof titleText, value: string | undefined) => {
    if (value === undefined) return undefined
    const checked = rule.safeParse(value)
    if (!checked.success) throw new CliError(checked.error.issues[0]!.message)
    return checked.data
  }
  return {
    files: words.map((w) => path.resolve(w)),
    title: check(titleText, opts.title),
    description: check(descriptionText, opts.description),
    owner: opts.owner,
  }
}

/** One line per file that is being imported: a bar redrawn in place on a terminal, else a line per quarter. */
class ProgressLine {
  private lastQuarter = -1
  private readonly tty = process.stderr.isTTY === true
  private readonly name: string
  constructor(name: string) {
    this.name = name
  }

  show(phase: string, done: number, total: number): void {
    const fraction = total > 0 ? done / total : 1
    if (this.tty) {
      const width = 30
      const filled = Math.round(fraction * width)
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`
      process.stderr.write(`\r${this.name} ${phase} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)} %`)
      return
    }
    const quarter = Math.floor(fraction * 4)
    if (quarter === this.lastQuarter) return
    this.lastQuarter = quarter
    process.stderr.write(`${this.name}: ${phase} ${(fraction * 100).toFixed(0)} % (${done} of ${total})\n`)
  }

  end(): void {
    if (this.tty) process.stderr.write('\n')
  }
}

export async function runImportCommand(
  config: Config,
  db: Db,
  accounts: AccountService,
  cmd: ImportCommand,
  print: (line: string) => void,
): Promise<void> {
  const paths = storagePaths(config.storageDir)
  await ensureStorage(paths)
  // The site's own settings and URL, never changed from here (a CLI started with another
  // PUBLIC_URL must not move the site's trackers).
  const { settings, publicUrl } = await SettingsService.read(db, config.publicUrl)
  const owner = await accounts.importOwner(cmd.owner ?? config.import.owner)
  const videos = new VideoService({
    db,
    paths,
    urls: siteUrls(publicUrl),
    settings,
    // This process tracks nothing: the site follows the generation bumped below.
    tracker: { allow: () => {}, disallow: () => {}, reconcile: async () => {} },
    releaseLimits: config.release,
    createdBy: `Seedcast ${config.version}`,
    onTorrentsChanged: () => void bumpGeneration(db).catch(() => {}),
  })
  let failed = 0
  for (const file of cmd.files) {
    const bar = new ProgressLine(path.basename(file))
    try {
      const brought = await bringIn(file, paths, (bytes, size) => bar.show('copying', bytes, size))
      try {
        const { received } = brought
        if (settings.get().bittorrentEnabled) {
          const { hashes } = await hashFileForTorrent(
            received.path,
            choosePieceLength(received.size),
            videos.torrentFormat(),
            { onProgress: (p) => bar.show('hashing', p.done, p.total) },
          )
          received.streamedHashes = hashes
        }
        bar.end()
        const video = await videos.create({
          title: cmd.title ?? titleFromFileName(file),
          description: cmd.description ?? '',
          originalName: path.basename(file),
          received,
          uploaderId: owner.id,
        })
        // The generation again, after the record is complete: the site re-reads it now.
        await bumpGeneration(db)
        await brought.removeOriginal().catch((err: Error) => {
          print(`${file}: published, but the original could not be removed: ${err.message}`)
        })
        print(`${file}: published as ${videos.urls.page(video.id)} (owner ${owner.name})`)
      } catch (err) {
        await brought.discard()
        throw err
      }
    } catch (err) {
      bar.end()
      failed++
      const reason = err instanceof ImportRefused ? err.message : (err as Error).message
      process.stderr.write(`seedcast: ${file}: not imported, left where it is: ${reason}\n`)
    }
  }
  if (failed > 0) throw new CliError(`${failed} of ${cmd.files.length} file(s) not imported`)
}
