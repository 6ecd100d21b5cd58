// hotpath dashboard page. Served from <mount>/assets/app.js; every URL here is relative so
// any mount path and proxy prefix work. Data only ever reaches the DOM through textContent
// and numeric SVG attributes: a route label such as "<script>" is shown, never parsed.
;(() => {
  'use strict'

  const SVG = 'http://www.w3.org/2000/svg'
  const HISTORY = 60
  const history = { rps: [], p50: [], p95: [], p99: [], hit: [] }
  const $ = (id) => document.getElementById(id)
  let timer = 0
  let pollMs = 2000
  let windowName = ''
  let inflight = false

  const fmt = {
    num(n) {
      if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
      return n >= 1000 ? Math.round(n).toLocaleString('en') : String(Math.round(n * 100) / 100)
    },
    ms(n) {
      if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
      return n >= 100 ? `${Math.round(n)} ms` : `${Math.round(n * 10) / 10} ms`
    },
    pct(r) {
      if (typeof r !== 'number' || !Number.isFinite(r)) return '–'
      return `${Math.round(r * 1000) / 10}%`
    },
    bytes(n) {
      if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
      const units = ['B', 'KB', 'MB', 'GB', 'TB']
      let i = 0
      while (n >= 1024 && i < units.length - 1) {
        n /= 1024
        i++
      }
      return `${i === 0 ? n : Math.round(n * 10) / 10} ${units[i]}`
    },
  }

  function setText(id, text) {
    const el = $(id)
    if (el && el.textContent !== text) el.textContent = text
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild)
  }

  /** Fills a table body; each cell is text. `rows` are arrays of already formatted strings. */
  function fillTable(id, rows, empty) {
    const table = $(id)
    if (!table) return
    const body = table.tBodies[0]
    clear(body)
    if (rows.length === 0) {
      const tr = document.createElement('tr')
      const td = document.createElement('td')
      td.colSpan = table.tHead ? table.tHead.rows[0].cells.length : 1
      td.className = 'muted'
      td.textContent = empty
      tr.appendChild(td)
      body.appendChild(tr)
      return
    }
    for (const row of rows) {
      const tr = document.createElement('tr')
      row.forEach((value, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td')
        if (i === 0) td.scope = 'row'
        td.textContent = String(value)
        tr.appendChild(td)
      })
      body.appendChild(tr)
    }
  }

  function svgEl(name, attrs) {
    const el = document.createElementNS(SVG, name)
    for (const key of Object.keys(attrs)) el.setAttribute(key, String(attrs[key]))
    return el
  }

  function niceMax(value) {
    if (!(value > 0)) return 1
    const step = 10 ** Math.floor(Math.log10(value))
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step
    return 10 * step
  }

  /** A plain SVG line chart: horizontal grid with labels, one polyline per series. */
  function lineChart(id, series, fixedMax, unit) {
    const svg = $(id)
    if (!svg) return
    const width = 600
    const height = 180
    const left = 48
    const top = 10
    const bottom = 20
    const plotW = width - left - 8
    const plotH = height - top - bottom
    let max = fixedMax || 0
    if (!fixedMax) for (const s of series) for (const v of s) if (v > max) max = v
    max = fixedMax || niceMax(max)
    clear(svg)
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4
      svg.appendChild(svgEl('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'grid' }))
      const label = svgEl('text', { x: left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' })
      label.textContent = fmt.num((max * i) / 4) + unit
      svg.appendChild(label)
    }
    series.forEach((values, index) => {
      if (values.length === 0) return
      const step = plotW / (HISTORY - 1)
      const offset = HISTORY - values.length
      const points = values
        .map((v, i) => {
          const x = left + (offset + i) * step
          const y = top + plotH - (plotH * Math.min(v, max)) / max
          return `${x.toFixed(1)},${y.toFixed(1)}`
        })
        .join(' ')
      svg.appendChild(svgEl('polyline', { points, class: `line s${index}` }))
      const last = values[values.length - 1]
      svg.appendChild(
        svgEl('circle', {
          cx: (left + (HISTORY - 1) * step).toFixed(1),
          cy: (top + plotH - (plotH * Math.min(last, max)) / max).toFixed(1),
          r: 3,
          class: `dot s${index}`,
        }),
      )
    })
  }

  function push(list, value) {
    list.push(typeof value === 'number' && Number.isFinite(value) ? value : 0)
    if (list.length > HISTORY) list.shift()
  }

  function renderOverview(doc) {
    const overview = doc.overview
    const w = overview ? overview.windows[doc.window] : null
    const minute = overview ? overview.windows['1m'] : null
    setText('kpi-requests', w ? fmt.num(w.count) : '–')
    setText('kpi-rps', w ? fmt.num(w.rps) : '–')
    setText('kpi-p50', w ? fmt.ms(w.p50) : '–')
    setText('kpi-p95', w ? fmt.ms(w.p95) : '–')
    setText('kpi-p99', w ? fmt.ms(w.p99) : '–')
    setText('kpi-errors', w ? `${fmt.num(w.errors)} (${fmt.pct(w.errorRate)})` : '–')
    if (minute) {
      push(history.rps, minute.rps)
      push(history.p50, minute.p50)
      push(history.p95, minute.p95)
      push(history.p99, minute.p99)
    }
    const rows = overview
      ? ['1m', '5m', '1h', 'all'].map((name) => {
          const s = overview.windows[name]
          return [
            name,
            fmt.num(s.count),
            fmt.num(s.rps),
            fmt.ms(s.p50),
            fmt.ms(s.p95),
            fmt.ms(s.p99),
            fmt.ms(s.max),
            fmt.pct(s.errorRate),
          ]
        })
      : []
    fillTable('windows', rows, 'No profiler source.')
    const slowest = (doc.slowest || []).map((r) => [
      r.route,
      fmt.num(r.count),
      fmt.num(r.rps),
      fmt.ms(r.p50),
      fmt.ms(r.p95),
      fmt.ms(r.p99),
      fmt.pct(r.errorRate),
    ])
    fillTable('slowest', slowest, 'No requests in this window yet.')
  }

  function renderCache(cache) {
    setText('kpi-hit', cache ? fmt.pct(cache.hitRatio) : '–')
    setText('kpi-cache-bytes', cacheSize(cache))
    if (cache) push(history.hit, cache.hitRatio * 100)
    const rows = cache
      ? Object.keys(cache.routes).map((route) => {
          const r = cache.routes[route]
          return [
            route,
            fmt.num(r.hits),
            fmt.num(r.misses),
            fmt.num(r.stale),
            fmt.num(r.bypasses),
            fmt.pct(r.hitRatio),
          ]
        })
      : []
    fillTable('cache-routes', rows, 'No cached routes yet.')
    fillTable('cache-not-stored', notStoredRows(cache), 'No miss went unstored.')
  }

  /** Misses the response cache did not store, by reason (its Cache-Status detail), most first. */
  function notStoredRows(cache) {
    const reasons = cache?.notStored ?? {}
    return Object.keys(reasons)
      .sort((a, b) => reasons[b] - reasons[a])
      .map((reason) => [reason, fmt.num(reasons[reason])])
  }

  /**
   * Stored body and header bytes, with the slab memory the memory store reserved beside them; a
   * store that cannot tell (Redis) says so rather than showing 0 B.
   */
  function cacheSize(cache) {
    if (!cache) return '–'
    if (cache.storedBytes === null) return `unknown (${cache.store || 'store'} keeps its own count)`
    const stored = typeof cache.storedBytes === 'number' ? cache.storedBytes : cache.bytes
    const slabs = typeof cache.slabBytes === 'number' ? ` · slabs ${fmt.bytes(cache.slabBytes)}` : ''
    return `${fmt.bytes(stored)} · ${fmt.num(cache.entries)} entries${slabs}`
  }

  function renderCompression(c) {
    // Nothing compressed yet is not "0 B saved (100%)".
    setText(
      'kpi-saved',
      !c
        ? '–'
        : c.totals.bytesIn > 0
          ? `${fmt.bytes(c.totals.bytesSaved)} (${fmt.pct(1 - c.totals.ratio)})`
          : 'nothing compressed yet',
    )
    const encodings = c
      ? Object.keys(c.encodings).map((name) => {
          const e = c.encodings[name]
          return [name, fmt.num(e.responses), fmt.bytes(e.bytesIn), fmt.bytes(e.bytesOut), fmt.pct(e.ratio)]
        })
      : []
    fillTable('compression-encodings', encodings, 'Nothing compressed yet.')
    const routes = c
      ? Object.keys(c.routes).map((route) => {
          const r = c.routes[route]
          return [route, fmt.num(r.responses), fmt.bytes(r.bytesSaved), fmt.num(r.uncompressedLarge)]
        })
      : []
    fillTable('compression-routes', routes, 'No routes yet.')
  }

  function renderRateLimit(rl) {
    setText('kpi-limited', rl ? fmt.num(rl.limited) : '–')
    const rows = rl
      ? Object.keys(rl.routes).map((route) => {
          const r = rl.routes[route]
          return [route, r.policy, fmt.num(r.allowed), fmt.num(r.limited)]
        })
      : []
    fillTable('ratelimit-routes', rows, 'No rate-limited routes yet.')
  }

  // Queries panel: per-route queries/request, N+1 and duplicate findings with call sites and
  // fixes, slow shapes with EXPLAIN index advice, pool health. Shapes never hold values.
  function renderQueries(q) {
    const list = (v) => (Array.isArray(v) ? v : [])
    const rows = q
      ? q.shapes.map((s) => [s.shape, fmt.num(s.count), fmt.ms(s.mean), fmt.ms(s.p95), fmt.num(s.slow)])
      : []
    fillTable('query-shapes', rows, 'No queries recorded.')
    const drivers = q ? list(q.instrumented) : []
    const background = q?.background ? q.background.queries : 0
    setText(
      'query-instrumented',
      drivers.length > 0
        ? `Instrumented: ${drivers.join(', ')} · ${fmt.num(background)} queries outside requests`
        : 'No driver instrumented: call prof.instrument({ pg, mysql2, betterSqlite3, knex, ioredis }).',
    )
    const perRoute = q
      ? list(q.perRoute).map((r) => [
          r.route,
          fmt.num(r.requests),
          fmt.num(r.queriesPerRequest),
          fmt.num(r.p50),
          fmt.num(r.p95),
          fmt.num(r.max),
        ])
      : []
    fillTable('query-routes', perRoute, 'No route ran a query yet.')
    const site = (f) => (list(f.callSites).length > 0 ? list(f.callSites).join(' · ') : '–')
    const findings = q
      ? [
          ...list(q.nPlusOne).map((f) => [
            f.severity === 'critical' ? 'N+1 (critical)' : 'N+1',
            f.route,
            f.shape,
            fmt.num(f.count),
            fmt.num(f.requests),
            site(f),
            f.hint || '',
          ]),
          ...list(q.duplicates).map((f) => [
            'duplicate',
            f.route,
            f.shape,
            fmt.num(f.count + 1),
            fmt.num(f.requests),
            site(f),
            f.hint || '',
          ]),
        ]
      : []
    fillTable('query-findings', findings, 'No N+1 or duplicate queries found.')
    const advice = q
      ? list(q.advice).map((a) => [
          a.table,
          list(a.columns).join(', '),
          fmt.num(a.rows),
          a.suggestion,
          a.shape,
        ])
      : []
    fillTable(
      'query-advice',
      advice,
      'No missing index found (EXPLAIN advice is opt-in: profiler({ explain: true })).',
    )
    const pools = q
      ? list(q.pools).map((p) => [
          p.name,
          p.kind,
          `${fmt.num(p.inUse)} / ${fmt.num(p.size)} / ${fmt.num(p.max)}`,
          fmt.num(p.idle),
          fmt.num(p.waiting),
          fmt.ms(p.acquireWaitP95Ms),
          fmt.pct(p.saturatedShare),
        ])
      : []
    fillTable('query-pools', pools, 'No pool watched (prof.watchPool(pool)).')
  }

  function renderInsights(list) {
    const ul = $('insights')
    clear(ul)
    if (list.length === 0) {
      const li = document.createElement('li')
      li.className = 'muted'
      li.textContent = 'Nothing to report.'
      ul.appendChild(li)
      return
    }
    for (const insight of list) {
      const li = document.createElement('li')
      li.className = `insight ${insight.severity === 'critical' ? 'critical' : insight.severity === 'warning' ? 'warning' : 'info'}`
      const title = document.createElement('strong')
      title.textContent = insight.title
      const action = document.createElement('p')
      action.textContent = insight.action
      const evidence = document.createElement('p')
      evidence.className = 'muted'
      evidence.textContent = Object.keys(insight.evidence || {})
        .map((k) => `${k}: ${insight.evidence[k]}`)
        .join(' · ')
      li.append(title, action, evidence)
      ul.appendChild(li)
    }
  }

  function render(doc) {
    // Panels in their own blocks (tasks, …) learn which sources exist from this event.
    document.dispatchEvent(new CustomEvent('hotpath:dashboard', { detail: doc }))
    pollMs = Math.max(500, Number(doc.pollMs) || 2000)
    windowName = doc.window
    const select = $('window')
    if (select.value !== doc.window) select.value = doc.window
    const status = $('status')
    status.dataset.status = doc.status
    status.textContent = doc.status
    $('sign-out').hidden = doc.auth !== 'token'
    $('cache-section').hidden = !doc.sources.cache
    $('compression-section').hidden = !doc.sources.compression
    $('ratelimit-section').hidden = !doc.sources.rateLimit
    $('queries-section').hidden = !doc.sources.profiler
    renderOverview(doc)
    renderCache(doc.cache)
    renderCompression(doc.compression)
    renderRateLimit(doc.rateLimit)
    renderQueries(doc.queries)
    renderInsights(doc.insights || [])
    lineChart('chart-rps', [history.rps], 0, '')
    lineChart('chart-latency', [history.p50, history.p95, history.p99], 0, '')
    lineChart('chart-hit', [history.hit], 100, '%')
    setText('updated', `updated ${new Date(doc.generatedAt).toLocaleTimeString('en-GB')}`)
  }

  function showError(message) {
    const el = $('error')
    el.hidden = message === ''
    el.textContent = message
  }

  async function poll() {
    if (inflight) return
    inflight = true
    try {
      const url = windowName ? `dashboard?window=${encodeURIComponent(windowName)}` : 'dashboard'
      const response = await fetch(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      })
      if (response.status === 401) {
        // The session expired: reloading the page shows the sign-in form.
        window.location.reload()
        return
      }
      if (!response.ok) throw new Error(`the dashboard answered ${response.status}`)
      render(await response.json())
      showError('')
    } catch (err) {
      showError(`Live update failed: ${err?.message ? err.message : String(err)}`)
    } finally {
      inflight = false
      clearTimeout(timer)
      timer = setTimeout(poll, pollMs)
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('window').addEventListener('change', (event) => {
      windowName = event.target.value
      poll()
    })
    poll()
  })
})()

// Background tasks panel: its own poll of `tasks` (relative, so any mount path works); hidden when
// the dashboard has no tasks source (404). Running, queued and failed tasks with progress bars,
// and queue-wait / run-time percentiles per task name. Text only ever goes in through textContent.
;(() => {
  'use strict'

  const $ = (id) => document.getElementById(id)
  const SHOWN = { running: 0, pending: 1, failed: 2, timed_out: 3 }
  const POLL_MS = 2000
  let timer = 0
  let inflight = false

  const ms = (n) => {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
    if (n >= 60_000) return `${Math.round(n / 6000) / 10} min`
    if (n >= 1000) return `${Math.round(n / 100) / 10} s`
    return `${Math.round(n)} ms`
  }

  function cell(tr, text, header) {
    const td = document.createElement(header ? 'th' : 'td')
    if (header) td.scope = 'row'
    td.textContent = String(text)
    tr.appendChild(td)
    return td
  }

  function emptyRow(body, columns, text) {
    const tr = document.createElement('tr')
    const td = cell(tr, text)
    td.colSpan = columns
    td.className = 'muted'
    body.appendChild(tr)
  }

  async function act(method, url) {
    try {
      await fetch(url, {
        method,
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      })
    } finally {
      poll()
    }
  }

  function actionButton(label, method, path) {
    const button = document.createElement('button')
    button.type = 'button'
    button.textContent = label
    button.addEventListener('click', () => {
      button.disabled = true
      act(method, path)
    })
    return button
  }

  function renderActive(tasks) {
    const body = $('tasks-active').tBodies[0]
    while (body.firstChild) body.removeChild(body.firstChild)
    const shown = tasks
      .filter((t) => t && Object.hasOwn(SHOWN, t.state))
      .sort((a, b) => SHOWN[a.state] - SHOWN[b.state] || b.createdAt - a.createdAt)
      .slice(0, 50)
    if (shown.length === 0) return emptyRow(body, 7, 'No running, queued or failed tasks.')
    for (const t of shown) {
      const tr = document.createElement('tr')
      cell(tr, `${t.name} · ${t.id}`, true)
      cell(tr, t.state === 'pending' ? 'queued' : t.state.replace('_', ' '))
      const bar = document.createElement('progress')
      bar.max = 100
      bar.value = typeof t.progress === 'number' ? t.progress : 0
      bar.textContent = `${Math.round(bar.value)}%`
      const progressCell = cell(tr, '')
      progressCell.appendChild(bar)
      progressCell.appendChild(document.createTextNode(` ${Math.round(bar.value)}%`))
      cell(tr, t.error ? `${t.error.code}: ${t.error.message}` : t.message || '')
      cell(tr, ms(t.queueMs))
      cell(tr, t.durationMs === null && t.startedAt ? ms(Date.now() - t.startedAt) : ms(t.durationMs))
      const actions = cell(tr, '')
      const path = `tasks/${encodeURIComponent(t.id)}`
      if (t.state === 'running' || t.state === 'pending')
        actions.appendChild(actionButton('Cancel', 'DELETE', path))
      else actions.appendChild(actionButton('Retry', 'POST', `${path}/retry`))
      body.appendChild(tr)
    }
  }

  function renderNames(names) {
    const body = $('tasks-names').tBodies[0]
    while (body.firstChild) body.removeChild(body.firstChild)
    if (!Array.isArray(names) || names.length === 0) return emptyRow(body, 8, 'No task has run yet.')
    for (const n of names) {
      const tr = document.createElement('tr')
      cell(tr, n.name, true)
      cell(tr, n.runMs.count)
      cell(tr, n.failed)
      cell(tr, ms(n.queueMs.p50))
      cell(tr, ms(n.queueMs.p95))
      cell(tr, ms(n.runMs.p50))
      cell(tr, ms(n.runMs.p95))
      cell(tr, ms(n.runMs.p99))
      body.appendChild(tr)
    }
  }

  async function poll() {
    if (inflight || !enabled) return
    inflight = true
    clearTimeout(timer)
    try {
      const url = 'tasks?limit=200'
      const response = await fetch(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      })
      if (!enabled) return
      if (!response.ok) throw new Error(`tasks answered ${response.status}`)
      const doc = await response.json()
      $('tasks-section').hidden = false
      const c = doc.stats?.counts || {}
      $('tasks-counts').textContent =
        `${c.running ?? 0} running · ${c.pending ?? 0} queued · ${c.failed ?? 0} failed · ` +
        `${c.timed_out ?? 0} timed out · ${c.completed ?? 0} completed (${doc.stats ? doc.stats.engine : '?'} engine)`
      renderActive(Array.isArray(doc.tasks) ? doc.tasks : [])
      renderNames(doc.stats?.names)
      timer = setTimeout(poll, POLL_MS)
    } catch {
      timer = setTimeout(poll, POLL_MS * 2)
    } finally {
      inflight = false
    }
  }

  // The main poll says whether the dashboard has a tasks source; without one this panel stays
  // hidden and never asks (a 404 would be noise in the console).
  let enabled = false
  document.addEventListener('hotpath:dashboard', (event) => {
    const has = Boolean(event.detail?.sources?.tasks) && $('tasks-section') !== null
    if (has === enabled) return
    enabled = has
    if (has) poll()
    else {
      clearTimeout(timer)
      $('tasks-section').hidden = true
    }
  })
})()

