// hotpath dashboard: server-side history charts and the fleet panel. Served from
// <mount>/assets/history.js; relative URLs only. Data reaches the DOM through textContent and
// numeric SVG attributes only: an instance id or a route label is shown, never parsed.
;(() => {
  'use strict'

  const SVG = 'http://www.w3.org/2000/svg'
  const $ = (id) => document.getElementById(id)
  const REFRESH_MS = 10_000
  const CHARTS = [
    { id: 'hist-rps', metrics: ['rps'], unit: '' },
    { id: 'hist-latency', metrics: ['p50', 'p95', 'p99'], unit: '' },
    { id: 'hist-errors', metrics: ['errorRate'], unit: '%', scale: 100 },
    { id: 'hist-status', metrics: ['s2xx', 's3xx', 's4xx', 's5xx'], unit: '' },
    { id: 'hist-hit', metrics: ['cacheHitRatio'], unit: '%', scale: 100, max: 100 },
    { id: 'hist-loop', metrics: ['eventLoopP99'], unit: '' },
    { id: 'hist-cpu', metrics: ['cpu'], unit: '%', scale: 100 },
    { id: 'hist-memory', metrics: ['heapUsed', 'rss'], unit: ' MB', scale: 1 / 1048576 },
  ]
  let started = false
  let timer = 0

  function svgEl(name, attrs) {
    const el = document.createElementNS(SVG, name)
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
    return el
  }

  function num(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
    return n >= 1000 ? Math.round(n).toLocaleString('en') : String(Math.round(n * 100) / 100)
  }

  function niceMax(value) {
    if (!(value > 0)) return 1
    const step = 10 ** Math.floor(Math.log10(value))
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step
    return 10 * step
  }

  /** A time-axis line chart: one polyline per series, deploy markers as dashed verticals. */
  function timeChart(svg, series, markers, from, to, unit, fixedMax) {
    while (svg.firstChild) svg.removeChild(svg.firstChild)
    const width = 600
    const height = 160
    const left = 48
    const top = 8
    const bottom = 18
    const plotW = width - left - 8
    const plotH = height - top - bottom
    let max = 0
    for (const s of series) for (const p of s) if (p[1] > max) max = p[1]
    max = fixedMax || niceMax(max)
    const x = (t) => left + (plotW * (t - from)) / Math.max(1, to - from)
    const y = (v) => top + plotH - (plotH * Math.min(v, max)) / max
    for (let i = 0; i <= 4; i++) {
      const gy = top + plotH - (plotH * i) / 4
      svg.appendChild(svgEl('line', { x1: left, x2: width - 8, y1: gy, y2: gy, class: 'grid' }))
      const label = svgEl('text', { x: left - 6, y: gy + 4, class: 'axis', 'text-anchor': 'end' })
      label.textContent = num((max * i) / 4) + unit
      svg.appendChild(label)
    }
    for (const m of markers) {
      if (m.at < from) continue
      const mx = x(m.at).toFixed(1)
      svg.appendChild(svgEl('line', { x1: mx, x2: mx, y1: top, y2: top + plotH, class: 'marker' }))
      const label = svgEl('text', { x: mx, y: top + 10, class: 'axis marker-label' })
      label.textContent = m.label
      svg.appendChild(label)
    }
    series.forEach((points, index) => {
      if (points.length === 0) return
      const line = points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')
      svg.appendChild(svgEl('polyline', { points: line, class: `line s${index}` }))
    })
    svg.dataset.points = String(series.reduce((n, s) => n + s.length, 0))
  }

  async function getJson(url) {
    const response = await fetch(url, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { accept: 'application/json' },
    })
    if (!response.ok) {
      const error = new Error(`${url} answered ${response.status}`)
      error.status = response.status
      throw error
    }
    return response.json()
  }

  /** Whether the server has a fleet: `/history` says so, so the page never probes `fleet` in vain. */
  let hasFleet = false

  async function drawHistory() {
    const window = $('hist-window')?.value === '1d' ? '1d' : '1h'
    const to = Date.now()
    const from = to - (window === '1h' ? 3_600_000 : 86_400_000)
    for (const chart of CHARTS) {
      const svg = $(chart.id)
      if (!svg) continue
      const docs = await Promise.all(
        chart.metrics.map((m) => getJson(`history?metric=${encodeURIComponent(m)}&window=${window}`)),
      )
      hasFleet = docs[0]?.fleet === true
      const scale = chart.scale || 1
      const series = docs.map((d) => (d.points || []).map((p) => [p[0], p[1] * scale]))
      timeChart(svg, series, docs[0]?.markers || [], from, to, chart.unit, chart.max)
    }
    $('history-section').hidden = false
  }

  function cell(row, text, className) {
    const td = document.createElement('td')
    td.textContent = text
    if (className) td.className = className
    row.appendChild(td)
  }

  function renderFleet(view) {
    const c = view.coverage
    $('fleet-coverage').textContent =
      `${view.app}: ${c.fresh}/${c.total} instances` +
      (c.stale.length ? ` (stale: ${c.stale.join(', ')})` : '')
    $('fleet-totals').textContent =
      `last closed ${view.window} interval: ${num(view.totals.rps)} req/s · p50 ${num(view.totals.p50)} ms · p95 ${num(view.totals.p95)} ms · p99 ${num(view.totals.p99)} ms · served by ${view.self}`
    const body = $('fleet-instances').tBodies[0]
    while (body.firstChild) body.removeChild(body.firstChild)
    for (const i of view.instances) {
      const row = document.createElement('tr')
      if (i.stale) row.className = 'stale'
      cell(row, i.id + (i.id === view.self ? ' (this one)' : ''))
      cell(row, i.stale ? 'stale' : 'fresh')
      cell(row, num(i.rps), 'num')
      cell(row, `${num(i.p95)} ms`, 'num')
      cell(row, `${num(i.errorRate * 100)}%`, 'num')
      cell(row, `${num(i.eventLoopP99)} ms`, 'num')
      cell(row, `${num(i.rss / 1048576)} MB`, 'num')
      body.appendChild(row)
    }
    const list = $('fleet-outliers')
    while (list.firstChild) list.removeChild(list.firstChild)
    for (const o of view.outliers) {
      const li = document.createElement('li')
      li.textContent = o.message
      list.appendChild(li)
    }
  }

  async function refresh() {
    clearTimeout(timer)
    try {
      await drawHistory()
    } catch {
      // The next refresh tries again; the main poll shows sign-in and errors.
    }
    if (hasFleet) {
      try {
        renderFleet(await getJson('fleet'))
        $('fleet-section').hidden = false
      } catch {
        // Shown again at the next refresh.
      }
    }
    timer = setTimeout(refresh, REFRESH_MS)
  }

  // Starts with the main poll's first answer (so the page is signed in), then runs on its own.
  document.addEventListener('hotpath:dashboard', () => {
    if (started || $('history-section') === null) return
    started = true
    $('hist-window')?.addEventListener('change', () => refresh())
    refresh()
  })
})()
