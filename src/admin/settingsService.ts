// Site settings kept in the database. Validation lives here so the API and the admin page agree;
// every change is written together with its audit entries, and announced with `changed` so the
// tracker, the seeder and the torrent rewrite follow at once.
import { EventEmitter } from 'node:events'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import type { Db } from '../db/client.ts'
import { listAudit, readSettingValues, writeSettingValues, type AuditEntry } from './settingsRepository.ts'
import { rebaseSiteUrl } from './siteUrlRebase.ts'
import { TORRENT_FORMATS, type TorrentFormat } from '../bittorrent/torrentHasher.ts'

export interface Settings {
  /** Off: no torrents made, shown, tracked or seeded (nothing is deleted). */
  bittorrentEnabled: boolean
  /** announce / announce-list of every torrent, in order. */
  trackerUrls: string[]
  /** url-list (BEP 19): the file's own URL on this site, in every torrent. */
  webSeedEnabled: boolean
  /** BEP 27 private flag for torrents made from now on (it is inside the info dict). */
  privateTorrents: boolean
  /** The seeder's total upload rate, all peers of all torrents, in bytes per second; 0 = no cap. */
  seederUploadCap: number
  /** The web seed's (/seed/) total rate, all connections, in bytes per second; 0 = no cap. Page playback (/media/) is never capped. */
  webSeedUploadCap: number
  /**
   * Video pages play through WebTorrent (browsers share what they watch over WebRTC): 'on' for
   * every viewer unless they switch it off, 'opt-in' only for viewers who switch it on.
   */
  p2pPlayback: P2pPlayback
  /**
   * The format of torrents made from now on (existing ones keep theirs): 'v1' (SHA-1 pieces),
   * 'hybrid' (v1 and BitTorrent v2 in one info dict: both kinds of client, one swarm) or 'v2' only.
   */
  torrentFormat: TorrentFormat
}

const P2P_PLAYBACK_MODES = ['on', 'opt-in'] as const
type P2pPlayback = (typeof P2P_PLAYBACK_MODES)[number]

type SettingField = keyof Settings
const SETTING_FIELDS: readonly SettingField[] = [
  'bittorrentEnabled',
  'trackerUrls',
  'webSeedEnabled',
  'privateTorrents',
  'seederUploadCap',
  'webSeedUploadCap',
  'p2pPlayback',
  'torrentFormat',
]

/** Settings that are a number (bytes per second), as stored and in the audit. */
export const RATE_CAP_FIELDS = ['seederUploadCap', 'webSeedUploadCap'] as const

/** 100 GB/s: far above any link, low enough to stay an exact integer everywhere. */
const MAX_RATE_CAP = 100_000_000_000

/** Fields GET /api/settings adds that PUT ignores, so a GET body can be sent back as it is. */
const READ_ONLY_FIELDS = ['siteTrackerUrl', 'backfill', 'rewrite'] as const

const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:'])

const trackerUrl = z
  .string()
  .trim()
  .min(1, 'a tracker URL is empty')
  .max(2000)
  .refine(
    (value) => {
      try {
        const url = new URL(value)
        return TRACKER_PROTOCOLS.has(url.protocol) && url.hostname !== '' && !/[\s\0]/.test(value)
      } catch {
        return false
      }
    },
    { message: 'must be an http(s), udp or ws(s) URL' },
  )

const rateCapMessage = `must be a whole number of bytes per second from 0 (no cap) to ${MAX_RATE_CAP}`
const rateCap = z
  .number({ error: rateCapMessage })
  .int({ error: rateCapMessage })
  .min(0, { error: rateCapMessage })
  .max(MAX_RATE_CAP, { error: rateCapMessage })

