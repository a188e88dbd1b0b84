// Keeps the video page's swarm numbers current without a reload: polls the JSON API every 5 s
// while the page is visible, and refreshes the charts (server-drawn SVG) once a minute.
// A plain file, no inline code: it finds its URLs in data attributes.
(() => {
  const root = document.querySelector('[data-swarm-url]')
  if (!root) return
  const COUNTS_EVERY_MS = 5_000
  const CHARTS_EVERY_MS = 60_000
  let timer = 0
  let busy = false
  let chartsAt = Date.now()

  async function refreshCounts() {
    const res = await fetch(root.dataset.swarmUrl, { cache: 'no-store', headers: { accept: 'application/json' } })
    // BitTorrent switched off (or the video deleted) since the page loaded: show the page as it is
    // now rather than links that no longer work.
    if (res.status === 404) { location.reload(); return }
    if (!res.ok) return
    const swarm = await res.json()
    for (const id of ['seeders', 'leechers', 'completed']) {
      const el = document.getElementById(id)
      const text = String(swarm[id])
      if (el && el.textContent !== text) el.textContent = text
    }
  }

  async function refreshCharts() {
    for (const figure of root.querySelectorAll('[data-chart-url]')) {
      const res = await fetch(figure.dataset.chartUrl, { cache: 'no-store' })
      if (!res.ok) continue
      const svg = new DOMParser().parseFromString(await res.text(), 'image/svg+xml').documentElement
      // A parse failure yields a <parsererror> document: keep the chart there is.
      if (svg.localName === 'svg') figure.querySelector('svg')?.replaceWith(document.importNode(svg, true))
    }
  }

  async function poll() {
    if (busy || document.hidden) return
    busy = true
    try {
      await refreshCounts()
      if (Date.now() - chartsAt >= CHARTS_EVERY_MS) {
        chartsAt = Date.now()
        await refreshCharts()
      }
    } catch {
      // Offline for a moment, or the server restarting: the next poll tries again.
    } finally {
      busy = false
    }
    if (!document.hidden) schedule()
  }

  function schedule() {
    clearTimeout(timer)
    timer = setTimeout(poll, COUNTS_EVERY_MS)
  }

  // Hidden tabs don't poll; coming back catches up at once.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) clearTimeout(timer)
    else poll()
  })
  schedule()
})()
