// Keeps the settings page's progress bars (torrent backfill and rewrite) current while they run.
(() => {
  const root = document.querySelector('[data-progress-url]')
  if (!root) return
  const show = (id, p) => {
    const row = document.getElementById(id)
    row.hidden = !p
    if (!p) return
    const bar = row.querySelector('progress')
    bar.max = p.total
    bar.value = p.done
    row.querySelector('.count').textContent = `${p.done} of ${p.total}`
  }
  let seenWork = !root.hidden
  const tick = async () => {
    try {
      const res = await fetch(root.dataset.progressUrl, { cache: 'no-store', headers: { accept: 'application/json' } })
      if (res.ok) {
        const jobs = await res.json()
        show('job-backfill', jobs.backfill)
        show('job-rewrite', jobs.rewrite)
        root.hidden = !jobs.backfill && !jobs.rewrite
        seenWork ||= !root.hidden
      }
    } catch { /* the next tick tries again */ }
    // Fast while work runs (or was just started by a save), slow otherwise.
    setTimeout(tick, seenWork && !root.hidden ? 1000 : 5000)
  }
  tick()
})()