const settingsInput = z
  .object({
    bittorrentEnabled: z.boolean(),
    trackerUrls: z.array(trackerUrl).min(1, 'at least one tracker URL is needed').max(50, 'at most 50 tracker URLs'),
    webSeedEnabled: z.boolean(),
    privateTorrents: z.boolean(),
    seederUploadCap: rateCap,
    webSeedUploadCap: rateCap,
    p2pPlayback: z.enum(P2P_PLAYBACK_MODES, { error: `must be one of: ${P2P_PLAYBACK_MODES.join(', ')}` }),
    torrentFormat: z.enum(TORRENT_FORMATS, { error: `must be one of: ${TORRENT_FORMATS.join(', ')}` }),
    ...Object.fromEntries(READ_ONLY_FIELDS.map((f) => [f, z.unknown()])),
  })
  .partial()
  .strict()

function defaultSettings(publicUrl: string): Settings {
  return {
    bittorrentEnabled: true,
    trackerUrls: [`${publicUrl}/announce`],
    webSeedEnabled: true,
    privateTorrents: false,
    // No cap: a lone downloader gets the origin's full speed, as before the caps existed.
    seederUploadCap: 0,
    webSeedUploadCap: 0,
    p2pPlayback: 'on',
    // Hybrid: v2 clients get per-file merkle hashes, v1 clients (aria2c, older ones) still work.
    torrentFormat: 'hybrid',
  }
}

/** A bad value names its field, so the settings page can show the message beside it. */
export class InvalidSettings extends AppError {
  readonly field: string
  /** The reason in words for the page, without the field's API name. */
  readonly reason: string
  constructor(field: string, reason: string, entry?: { index: number; value: unknown }) {
    const quoted = entry ? String(JSON.stringify(entry.value)).slice(0, 200) : ''
    super('invalid_settings', `${field}: ${reason}${entry ? ` (entry ${entry.index + 1}: ${quoted})` : ''}`)
    this.field = field
    this.reason = entry ? `${quoted} ${reason}` : reason
  }
}

const d0 = (input: object, field: string): unknown => (input as Record<string, unknown>)[field]

const encode = (s: Settings, field: SettingField): string =>
  field === 'trackerUrls' ? JSON.stringify(s.trackerUrls) : String(s[field])

export class SettingsService extends EventEmitter<{ changed: [Settings, Settings] }> {
  private current: Settings
  private readonly db: Db
  /** Awaited after each save (a web worker tells the owner, which tells the other workers). */
  afterSave: (() => Promise<void>) | null = null

  private constructor(db: Db, current: Settings) {
    super()
    this.db = db
    this.current = current
  }

  /**
   * Reads the stored settings. When PUBLIC_URL differs from the one the site last ran with, the
   * site's own tracker URLs in the list move to the new address (an audit entry says so); the
   * returned `publicUrlChangedFrom` tells the caller to rewrite every torrent.
   */
  static async load(
    db: Db,
    publicUrl: string,
  ): Promise<{ settings: SettingsService; publicUrlChangedFrom: string | null }> {
    const values = await readSettingValues(db)
    const s = SettingsService.parse(values, publicUrl)
    const service = new SettingsService(db, s)
    const previousUrl = values.get('publicUrl') ?? null
    if (previousUrl === null) await writeSettingValues(db, { publicUrl }, [])
    if (previousUrl === null || previousUrl === publicUrl) return { settings: service, publicUrlChangedFrom: null }
    const rebased = [...new Set(s.trackerUrls.map((u) => rebaseSiteUrl(u, previousUrl, publicUrl)))]
    const actor = 'system (PUBLIC_URL changed)'
    await service.save({ ...s, trackerUrls: rebased }, actor, [
      { actor, field: 'publicUrl', before: previousUrl, after: publicUrl },
    ])
    return { settings: service, publicUrlChangedFrom: previousUrl }
  }

  /**
   * The stored settings and the PUBLIC_URL the site last ran with, changing nothing: for another
   * process (the CLI's import) that must make torrents exactly as the running site would.
   */
  static async read(db: Db, fallbackUrl: string): Promise<{ settings: SettingsService; publicUrl: string }> {
    const values = await readSettingValues(db)
    const publicUrl = values.get('publicUrl') ?? fallbackUrl
    return { settings: new SettingsService(db, SettingsService.parse(values, publicUrl)), publicUrl }
  }