// Data cache panel: its own poll of `cache/data` (relative, so any mount path works); hidden
// without a dataCache source. Tiers, miss reasons, bus and Redis health, and one row per
// namespace with its factory percentiles. Text only ever goes in through textContent.
;(() => {
  'use strict'

  const $ = (id) => document.getElementById(id)
  const POLL_MS = 2000
  let timer = 0
  let inflight = false
  let enabled = false

  const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en') : '–')
  const pct = (n) => (typeof n === 'number' && Number.isFinite(n) ? `${Math.round(n * 1000) / 10}%` : '–')
  const ms = (n) => {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
    if (n >= 60_000) return `${Math.round(n / 6000) / 10} min`
    if (n >= 1000) return `${Math.round(n / 100) / 10} s`
    return `${Math.round(n * 10) / 10} ms`
  }

  function cell(tr, text, header) {
    const td = document.createElement(header ? 'th' : 'td')
    if (header) td.scope = 'row'
    td.textContent = String(text)
    tr.appendChild(td)
  }

  function render(doc) {
    const s = doc.dataCache || {}
    const misses = s.misses || {}
    const missText = Object.keys(misses)
      .filter((reason) => misses[reason] > 0)
      .map((reason) => `${reason} ${num(misses[reason])}`)
      .join(', ')
    const bus = s.bus
      ? s.bus.enabled
        ? s.bus.connected
          ? 'bus connected'
          : 'bus DISCONNECTED'
        : 'no bus'
      : ''
    const l2 = s.l2
      ? s.l2.kind === 'none'
        ? 'memory only'
        : `Redis ${s.l2.circuit}, ${num(s.l2.errors)} errors`
      : ''
    $('data-cache-summary').textContent =
      `hit ratio ${pct(s.hitRatio)} · L1 ${num(s.hits?.l1)} · L2 ${num(s.hits?.l2)} · misses: ${missText || 'none'} · ` +
      `stale served ${num(s.staleServed)} · ${num(s.entries)} entries, ${num(s.bytes)} of ${num(s.maxBytes)} bytes · ${l2} · ${bus}`
    const body = $('data-cache-namespaces').tBodies[0]
    while (body.firstChild) body.removeChild(body.firstChild)
    const names = Object.keys(s.namespaces || {})
    if (names.length === 0) {
      const tr = document.createElement('tr')
      cell(tr, 'No lookups yet.')
      body.appendChild(tr)
    }
    for (const name of names) {
      const n = s.namespaces[name]
      const tr = document.createElement('tr')
      cell(tr, name, true)
      cell(tr, num(n.hits))
      cell(tr, num(n.misses))
      cell(tr, pct(n.hitRatio))
      cell(tr, num(n.factoryRuns))
      cell(tr, num(n.factoryErrors))
      cell(tr, ms(n.factoryP50))
      cell(tr, ms(n.factoryP95))
      cell(tr, ms(n.ttlMs))
      body.appendChild(tr)
    }
    const list = $('data-cache-insights')
    while (list.firstChild) list.removeChild(list.firstChild)
    for (const insight of Array.isArray(doc.insights) ? doc.insights : []) {
      const li = document.createElement('li')
      li.textContent = `${insight.title} — ${insight.action}`
      list.appendChild(li)
    }
  }

  async function poll() {
    if (inflight || !enabled) return
    inflight = true
    clearTimeout(timer)
    try {
      const url = 'cache/data'
      const response = await fetch(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      })
      if (!enabled) return
      if (!response.ok) throw new Error(`cache/data answered ${response.status}`)
      render(await response.json())
      $('data-cache-section').hidden = false
      timer = setTimeout(poll, POLL_MS)
    } catch {
      timer = setTimeout(poll, POLL_MS * 2)
    } finally {
      inflight = false
    }
  }

  document.addEventListener('hotpath:dashboard', (event) => {
    const has = Boolean(event.detail?.sources?.dataCache) && $('data-cache-section') !== null
    if (has === enabled) return
    enabled = has
    if (has) poll()
    else {
      clearTimeout(timer)
      $('data-cache-section').hidden = true
    }
  })
})()

