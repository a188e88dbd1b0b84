// A logged-in visitor of the HTML pages without a browser: the session cookie, the CSRF token
// every page carries (the header's log-out form), and form posts (urlencoded) that follow no
// redirect, so a test sees each 303 and its Location.
import assert from 'node:assert/strict'
import type { TestServer } from './server.ts'

export interface PageReply {
  status: number
  headers: Headers
  /** Location of a redirect, or null. */
  location: string | null
  body: string
}

async function reply(res: Response): Promise<PageReply> {
  return { status: res.status, headers: res.headers, location: res.headers.get('location'), body: await res.text() }
}

/** Undoes EJS's escaping (& < > " '), to compare page text with what was typed. */
export const unescapeHtml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')

/** POST /login as a browser's form would; the reply as it is (303 and a cookie, or the form again). */
export async function postLogin(server: TestServer, username: string, password: string): Promise<PageReply> {
  return reply(
    await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ username, password, next: '/' }).toString(),
    }),
  )
}

export class PageSession {
  readonly server: TestServer
  readonly cookie: string
  readonly csrf: string

  private constructor(server: TestServer, cookie: string, csrf: string) {
    this.server = server
    this.cookie = cookie
    this.csrf = csrf
  }

  /** Logs in through the form (asserting it worked) and reads the session's CSRF token from a page. */
  static async logIn(server: TestServer, username: string, password: string): Promise<PageSession> {
    const res = await postLogin(server, username, password)
    assert.equal(res.status, 303, `${username} logged in: ${res.body.slice(0, 300)}`)
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith('seedcast_session='))
      ?.split(';')[0]
    assert.ok(cookie, 'seedcast_session is set')
    const home = await fetch(`${server.url}/`, { headers: { cookie } })
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await home.text())?.[1]
    assert.ok(csrf, 'the page carries a CSRF token')
    return new PageSession(server, cookie, unescapeHtml(csrf))
  }

  async get(path: string): Promise<PageReply> {
    return reply(await fetch(`${this.server.url}${path}`, { redirect: 'manual', headers: { cookie: this.cookie } }))
  }

  /** A form post with this session's cookie and (unless `csrf: false`) its CSRF token. */
  async post(path: string, fields: Record<string, string> = {}, opts: { csrf?: boolean } = {}): Promise<PageReply> {
    const body = new URLSearchParams(opts.csrf === false ? fields : { _csrf: this.csrf, ...fields })
    return reply(
      await fetch(`${this.server.url}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: body.toString(),
      }),
    )
  }

  /** Whether the cookie still opens a page that needs a login. */
  async loggedIn(): Promise<boolean> {
    const res = await this.get('/account')
    if (res.status === 200) return true
    assert.equal(res.status, 303)
    assert.match(res.location ?? '', /^\/login/)
    return false
  }
}

/** Basic credentials of any user, for the API. */
export const basicOf = (name: string, password: string) =>
  'Basic ' + Buffer.from(`${name}:${password}`).toString('base64')
