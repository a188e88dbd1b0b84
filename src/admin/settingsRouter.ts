import { Router, json, urlencoded } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { requireCsrf, requirePageLogin } from '../auth/middleware.ts'
import { toAppError } from '../errors.ts'
import type { SettingsService } from './settingsService.ts'

export function settingsRouter(settings: SettingsService, requireApiAdmin: RequestHandler): Router {
  const router = Router()
  const form = urlencoded({ extended: false, limit: '64kb' })
  router.get('/api/settings', requireApiAdmin, getSettings)
  router.put('/api/settings', requireApiAdmin, json({ limit: '64kb' }), putSettings)
  router.get('/admin/settings', requirePageLogin('admin'), settingsPage)
  router.post('/admin/settings', requirePageLogin('admin'), form, requireCsrf(), saveSettingsForm)

  function getSettings(_req: Request, res: Response) {
    res.json(settings.get())
  }

  async function putSettings(req: Request, res: Response) {
    res.json(await settings.update(req.body))
  }

  function settingsPage(req: Request, res: Response) {
    const current = settings.get()
    res.render('settings', { title: 'Settings', error: null, saved: req.query.saved === '1', values: { bittorrentEnabled: current.bittorrentEnabled, trackerUrls: current.trackerUrls.join('\n') } })
  }

  async function saveSettingsForm(req: Request, res: Response) {
    const body = req.body as Record<string, string | undefined>
    const trackerText = body.trackerUrls ?? ''
    const input = {
      bittorrentEnabled: body.bittorrentEnabled === 'on',
      trackerUrls: trackerText.split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
    }
    try {
      await settings.update(input)
      res.redirect(303, '/admin/settings?saved=1')
    } catch (err) {
      const appErr = toAppError(err)
      if (appErr.status >= 500) throw err
      res.status(appErr.status).render('settings', { title: 'Settings', error: appErr.message, saved: false, values: { bittorrentEnabled: input.bittorrentEnabled, trackerUrls: trackerText } })
    }
  }

  return router
}
