// The upload form, resumable: the file goes to /uploads over tus (tus-js-client, served from
// /static/vendor/), with a progress bar, speed and time left, pause and resume. A dropped
// connection is retried; after a reload, choosing the same file again resumes it (the client keeps
// its upload URL in localStorage, by file name, type, size and date). Without JavaScript, or
// without tus support, the form posts the file as before.
;(() => {
  const form = document.getElementById('upload-form')
  const tus = window.tus
  if (!form || !tus || !tus.isSupported) return
  const $ = (id) => document.getElementById(id)
  const panel = $('upload-progress')
  const pauseButton = $('upload-pause')
  const resumeButton = $('upload-resume')
  const say = (text) => {
    $('upload-state').textContent = text
  }

  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  const bytes = (n) => {
    let i = 0
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000
      i++
    }
    return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`
  }
  const duration = (s) => {
    if (!Number.isFinite(s)) return 'time left: …'
    if (s < 60) return `${Math.ceil(s)} s left`
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s left`
    return `${Math.floor(s / 3600)} h ${Math.ceil((s % 3600) / 60)} min left`
  }

  // Speed over the last few seconds of progress, not since the start (a resume starts half-way).
  let samples = []
  const show = (sent, total) => {
    const now = performance.now()
    samples.push([now, sent])
    while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift()
    const [t0, b0] = samples[0]
    const speed = now > t0 ? ((sent - b0) * 1000) / (now - t0) : 0
    $('upload-bar').value = total ? (sent * 100) / total : 0
    $('upload-bytes').textContent = `${bytes(sent)} of ${bytes(total)}`
    $('upload-speed').textContent = speed > 0 ? `${bytes(speed)}/s` : '…/s'
    $('upload-eta').textContent = duration(speed > 0 ? (total - sent) / speed : Number.NaN)
  }

  // The server's JSON error, or the client's own message.
  const reason = (err) => {
    try {
      return JSON.parse(err.originalResponse.getBody()).error.message
    } catch {
      return 'The upload failed; choose the file again to resume it.'
    }
  }

  let upload = null
  form.addEventListener('submit', async (event) => {
    const file = form.elements.file.files[0]
    if (!file || !form.reportValidity()) return
    // tus carries one file: a release with extra files goes as one plain form post.
    if (form.elements.files && form.elements.files.files.length > 0) return
    event.preventDefault()
    form.querySelector('button[type=submit]').disabled = true
    panel.hidden = false
    samples = []
    upload = new tus.Upload(file, {
      endpoint: form.dataset.tusEndpoint,
      // JSON refusals from the site's error handler too (its message is shown), not an error page.
      headers: { 'X-CSRF-Token': form.dataset.csrf, Accept: 'application/json' },
      metadata: { filename: file.name, title: form.elements.title.value, description: form.elements.description.value },
      // A dropped connection is retried for about two minutes before the page gives up.
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      removeFingerprintOnSuccess: true,
      onProgress: show,
      onSuccess: ({ lastResponse }) => {
        say('Done: the torrent is ready.')
        const id = lastResponse.getHeader('Seedcast-Video')
        if (id) window.location.assign(`/videos/${encodeURIComponent(id)}`)
      },
      onError: (err) => {
        say(reason(err))
        form.querySelector('button[type=submit]').disabled = false
        pauseButton.hidden = true
        resumeButton.hidden = true
      },
    })
    const earlier = await upload.findPreviousUploads()
    if (earlier.length) {
      upload.resumeFromPreviousUpload(earlier[0])
      say('Resuming the earlier upload of this file…')
    } else say('Uploading…')
    pauseButton.hidden = false
    resumeButton.hidden = true
    upload.start()
  })

  pauseButton.addEventListener('click', () => {
    if (!upload) return
    upload.abort()
    pauseButton.hidden = true
    resumeButton.hidden = false
    say('Paused. Resume here, or choose the same file again later, even after reloading the page.')
  })
  resumeButton.addEventListener('click', () => {
    if (!upload) return
    samples = []
    upload.start()
    pauseButton.hidden = false
    resumeButton.hidden = true
    say('Uploading…')
  })
})()
