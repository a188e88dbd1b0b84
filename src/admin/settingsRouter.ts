// Site settings on the API (Basic or token) and on the admin page (session + CSRF): the same service,
// the same validation; the page splits the tracker list into "this site's tracker" and others.
import { Router, json, urlencoded } from 'express'
import type { Request, Response } from 'express'
import { apiUser, currentUser, requireApiUser, requireCsrf, requirePageLogin } from '../auth/middleware.ts'
import { z } from 'zod'
import { toAppError } from '../errors.ts'
import { checkbox, formString, validate, validated, wholeNumber } from '../validate.ts'
import type { JobProgress } from '../media/torrentRewriter.ts'
import { InvalidSettings, RATE_CAP_FIELDS, type Settings, type SettingsService } from './settingsService.ts'

export interface SettingsRouterDeps {
  settings: SettingsService
  /** This site's own HTTP tracker, PUBLIC_URL/announce. */
  siteTrackerUrl: string
  /** Background work the last changes started, done/total; null when there is none. */
  jobs: () => { backfill: JobProgress | null; rewrite: JobProgress | null }
}

const AUDIT_ON_PAGE = 50
const AUDIT_MAX = 500

const auditSchemas = { query: z.object({ limit: wholeNumber('limit', 1, AUDIT_MAX, 100) }) }
// The admin page's form: checkboxes are on when sent; the other trackers are one per line; the
// caps are bytes per second as typed (the service checks them, so the page shows its message).
const formSchemas = {
  body: z.object({
    bittorrentEnabled: checkbox,
    siteTracker: checkbox,
    otherTrackers: z.string({ error: 'otherTrackers must be one text field, one URL per line' }).default(''),
    webSeedEnabled: checkbox,
    privateTorrents: checkbox,
    seederUploadCap: formString(undefined),
    webSeedUploadCap: formString(undefined),
    p2pPlayback: formString(undefined),
    torrentFormat: formString(undefined),
  }),
}

export function settingsRouter(deps: SettingsRouterDeps): Router {
  const { settings } = deps
  const router = Router()
  const form = urlencoded({ extended: false, limit: '64kb' })
  const apiAdmin = requireApiUser('admin')
  router.get('/api/settings', apiAdmin, getSettings)
  router.put('/api/settings', apiAdmin, json({ limit: '64kb', strict: false }), putSettings)
  router.get('/api/settings/audit', apiAdmin, validate(auditSchemas), getAudit)
  router.get('/admin/settings', requirePageLogin('admin'), settingsPage)
  router.get('/admin/settings/progress', requirePageLogin('admin'), (_req, res) => {
    res.set('Cache-Control', 'no-store').json(deps.jobs())
  })
  router.post(
    '/admin/settings',
    requirePageLogin('admin'),
    form,
    requireCsrf(),
    validate(formSchemas),
    saveSettingsForm,
  )

  const view = () => ({ ...settings.get(), siteTrackerUrl: deps.siteTrackerUrl, ...deps.jobs() })
  const actor = (res: Response) => (apiUser(res) ?? currentUser(res))?.username ?? 'unknown'

  function getSettings(_req: Request, res: Response) {
    res.json(view())
  }

  async function putSettings(req: Request, res: Response) {
    await settings.update(req.body, actor(res))
    res.json(view())
  }

  async function getAudit(_req: Request, res: Response) {
    const { limit } = validated(res, auditSchemas).query
    res.json({ entries: await auditEntries(limit) })
  }

  async function auditEntries(limit: number) {
    return (await settings.audit(limit)).map((e) => ({
      at: e.at.toISOString(),
      actor: e.actor,
      field: e.field,
      from: decodeValue(e.field, e.before),
      to: decodeValue(e.field, e.after),
    }))
  }

  async function renderPage(
    res: Response,
    status: number,
    values: FormValues,
    error: { field: string; message: string } | null,
    saved: boolean,
  ) {
    res.status(status).render('settings', {
      title: 'Settings',
      values,
      error,
      saved,
      siteTrackerUrl: deps.siteTrackerUrl,
      jobs: deps.jobs(),
      audit: await auditEntries(AUDIT_ON_PAGE),
    })
  }

  async function settingsPage(req: Request, res: Response) {
    await renderPage(res, 200, formValues(settings.get(), deps.siteTrackerUrl), null, req.query.saved === '1')
  }

  async function saveSettingsForm(_req: Request, res: Response) {
    const values: FormValues = validated(res, formSchemas).body
    const others = values.otherTrackers
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
    const input: Record<string, unknown> = {
      bittorrentEnabled: values.bittorrentEnabled,
      trackerUrls: [...(values.siteTracker ? [deps.siteTrackerUrl] : []), ...others],
      webSeedEnabled: values.webSeedEnabled,
      privateTorrents: values.privateTorrents,
    }
    // Sent as chosen (the service refuses anything but its modes, by name).
    if (values.p2pPlayback !== undefined) input.p2pPlayback = values.p2pPlayback
    if (values.torrentFormat !== undefined) input.torrentFormat = values.torrentFormat
    for (const f of RATE_CAP_FIELDS) {
      const typed = values[f]?.trim().replaceAll(/[\s_,]/g, '')
      // Digits become a number; anything else goes on as typed, for the service to refuse by name.
      if (typed !== undefined) input[f] = /^\d{1,15}$/.test(typed) ? Number(typed) : typed
    }
    try {
      await settings.update(input, actor(res))
      res.redirect(303, '/admin/settings?saved=1')
    } catch (err) {
      const appErr = toAppError(err)
      if (appErr.status >= 500) throw err
      const field = err instanceof InvalidSettings ? err.field : 'settings'
      const message = err instanceof InvalidSettings ? err.reason : appErr.message
      // What the admin typed stays in the form, the reason beside the field it is about.
      await renderPage(res, appErr.status, values, { field, message }, false)
    }
  }

  return router
}

interface FormValues {
  bittorrentEnabled: boolean
  siteTracker: boolean
  otherTrackers: string
  webSeedEnabled: boolean
  privateTorrents: boolean
  seederUploadCap: string | undefined
  webSeedUploadCap: string | undefined
  p2pPlayback: string | undefined
  torrentFormat: string | undefined
}

function formValues(s: Settings, siteTrackerUrl: string): FormValues {
  return {
    bittorrentEnabled: s.bittorrentEnabled,
    siteTracker: s.trackerUrls.includes(siteTrackerUrl),
    otherTrackers: s.trackerUrls.filter((u) => u !== siteTrackerUrl).join('\n'),
    webSeedEnabled: s.webSeedEnabled,
    privateTorrents: s.privateTorrents,
    seederUploadCap: String(s.seederUploadCap),
    webSeedUploadCap: String(s.webSeedUploadCap),
    p2pPlayback: s.p2pPlayback,
    torrentFormat: s.torrentFormat,
  }
}

function decodeValue(field: string, raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true'
  if ((RATE_CAP_FIELDS as readonly string[]).includes(field)) return Number(raw)
  if (field === 'trackerUrls') {
    try {
      return JSON.parse(raw)
    } catch {
      return raw
    }
  }
  return raw
}
