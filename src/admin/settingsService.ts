// Site settings kept in the database. Validation lives here so the API and the admin page agree.
import { EventEmitter } from 'node:events'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import type { Db } from '../db/client.ts'
import { readSettingValues, writeSettingValues } from './settingsRepository.ts'

export interface Settings {
  bittorrentEnabled: boolean
  trackerUrls: string[]
}

const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:'])

const trackerUrl = z.string().trim().min(1).max(2000).refine((value) => {
  try {
    const url = new URL(value)
    return TRACKER_PROTOCOLS.has(url.protocol) && url.hostname !== '' && !/\s/.test(value)
  } catch {
    return false
  }
}, { message: 'must be an http(s), udp or ws(s) URL' })

const settingsInput = z.object({
  bittorrentEnabled: z.boolean(),
  trackerUrls: z.array(trackerUrl).min(1, 'at least one tracker URL is needed').max(50),
}).strict()

export function defaultSettings(publicUrl: string): Settings {
  return { bittorrentEnabled: true, trackerUrls: [`${publicUrl}/announce`] }
}

export class SettingsService extends EventEmitter<{ changed: [Settings, Settings] }> {
  private current: Settings
  private readonly db: Db

  private constructor(db: Db, current: Settings) {
    super()
    this.db = db
    this.current = current
  }

  static async load(db: Db, publicUrl: string): Promise<SettingsService> {
    const values = await readSettingValues(db)
    const settings = defaultSettings(publicUrl)
    if (values.has('bittorrentEnabled')) settings.bittorrentEnabled = values.get('bittorrentEnabled') === 'true'
    if (values.has('trackerUrls')) settings.trackerUrls = JSON.parse(values.get('trackerUrls')!) as string[]
    return new SettingsService(db, settings)
  }

  get(): Settings {
    return { ...this.current, trackerUrls: [...this.current.trackerUrls] }
  }

  /** Validates the whole input first: a bad value changes nothing. */
  async update(input: unknown): Promise<Settings> {
    const parsed = settingsInput.safeParse(input)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      const where = issue.path.length ? issue.path.join('.') : 'settings'
      throw new AppError(400, 'invalid_settings', `${where}: ${issue.message}`)
    }
    const next: Settings = {
      bittorrentEnabled: parsed.data.bittorrentEnabled,
      trackerUrls: [...new Set(parsed.data.trackerUrls)],
    }
    await writeSettingValues(this.db, {
      bittorrentEnabled: String(next.bittorrentEnabled),
      trackerUrls: JSON.stringify(next.trackerUrls),
    })
    const previous = this.current
    this.current = next
    this.emit('changed', next, previous)
    return this.get()
  }
}