  private static parse(values: Map<string, string>, publicUrl: string): Settings {
    const s = defaultSettings(publicUrl)
    const bool = (key: string, fallback: boolean) => (values.has(key) ? values.get(key) === 'true' : fallback)
    s.bittorrentEnabled = bool('bittorrentEnabled', s.bittorrentEnabled)
    s.webSeedEnabled = bool('webSeedEnabled', s.webSeedEnabled)
    s.privateTorrents = bool('privateTorrents', s.privateTorrents)
    for (const f of RATE_CAP_FIELDS) if (values.has(f)) s[f] = Number(values.get(f))
    const p2p = values.get('p2pPlayback')
    if (p2p === 'on' || p2p === 'opt-in') s.p2pPlayback = p2p
    const format = TORRENT_FORMATS.find((f) => f === values.get('torrentFormat'))
    if (format) s.torrentFormat = format
    if (values.has('trackerUrls')) s.trackerUrls = JSON.parse(values.get('trackerUrls')!) as string[]
    return s
  }

  /** Every torrent file now carries this PUBLIC_URL (called when the start-up rewrite is done). */
  async confirmPublicUrl(publicUrl: string): Promise<void> {
    await writeSettingValues(this.db, { publicUrl }, [])
  }

  /** Changes, newest first. */
  audit(limit: number) {
    return listAudit(this.db, limit)
  }

  get(): Settings {
    return { ...this.current, trackerUrls: [...this.current.trackerUrls] }
  }

  /** Any subset of the fields; all checked first, so a bad value changes nothing. */
  async update(input: unknown, actor: string): Promise<Settings> {
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new InvalidSettings('settings', 'expected a JSON object')
    const parsed = settingsInput.safeParse(input)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      if (issue.code === 'unrecognized_keys')
        throw new InvalidSettings(issue.keys[0] ?? 'settings', `unknown setting (known: ${SETTING_FIELDS.join(', ')})`)
      const field = issue.path.length ? String(issue.path[0]) : 'settings'
      const index = issue.path[1]
      throw new InvalidSettings(
        field,
        issue.message,
        typeof index === 'number' ? { index, value: (d0(input, field) as unknown[])[index] } : undefined,
      )
    }
    const d = parsed.data
    const next: Settings = {
      bittorrentEnabled: d.bittorrentEnabled ?? this.current.bittorrentEnabled,
      trackerUrls: d.trackerUrls ? [...new Set(d.trackerUrls)] : this.current.trackerUrls,
      webSeedEnabled: d.webSeedEnabled ?? this.current.webSeedEnabled,
      privateTorrents: d.privateTorrents ?? this.current.privateTorrents,
      seederUploadCap: d.seederUploadCap ?? this.current.seederUploadCap,
      webSeedUploadCap: d.webSeedUploadCap ?? this.current.webSeedUploadCap,
      p2pPlayback: d.p2pPlayback ?? this.current.p2pPlayback,
      torrentFormat: d.torrentFormat ?? this.current.torrentFormat,
    }
    await this.save(next, actor)
    return this.get()
  }

  private async save(next: Settings, actor: string, extra: AuditEntry[] = []): Promise<void> {
    const previous = this.current
    const changed = SETTING_FIELDS.filter((f) => encode(previous, f) !== encode(next, f))
    if (changed.length === 0 && extra.length === 0) return
    const audit: AuditEntry[] = [
      ...extra,
      ...changed.map((field) => ({ actor, field, before: encode(previous, field), after: encode(next, field) })),
    ]
    await writeSettingValues(this.db, Object.fromEntries(changed.map((f) => [f, encode(next, f)])), audit)
    this.current = next
    this.emit('changed', this.get(), previous)
    await this.afterSave?.()
  }

  /** Re-reads the stored settings (another process saved them); 'changed' is emitted if they differ. */
  async reload(): Promise<void> {
    const values = await readSettingValues(this.db)
    // The PUBLIC_URL stored at start: the default tracker URL is the site's own.
    const next = SettingsService.parse(values, values.get('publicUrl') ?? '')
    const previous = this.current
    if (SETTING_FIELDS.every((f) => encode(previous, f) === encode(next, f))) return
    this.current = next
    this.emit('changed', this.get(), previous)
  }
}