// Overload panel: drawn from the `overload` field of each /dashboard document (no poll of its
// own); hidden without an overload source. Admitted and refused requests by reason, the
// adaptive limit against in-flight requests, queue delay, minRTT, the event loop, and one row
// per circuit breaker. Text only ever goes in through textContent.
;(() => {
  'use strict'

  const $ = (id) => document.getElementById(id)
  const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en') : '–')
  const pct = (n) => (typeof n === 'number' && Number.isFinite(n) ? `${Math.round(n * 1000) / 10}%` : '–')
  const ms = (n) => (typeof n === 'number' && Number.isFinite(n) ? `${Math.round(n * 10) / 10} ms` : '–')

  function setText(id, text) {
    const el = $(id)
    if (el && el.textContent !== text) el.textContent = text
  }

  function fill(id, rows, empty) {
    const table = $(id)
    if (!table) return
    const body = table.tBodies[0]
    while (body.firstChild) body.removeChild(body.firstChild)
    if (rows.length === 0) {
      const tr = document.createElement('tr')
      const td = document.createElement('td')
      td.colSpan = table.tHead.rows[0].cells.length
      td.className = 'muted'
      td.textContent = empty
      tr.appendChild(td)
      body.appendChild(tr)
      return
    }
    for (const row of rows) {
      const tr = document.createElement('tr')
      row.forEach((value, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td')
        if (i === 0) td.scope = 'row'
        td.textContent = String(value)
        tr.appendChild(td)
      })
      body.appendChild(tr)
    }
  }

  function render(o) {
    const r = o.refused || {}
    const refused = (r['queue-timeout'] || 0) + (r['queue-full'] || 0) + (r['event-loop'] || 0)
    setText('overload-admitted', num(o.admitted))
    setText('overload-refused', num(refused))
    setText('overload-limit', o.limit === null ? 'off' : `${num(o.inFlight)} / ${num(o.limit)}`)
    setText('overload-queue', `${ms(o.queueDelayMs?.p50)} · ${ms(o.queueDelayMs?.p99)}`)
    setText('overload-minrtt', ms(o.minRttMs))
    const loop = o.eventLoop
    setText(
      'overload-summary',
      [
        `queued ${num(o.queued)}${o.congested ? ' (congested: LIFO)' : ''}`,
        `refused: queue timeout ${num(r['queue-timeout'])}, queue full ${num(r['queue-full'])}, event loop ${num(r['event-loop'])}`,
        loop
          ? `event loop ${pct(loop.utilization)} busy, delay ${ms(loop.delayMs)}, refusing ${pct(loop.refusalProbability)}`
          : 'event-loop guard off',
      ].join(' · '),
    )
    const priorities = o.priorities || {}
    fill(
      'overload-priorities',
      Object.keys(priorities).map((p) => [p, num(priorities[p].admitted), num(priorities[p].refused)]),
      'No requests yet.',
    )
    fill(
      'overload-breakers',
      (o.breakers || []).map((b) => [
        b.name,
        b.state,
        num(b.calls),
        pct(b.failureRate),
        pct(b.slowRate),
        num(b.timeouts),
        num(b.rejected),
        `${ms(b.latencyMs?.p50)} · ${ms(b.latencyMs?.p99)}`,
      ]),
      'No circuit breakers.',
    )
  }

  document.addEventListener('hotpath:dashboard', (event) => {
    const section = $('overload-section')
    if (!section) return
    const doc = event.detail || {}
    const has = Boolean(doc.sources?.overload) && doc.overload != null
    section.hidden = !has
    if (has) render(doc.overload)
  })
})()

