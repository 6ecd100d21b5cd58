// Polls /api/reports/<id> (the id is the last path segment) and draws the task's progress.
;(() => {
  const id = decodeURIComponent(location.pathname.split('/').pop() || '')
  const $ = (name) => document.getElementById(name)
  async function poll() {
    try {
      const res = await fetch(`/api/reports/${encodeURIComponent(id)}`, { cache: 'no-store' })
      if (res.status === 404) {
        $('state').textContent = 'No such report.'
        return
      }
      const task = await res.json()
      $('bar').value = task.progress
      $('pct').textContent = `${Math.round(task.progress)}%`
      $('state').textContent =
        task.state === 'completed'
          ? `Done: ${task.result.rows} rows for ${task.result.month} in ${task.durationMs} ms.`
          : task.error
            ? `${task.state}: ${task.error.message}`
            : `${task.state}${task.message ? ` · ${task.message}` : ''}`
      if (task.state === 'pending' || task.state === 'running') setTimeout(poll, 500)
    } catch {
      setTimeout(poll, 2000)
    }
  }
  poll()
})()
