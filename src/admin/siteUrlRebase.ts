// When PUBLIC_URL changes, the site's own tracker URLs in the settings move with it: its HTTP
// tracker (under PUBLIC_URL), its WebSocket tracker (same host and path, ws/wss) and its UDP
// tracker (same host name, its own port). Other trackers are left as they are. Pure.

export function rebaseSiteUrl(url: string, oldBase: string, newBase: string): string {
  const from = stripSlash(oldBase)
  const to = stripSlash(newBase)
  if (url === from || url.startsWith(`${from}/`)) return to + url.slice(from.length)
  let parsed: URL, oldUrl: URL, newUrl: URL
  try {
    parsed = new URL(url)
    oldUrl = new URL(from)
    newUrl = new URL(to)
  } catch {
    return url
  }
  if (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') {
    const asHttp = `${parsed.protocol === 'wss:' ? 'https:' : 'http:'}//${parsed.host}${parsed.pathname}${parsed.search}`
    if (asHttp !== from && !asHttp.startsWith(`${from}/`)) return url
    const moved = new URL(to + asHttp.slice(from.length))
    return `${moved.protocol === 'https:' ? 'wss:' : 'ws:'}//${moved.host}${moved.pathname}${moved.search}`
  }
  if (parsed.protocol === 'udp:' && parsed.hostname === oldUrl.hostname && oldUrl.hostname !== newUrl.hostname) {
    parsed.hostname = newUrl.hostname
    return parsed.toString()
  }
  return url
}

const stripSlash = (u: string) => u.replace(/\/+$/, '')