// Partial responses panel: its own poll of `json/stats` (relative, so any mount path works);
// hidden while it answers `json: null` (no json source). Bytes saved by `?fields=` masking per route,
// beside the bytes compression saved on the same route. Text only ever goes in through textContent.
;(() => {
  'use strict'

  const $ = (id) => document.getElementById(id)
  const POLL_MS = 2000
  let timer = 0
  let inflight = false
  let started = false

  const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en') : '–')
  const bytes = (n) => {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
    const units = ['B', 'KB', 'MB', 'GB', 'TB']
    let i = 0
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024
      i++
    }
    return `${i === 0 ? n : Math.round(n * 10) / 10} ${units[i]}`
  }

  function cell(tr, text, header) {
    const td = document.createElement(header ? 'th' : 'td')
    if (header) td.scope = 'row'
    td.textContent = String(text)
    tr.appendChild(td)
  }

  function render(doc) {
    const s = doc.json || {}
    const t = s.totals || {}
    const rejected = s.rejected || {}
    const bad = Object.keys(rejected).reduce((sum, code) => sum + (Number(rejected[code]) || 0), 0)
    const ser = s.serializers || {}
    $('json-summary').textContent =
      `${num(t.masked)} masked responses · ${bytes(t.bytesSaved)} saved by masking · ${num(bad)} bad masks answered 400 · ` +
      `${num(t.streams)} streams (${num(t.streamedItems)} items, ${num(t.streamErrors)} cut by errors, ${num(t.streamsAborted)} abandoned) · ` +
      `${num(ser.masks)} compiled masks held`
    const body = $('json-routes').tBodies[0]
    while (body.firstChild) body.removeChild(body.firstChild)
    const rows = Array.isArray(doc.savings) ? doc.savings : []
    if (rows.length === 0) {
      const tr = document.createElement('tr')
      cell(tr, 'No shaped responses yet.')
      body.appendChild(tr)
    }
    for (const r of rows) {
      const tr = document.createElement('tr')
      cell(tr, r.route, true)
      cell(tr, num(r.masked))
      cell(tr, bytes(r.bytesOut))
      cell(tr, bytes(r.savedByMasking))
      cell(tr, bytes(r.savedByCompression))
      cell(tr, num(r.streams))
      cell(tr, num(r.streamErrors))
      body.appendChild(tr)
    }
  }

  async function poll() {
    if (inflight) return
    inflight = true
    clearTimeout(timer)
    try {
      const response = await fetch('json/stats', {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      })
      if (!response.ok) throw new Error(`json/stats answered ${response.status}`)
      const doc = await response.json()
      if (!doc.json) {
        // No json source on this dashboard: the panel stays hidden and polling stops.
        $('json-section').hidden = true
        return
      }
      render(doc)
      $('json-section').hidden = false
      timer = setTimeout(poll, POLL_MS)
    } catch {
      timer = setTimeout(poll, POLL_MS * 2)
    } finally {
      inflight = false
    }
  }

  // Starts with the main poll's first answer (so the page is signed in), then runs on its own.
  document.addEventListener('hotpath:dashboard', () => {
    if (started || $('json-section') === null) return
    started = true
    poll()
  })
})()

