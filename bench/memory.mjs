// Memory budgets, each case in its own server process (run with --expose-gc); this process
// is the load generator, so the memory read is the server's alone.
//   response-cache: 100,000 distinct 1 KB JSON URLs into a 16 MB MemoryStore; RSS growth
//     after gc must stay within 1.3 × maxBytes.
//   profiler: 200,000 distinct unmatched URLs; the heap after gc must stay flat between
//     the checkpoints at 0, 100,000 and 200,000 requests.
// Results: bench/results/memory.md and bench/results/memory.json.
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import { productPage } from './payload.mjs'

const MB = 1024 * 1024
const CACHE_MAX_BYTES = 16 * MB
const CACHE_REQUESTS = 100_000
const CACHE_BUDGET = 1.3
const PROFILER_CHECKPOINT = 100_000
const PROFILER_BUDGET_MB = 4
const IN_FLIGHT = 32
const WARMUP_URLS = 200
const WARMUP_REQUESTS = 20_000
const SETTLE_MAX_MS = 40_000

// ---- server side (child process) ----

async function cacheApp() {
  const { MemoryStore, responseCache } = await import('@hotpath/response-cache')
  const { default: express } = await import('express')
  const store = new MemoryStore({ maxBytes: '16mb' })
  const app = express()
  const handler = (req, res) => {
    res.json({ id: req.params.id, ...productPage(8) })
  }
  app.get('/item/:id', responseCache({ store, ttl: '10m' }), handler)
  // The same handler uncached: warms the process up without filling the store.
  app.get('/plain/:id', handler)
  return { app, report: () => ({ store: store.size() }) }
}

async function profilerApp() {
  const { profiler } = await import('@hotpath/profiler')
  const { default: express } = await import('express')
  const prof = profiler({ registry: false })
  const app = express()
  app.use(prof)
  const report = () => {
    const routes = prof.routes('all')
    return { routes: routes.map((r) => [r.route, r.count]) }
  }
  return { app, report, close: () => prof.close() }
}

function memory() {
  globalThis.gc()
  globalThis.gc()
  const m = process.memoryUsage()
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers }
}

const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0

/**
 * Memory once the process is idle: V8's memory reducer shrinks the young generation (grown
 * to tens of MB under any load, cache or not) and compacts the old one a few seconds after
 * the load stops. Both readings of a case are taken this way, so they compare like for like.
 */
async function settled() {
  const busy = memory().rss
  const started = Date.now()
  while (Date.now() - started < SETTLE_MAX_MS && newSpace() > 4 * MB) await sleep(500)
  await sleep(500)
  return { ...memory(), busyRss: busy, settleMs: Date.now() - started, newSpace: newSpace() }
}

async function serve(name) {
  const { app, report, close } = name === 'response-cache' ? await cacheApp() : await profilerApp()
  const server = http.createServer(app)
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }))
  let peakRss = 0
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
  }, 100).unref()
  process.on('message', async (message) => {
    if (message.type === 'measure') process.send({ memory: memory(), ...report() })
    if (message.type === 'settled') {
      const memory = await settled()
      process.send({ memory, peakRss, ...report() })
      peakRss = 0
    }
    if (message.type === 'stop') {
      server.closeAllConnections()
      server.close()
      await close?.()
      process.exit(0)
    }
  })
}

// ---- load side (this process) ----

