// Peer-to-peer playback for views/partials/player.ejs. The <video> starts on the file from this
// site, so nobody waits for the first frame longer than with a plain player. Once it plays (and
// the viewer has not switched P2P off), WebTorrent (/static/vendor/, the site's own copy) joins the
// torrent through the site's WebSocket tracker, with the web seed behind the other browsers, and
// playback moves onto the torrent (webtorrent's service worker streams it into the element, with
// seeking) once the torrent holds what comes next. Anything missing or failing (no WebRTC, no
// service worker, the torrent unreachable, a stream error) leaves or puts playback on this site's file.
const video = document.querySelector('video[data-torrent-url]')
const panel = document.getElementById('p2p')
if (video && panel) main(video, panel)

function main(video, panel) {
  const STORE_KEY = 'seedcast.p2p'
  // What the torrent must hold past the playing position before playback moves onto it.
  const AHEAD_BYTES = 2 * 1024 * 1024
  const WORKER_TIMEOUT_MS = 10_000
  // How far ahead of the playing position the torrent's element waits to take over, and for how long.
  const HANDOVER_LEAD_S = 3
  const HANDOVER_TIMEOUT_MS = 15_000
  const SOURCES = {
    off: 'this site (peer-to-peer is off)',
    starting: 'this site (looking for peers)',
    joined: 'this site (peers are fetching what comes next)',
    p2p: 'peers and this site (peer-to-peer)',
    'no-webrtc': 'this site (this browser has no WebRTC)',
    'no-worker': 'this site (this browser cannot stream peer-to-peer here)',
    unavailable: 'this site (peer-to-peer is unavailable)',
    failed: 'this site (peer-to-peer streaming failed)',
  }
  const box = document.getElementById('p2p-enabled')
  const httpSrc = new URL(video.getAttribute('src'), location.href).href
  let client = null
  let torrent = null
  let starting = false
  let onTorrent = false
  let preparing = false
  // Set once streaming from the torrent failed: this page stays on the site's file.
  let broken = false
  const bytes = { peers: 0, webSeed: 0, uploaded: 0 }

  const stored = readStored()
  box.checked = stored ? stored === 'on' : video.dataset.p2pMode !== 'opt-in'
  box.addEventListener('change', () => {
    writeStored(box.checked ? 'on' : 'off')
    if (box.checked) whenPlaying(start)
    else stop('off')
  })
  if (box.checked) whenPlaying(start)
  else setState('off')
  watch(video)
  setInterval(showStats, 500)

  function watch(el) {
    el.addEventListener('playing', () => maybeMove())
    el.addEventListener('seeking', () => prioritize())
    el.addEventListener('error', () => {
      // The torrent's stream failed: back to the site's file where the viewer was.
      if (el === video && onTorrent) {
        broken = true
        moveTo(httpSrc, false)
        setState('failed')
      }
    })
  }

  // WebTorrent only for a viewer who plays (a page merely opened costs no more than before), and
  // only once the first frame is on screen and the page is idle: loading it must not delay that frame.
  function whenPlaying(fn) {
    const idle = () => (window.requestIdleCallback ? requestIdleCallback(() => fn(), { timeout: 1000 }) : setTimeout(fn))
    const afterFrame = () => (video.requestVideoFrameCallback ? video.requestVideoFrameCallback(idle) : idle())
    if (!video.paused && video.readyState >= 2) afterFrame()
    else video.addEventListener('playing', afterFrame, { once: true })
  }

  async function start() {
    if (client || starting || broken || !box.checked) return
    if (typeof RTCPeerConnection === 'undefined') return setState('no-webrtc')
    if (!navigator.serviceWorker) return setState('no-worker')
    starting = true
    setState('starting')
    try {
      const registration = await within(WORKER_TIMEOUT_MS, playerWorker(), 'the service worker did not start')
      const { default: WebTorrent } = await import('/static/vendor/webtorrent.min.js')
      const res = await fetch(video.dataset.torrentUrl)
      if (!res.ok) throw new Error(`the .torrent answered ${res.status}`)
      const metainfo = new Uint8Array(await res.arrayBuffer())
      if (!box.checked) return setState('off')
      client = new WebTorrent()
      client.on('error', (err) => fail(err))
      client.createServer({ controller: registration })
      count(client.add(metainfo, { announce: JSON.parse(video.dataset.trackers) }, joined))
    } catch (err) {
      fail(err)
    } finally {
      starting = false
    }
  }

  // Bytes by source, from every connection (web seed ones start before the torrent is ready).
  function count(t) {
    const counted = new WeakSet()
    const watch = (wire) => {
      if (counted.has(wire)) return
      counted.add(wire)
      const seed = wire.type === 'webSeed'
      wire.on('download', (n) => {
        if (seed) bytes.webSeed += n
        else bytes.peers += n
      })
      if (!seed) wire.on('upload', (n) => (bytes.uploaded += n))
    }
    for (const wire of t.wires) watch(wire)
    t.on('wire', watch)
  }

  function joined(t) {
    torrent = t
    t.on('verified', () => maybeMove())
    t.on('warning', (err) => {
      // The torrent's HTTP and UDP trackers are for other clients; a browser uses the WebSocket one.
      if (!/Unsupported tracker protocol/.test(err?.message)) console.warn('[p2p]', err?.message ?? err)
    })
    setState('joined')
    prioritize()
    maybeMove()
  }

  // The pieces playback needs first: the start (where players find the index), the end (where
  // some files keep it), and those from the playing position on.
  function neededPieces() {
    const last = torrent.pieces.length - 1
    const length = torrent.length
    const at = Number.isFinite(video.duration) && video.duration > 0 ? video.currentTime / video.duration : 0
    const from = Math.floor((at * length) / torrent.pieceLength)
    const to = Math.min(last, Math.floor((at * length + AHEAD_BYTES) / torrent.pieceLength))
    return { first: [0, last], from, to }
  }

  function prioritize() {
    if (!torrent || onTorrent) return
    const { from, to } = neededPieces()
    torrent.critical(from, to)
  }

  function maybeMove() {
    if (!torrent || onTorrent || preparing || broken || !box.checked) return
    // The first frame comes from the site's file, unless that failed.
    if (video.readyState < 2 && !video.error) return
    const { first, from, to } = neededPieces()
    for (const i of first) if (!torrent.bitfield.get(i)) return
    for (let i = from; i <= to; i++) if (!torrent.bitfield.get(i)) return
    handOver(torrent.files[0].streamURL)
  }

  // Moves playback onto the torrent without a visible gap. Swapping the source in place stalls
  // for a second or more (the new stream's first bytes at the position come through the service
  // worker), so a second, hidden element loads the torrent's stream a few seconds ahead of the
  // playing position, and takes the first one's place when playback reaches that point.
  function handOver(src) {
    if (preparing) return
    preparing = true
    const next = document.createElement('video')
    for (const a of video.attributes) if (a.name !== 'src') next.setAttribute(a.name, a.value)
    next.hidden = true
    next.muted = true
    next.preload = 'auto'
    const ahead = () => Math.max(0, Math.min(video.currentTime + HANDOVER_LEAD_S, video.duration - 0.25))
    let target = ahead()
    next.src = `${src}#t=${target.toFixed(3)}`
    video.after(next)
    const deadline = performance.now() + HANDOVER_TIMEOUT_MS
    const give = (up) => {
      next.removeAttribute('src')
      next.load()
      next.remove()
      preparing = false
      up()
    }
    next.addEventListener('error', () => give(() => setState('failed')), { once: true })
    const tick = () => {
      if (!next.isConnected) return
      if (!box.checked || !torrent) return give(() => {})
      // Not ready in time: swap in place after all (a stall, but no more bytes from the site).
      if (performance.now() > deadline)
        return give(() => {
          moveTo(src, true)
          setState('p2p')
        })
      if (next.readyState < 3 || next.seeking) return setTimeout(tick, 50)
      if (video.paused) {
        next.currentTime = video.currentTime
        return swap(next, false)
      }
      const gap = target - video.currentTime
      // Playback passed the point, or the viewer went elsewhere: aim again, ahead of where it is.
      if (gap < -0.1 || gap > HANDOVER_LEAD_S + 1) {
        target = ahead()
        next.currentTime = target
        return setTimeout(tick, 50)
      }
      if (gap > 0.03) return setTimeout(tick, Math.min(250, Math.max(10, gap * 1000 - 20)))
      swap(next, true)
    }
    tick()
  }

  function swap(next, play) {
    const old = video
    next.muted = old.muted
    next.volume = old.volume
    next.playbackRate = old.playbackRate
    if (play) next.play().catch(() => {})
    next.hidden = false
    video = next
    onTorrent = true
    preparing = false
    watch(next)
    old.pause()
    old.remove()
    // Ends its download from the site.
    old.removeAttribute('src')
    old.load()
    setState('p2p')
  }

  // Swaps the element's source, keeping the position, speed and whether it was playing.
  function moveTo(src, toTorrent) {
    const at = video.currentTime
    const playing = !video.paused
    const rate = video.playbackRate
    onTorrent = toTorrent
    video.addEventListener(
      'loadedmetadata',
      () => {
        video.currentTime = at
        video.playbackRate = rate
        if (playing) video.play().catch(() => {})
      },
      { once: true },
    )
    video.src = src
  }

  function stop(state) {
    if (onTorrent) moveTo(httpSrc, false)
    client?.destroy()
    client = null
    torrent = null
    setState(state)
  }

  function fail(err) {
    console.warn('[p2p] playing from this site:', err?.message ?? err)
    stop('unavailable')
  }

  // webtorrent's service worker, controlling this page (it claims the pages in its scope when it
  // activates; a page loaded with a forced reload stays uncontrolled, and so plays from the site).
  async function playerWorker() {
    const registration = await navigator.serviceWorker.register('/static/vendor/webtorrent-sw.js', {
      scope: '/videos/',
    })
    const worker = registration.active ?? registration.waiting ?? registration.installing
    if (worker.state !== 'activated')
      await new Promise((resolve) =>
        worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()),
      )
    if (!navigator.serviceWorker.controller)
      await new Promise((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
      )
    return registration
  }

  function showStats() {
    const server = bytes.webSeed + httpBytes()
    show('p2p-peer-bytes', bytes.peers)
    show('p2p-server-bytes', server)
    show('p2p-uploaded', bytes.uploaded)
    const peers = torrent ? torrent.wires.filter((w) => w.type !== 'webSeed').length : 0
    setText('p2p-peers', String(peers))
    panel.dataset.progress = torrent ? String(torrent.progress) : '0'
  }

  // What the element fetched from the site's file (requests that have ended: the resource timing
  // entries of ones still streaming come when they end).
  function httpBytes() {
    let sum = 0
    for (const e of performance.getEntriesByName(httpSrc)) sum += e.encodedBodySize || e.transferSize || 0
    return sum
  }

  function show(id, n) {
    const el = document.getElementById(id)
    if (!el || el.dataset.bytes === String(n)) return
    el.dataset.bytes = String(n)
    el.textContent = formatBytes(n)
  }

  function setText(id, text) {
    const el = document.getElementById(id)
    if (el && el.textContent !== text) el.textContent = text
  }


  function setState(state) {
    panel.dataset.state = state
    setText('p2p-source', SOURCES[state] ?? 'this site')
  }

  function formatBytes(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB']
    let i = 0
    let v = n
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000
      i++
    }
    return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
  }

  function readStored() {
    try {
      return localStorage.getItem(STORE_KEY)
    } catch {
      return null // storage blocked: the site's default
    }
  }

  function writeStored(value) {
    try {
      localStorage.setItem(STORE_KEY, value)
    } catch {}
  }

  function within(ms, promise, message) {
    let timer
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms)
    })
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
  }
}