// The runtime panel: event-loop delay, CPU and memory from the profiler's overview (sampled by
// its own timer), shown from each main poll's document. Text only goes in through textContent.
;(() => {
  'use strict'

  const $ = (id) => document.getElementById(id)
  const finite = (n) => typeof n === 'number' && Number.isFinite(n)
  const ms = (n) => (finite(n) ? `${Math.round(n * 10) / 10} ms` : '–')
  const pct = (n) => (finite(n) ? `${Math.round(n * 1000) / 10}%` : '–')
  const mb = (n) => (finite(n) ? `${Math.round((n / 1048576) * 10) / 10} MB` : '–')
  const sec = (n) => (finite(n) ? `${Math.round(n / 100) / 10} s` : '–')

  function setText(id, text) {
    const el = $(id)
    if (el && el.textContent !== text) el.textContent = text
  }

  document.addEventListener('hotpath:dashboard', (event) => {
    const section = $('runtime-section')
    if (section === null) return
    const overview = event.detail?.overview
    section.hidden = !overview
    if (!overview) return
    const loop = overview.eventLoop || {}
    const cpu = overview.cpu
    const memory = overview.memory || {}
    setText('runtime-loop', `${ms(loop.p50)} · ${ms(loop.p99)} · ${ms(loop.max)}`)
    setText('runtime-cpu', cpu ? pct(cpu.utilization) : 'not collected')
    setText('runtime-cpu-total', cpu ? `user ${sec(cpu.userMs)} · system ${sec(cpu.systemMs)}` : '–')
    setText('runtime-rss', mb(memory.rss))
    setText('runtime-heap', `${mb(memory.heapUsed)} of ${mb(memory.heapTotal)}`)
    setText('runtime-external', mb(memory.external))
  })
})()