function get(agent, port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(res.statusCode))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/** Sends `count` requests to `pathOf(i)` with at most IN_FLIGHT at a time; resolves the status counts. */
async function load(port, from, count, pathOf) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  const statuses = {}
  let next = from
  const worker = async () => {
    while (next < from + count) {
      const status = await get(agent, port, pathOf(next++))
      statuses[status] = (statuses[status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  agent.destroy()
  return statuses
}

function startChild(name) {
  const child = fork(fileURLToPath(import.meta.url), ['serve', name], { execArgv: ['--expose-gc'] })
  const waiting = []
  let stopping = false
  child.on('message', (message) => waiting.shift()?.resolve(message))
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.once('exit', (code) => {
    if (stopping) return
    for (const { reject } of waiting.splice(0))
      reject(new Error(`memory.mjs: the ${name} server exited (${code})`))
  })
  const ask = (type) => {
    const answer = next()
    child.send({ type })
    return answer
  }
  return {
    ready: next(),
    measure: () => ask('measure'),
    settled: () => ask('settled'),
    stop: () => {
      stopping = true
      child.send({ type: 'stop' })
      return exited
    },
  }
}

const mb = (bytes) => bytes / MB

async function responseCacheCase() {
  const child = startChild('response-cache')
  const { port } = await child.ready
  await load(port, 0, WARMUP_REQUESTS, (i) => `/plain/${i}`)
  for (let round = 0; round < 3; round++) await load(port, 0, WARMUP_URLS, (i) => `/item/warm-${i}`)
  const before = await child.settled()
  const started = Date.now()
  const statuses = await load(port, 0, CACHE_REQUESTS, (i) => `/item/${i}`)
  const seconds = (Date.now() - started) / 1000
  const after = await child.settled()
  await child.stop()
  const growth = after.memory.rss - before.memory.rss
  const ratio = growth / CACHE_MAX_BYTES
  // Every URL went through the store: it holds or evicted each one.
  const stored = after.store.entries + after.store.evictions === WARMUP_URLS + CACHE_REQUESTS
  const idle = [before, after].every((m) => m.memory.settleMs < SETTLE_MAX_MS)
  return {
    requests: CACHE_REQUESTS,
    statuses,
    seconds,
    maxBytes: CACHE_MAX_BYTES,
    before: before.memory,
    after: after.memory,
    store: after.store,
    peakRss: after.peakRss,
    rssGrowth: growth,
    ratio,
    budget: CACHE_BUDGET,
    stored,
    idle,
    ok: ratio <= CACHE_BUDGET && statuses[200] === CACHE_REQUESTS && stored && idle,
  }
}

async function profilerCase() {
  const child = startChild('profiler')
  const { port } = await child.ready
  const pathOf = (i) => `/no/such/page/${i}?q=${i}`
  await load(port, 0, 1000, (i) => `/warm/${i}`)
  const checkpoints = [await child.measure()]
  const started = Date.now()
  const statuses = {}
  for (let k = 0; k < 2; k++) {
    const counts = await load(port, k * PROFILER_CHECKPOINT, PROFILER_CHECKPOINT, pathOf)
    for (const [status, n] of Object.entries(counts)) statuses[status] = (statuses[status] ?? 0) + n
    checkpoints.push(await child.measure())
  }
  const seconds = (Date.now() - started) / 1000
  await child.stop()
  const heaps = checkpoints.map((c) => c.memory.heapUsed)
  const growths = [heaps[1] - heaps[0], heaps[2] - heaps[1]]
  return {
    requests: 2 * PROFILER_CHECKPOINT,
    statuses,
    seconds,
    heapUsed: heaps,
    rss: checkpoints.map((c) => c.memory.rss),
    heapGrowth: growths,
    routes: checkpoints[2].routes,
    budgetMb: PROFILER_BUDGET_MB,
    ok: growths.every((g) => g < PROFILER_BUDGET_MB * MB) && statuses[404] === 2 * PROFILER_CHECKPOINT,
  }
}

function table(cache, prof) {
  const verdict = (ok) => (ok ? 'ok' : 'MISS')
  const f1 = (n) => n.toFixed(1)
  return [
    '### memory: server RSS / heap after gc, measured in the server process',
    '',
    '| case | requests | store size().bytes | RSS before → after (MB) | RSS growth (MB) | growth ÷ maxBytes | budget | result |',
    '|---|---|---|---|---|---|---|---|',
    `| response-cache, MemoryStore maxBytes 16 MB, distinct 1 KB JSON URLs | ${cache.requests.toLocaleString('en-US')} | ${cache.store.bytes.toLocaleString('en-US')} (${cache.store.entries.toLocaleString('en-US')} entries) | ${f1(mb(cache.before.rss))} → ${f1(mb(cache.after.rss))} | ${f1(mb(cache.rssGrowth))} | ${cache.ratio.toFixed(2)} | ≤ ${cache.budget} | ${verdict(cache.ok)} |`,
    '',
    '| case | requests | heap after gc at 0 / 100k / 200k (MB) | growth 0→100k / 100k→200k (MB) | budget | result |',
    '|---|---|---|---|---|---|',
    `| profiler({ registry: false }), distinct unmatched URLs | ${prof.requests.toLocaleString('en-US')} | ${prof.heapUsed.map((h) => f1(mb(h))).join(' / ')} | ${prof.heapGrowth.map((g) => f1(mb(g))).join(' / ')} | each < ${prof.budgetMb} | ${verdict(prof.ok)} |`,
    '',
    `Load: ${IN_FLIGHT} requests in flight over loopback (keep-alive) from this process; response-cache ${f1(cache.seconds)} s, profiler ${f1(prof.seconds)} s.`,
    `response-cache: ${WARMUP_REQUESTS.toLocaleString('en-US')} warm-up requests to the same handler uncached first; both RSS readings are taken idle after gc, once V8's memory reducer has shrunk the young generation (${f1(cache.before.settleMs / 1000)} s / ${f1(cache.after.settleMs / 1000)} s${cache.idle ? '' : `; not reached within ${SETTLE_MAX_MS / 1000} s`}). Heap used ${f1(mb(cache.before.heapUsed))} → ${f1(mb(cache.after.heapUsed))} MB, array buffers ${f1(mb(cache.before.arrayBuffers))} → ${f1(mb(cache.after.arrayBuffers))} MB; peak RSS under load ${f1(mb(cache.peakRss))} MB; read at once after gc instead (not idle): ${f1(mb(cache.before.busyRss))} → ${f1(mb(cache.after.busyRss))} MB.`,
    '',
  ].join('\n')
}

async function main() {
  const cache = await responseCacheCase()
  const prof = await profilerCase()
  const markdown = table(cache, prof)
  process.stdout.write(markdown)
  const dir = fileURLToPath(new URL('results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}memory.md`, markdown)
  writeFileSync(
    `${dir}memory.json`,
    `${JSON.stringify({ node: process.version, responseCache: cache, profiler: prof }, null, 2)}\n`,
  )
  if (!cache.ok || !prof.ok) process.exitCode = 1
}

if (process.argv[2] === 'serve') await serve(process.argv[3])
else await main()
