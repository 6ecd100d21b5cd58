// @hotpath/json. `npm run bench -- json` runs the HTTP part below: Express serving a ~1 KB post
// to clients that ask for four of its fields, masked by json-mask, express-partial-response or
// fields() (with and without the post's schema). `node bench/scenarios/json.mjs` (after a build)
// runs the parts a request rate cannot show, and writes bench/results/json-inproc.{md,json}:
//   1. in one process, paired ops/s: the masked post (json-mask + JSON.stringify against
//      fields()'s mask + JSON.stringify and its compiled, projected schema), and a 10^4-item
//      array through its compiled schema against JSON.stringify;
//   2. res.stream of a real SQLite cursor against res.json of the same rows, each in a fresh
//      server process: time to first byte, peak RSS growth (getrusage maxrss) at 10^5, 3×10^5 and
//      10^6 rows (each server first warmed by reading the whole table once, see MODES), and
//      throughput (rows/s); beside them a fresh process's first stream and cursor read.
// BENCH_QUICK=1 makes every part short (a smoke test, not a measurement).
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MASK } from '../servers/json.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.env.BENCH_QUICK === '1'

export default {
  title: 'json: a ~1 KB post masked to four fields (json-mask, express-partial-response, fields())',
  servers: {
    'json-mask': ['json.mjs', { impl: 'json-mask' }],
    'express-partial-response': ['json.mjs', { impl: 'express-partial-response' }],
    hotpath: ['json.mjs', { impl: 'hotpath' }],
    'hotpath+schema': ['json.mjs', { impl: 'hotpath-schema' }],
    'unmasked res.json': ['json.mjs', { impl: 'none' }],
  },
  baseline: 'json-mask',
  request: { path: `/post?fields=${encodeURIComponent(MASK)}` },
  budgets: [
    { server: 'hotpath', vs: 'json-mask', min: 1.0 },
    { server: 'hotpath+schema', vs: 'json-mask', min: 1.0 },
  ],
}

// ---- 1. serialization, in one process, paired ----------------------------------------------

/** Ops/s of `fn` over `ms`, checking the clock every `batch` calls. */
function rate(fn, ms, batch) {
  let n = 0
  let sink
  const start = performance.now()
  const end = start + ms
  let now = start
  while (now < end) {
    for (let i = 0; i < batch; i++) sink = fn()
    n += batch
    now = performance.now()
  }
  if (sink === undefined) throw new Error('nothing serialized')
  return n / ((now - start) / 1000)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Rounds of A then B (order turned each round); the ratio B/A of each round, and the medians. */
function paired(a, b, { rounds, ms, batch }) {
  for (let i = 0; i < 3; i++) {
    rate(a.fn, 50, batch)
    rate(b.fn, 50, batch)
  }
  const ratios = []
  const ra = []
  const rb = []
  for (let r = 0; r < rounds; r++) {
    const first = r % 2 === 0
    const x = first ? rate(a.fn, ms, batch) : 0
    const y = rate(b.fn, ms, batch)
    const xa = first ? x : rate(a.fn, ms, batch)
    ra.push(xa)
    rb.push(y)
    ratios.push(y / xa)
  }
  return {
    a: median(ra),
    b: median(rb),
    ratio: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
  }
}

async function serialization() {
  const { parseFields, serializer } = await import('@hotpath/json')
  const jsonMask = (await import('json-mask')).default
  const { post, postSchema, list, listSchema } = await import('../servers/json.mjs')
  const mask = parseFields(MASK)
  const compiled = serializer(postSchema, MASK)
  const whole = serializer(listSchema)
  // The same bytes or the comparison means nothing.
  const expected = JSON.stringify(jsonMask(post, MASK))
  if (JSON.stringify(mask.apply(post)) !== expected) throw new Error('fields() mask differs from json-mask')
  if (JSON.stringify(JSON.parse(compiled(post))) !== JSON.stringify(JSON.parse(expected)))
    throw new Error('compiled mask differs from json-mask')
  if (whole(list) !== JSON.stringify(list)) throw new Error('compiled list differs from JSON.stringify')

  const small = { rounds: quick ? 3 : 15, ms: quick ? 100 : 400, batch: 64 }
  const big = { rounds: quick ? 3 : 15, ms: quick ? 200 : 800, batch: 1 }
  // Every side's string is read once (charCodeAt flattens a rope): a serializer that returned a
  // rope of pieces would otherwise leave its joining cost to the socket write, outside the count.
  const flat = (s) => (s.charCodeAt(s.length >> 1) >= 0 ? s : s)
  const peer = { fn: () => flat(JSON.stringify(jsonMask(post, MASK))) }
  return [
    {
      name: 'masked 1 KB post: fields() mask + JSON.stringify',
      vs: 'json-mask + JSON.stringify',
      budget: 1.5,
      ...paired(peer, { fn: () => flat(JSON.stringify(mask.apply(post))) }, small),
    },
    {
      name: 'masked 1 KB post: fields() compiled projected schema',
      vs: 'json-mask + JSON.stringify',
      budget: 1.5,
      ...paired(peer, { fn: () => flat(compiled(post)) }, small),
    },
    {
      name: '10^4-item array: compiled schema',
      vs: 'JSON.stringify',
      budget: 1.0,
      ...paired({ fn: () => flat(JSON.stringify(list)) }, { fn: () => flat(whole(list)) }, big),
    },
  ]
}

// ---- 2. res.stream of a SQLite cursor against res.json -------------------------------------

function startServer(options) {
  return new Promise((resolve, reject) => {
    const child = fork(
      join(here, '..', 'server-process.mjs'),
      [join(here, '..', 'servers', 'json-stream.mjs'), JSON.stringify(options)],
      { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    )
    child.on('message', (m) => {
      if (m.type === 'ready') resolve({ child, url: `http://127.0.0.1:${m.port}` })
    })
    child.once('exit', (code) => reject(new Error(`json-stream server exited with ${code}`)))
  })
}

function stopServer(server) {
  return new Promise((resolve) => {
    server.child.removeAllListeners('exit')
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 3000)
    server.child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    server.child.send({ type: 'stop' })
  })
}

/** One GET on a fresh connection: time to first byte, total time, bytes. */
function timed(url) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    let ttfb = 0
    let bytes = 0
    http
      .get(url, { agent: false }, (res) => {
        res.on('data', (chunk) => {
          if (bytes === 0) ttfb = performance.now() - t0
          bytes += chunk.length
        })
        res.on('end', () => resolve({ status: res.statusCode, ttfb, total: performance.now() - t0, bytes }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

async function memOf(server, path = '/__mem') {
  const r = await new Promise((resolve, reject) => {
    http
      .get(`${server.url}${path}`, { agent: false }, (res) => {
        let text = ''
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => resolve(JSON.parse(text)))
      })
      .on('error', reject)
  })
  return r
}

// Each mode in a fresh server process. A warmed one has first read the whole table once with
// nothing sent (/drain), as any server that has served traffic has: V8's young generation (up to
// 2 × 16 MB of semi-space, whose pages a fresh process has not touched yet) and SQLite's page
// cache are then in its RSS, and the growth measured is the request's own. The fresh-process
// rows show what that first touch costs: the cursor read alone pays nearly all of it.
const MODES = [
  { path: '/json', mode: 'res.json', warm: true },
  { path: '/stream', mode: 'res.stream', warm: true },
  { path: '/stream', mode: 'res.stream, fresh process', warm: false },
  { path: '/drain', mode: 'cursor read, nothing sent, fresh process', warm: false },
]

/**
 * Row counts up to which res.json is measured beside res.stream, and the TTFB and throughput
 * budgets judged (the are at 10^5 rows): res.json of 10^6 rows needs ~1 GB and proves
 * nothing the smaller counts do not.
 */
const RES_JSON_UP_TO = 300_000

async function streaming() {
  const counts = quick ? [10_000, 30_000] : [100_000, 300_000, 1_000_000]
  const out = []
  for (const rows of counts) {
    const modes = rows > RES_JSON_UP_TO ? MODES.filter((m) => m.path !== '/json') : MODES
    for (const { path, mode, warm } of modes) {
      const server = await startServer({ rows })
      try {
        for (let i = 0; i < 5; i++) await timed(`${server.url}${path}?limit=1000`)
        if (warm) await timed(`${server.url}/drain`)
        const before = await memOf(server)
        const first = await timed(`${server.url}${path}`)
        const after = await memOf(server)
        if (first.status !== 200) throw new Error(`${path} answered ${first.status}`)
        const runs = [first]
        for (let i = 0; i < (quick ? 1 : 4); i++) runs.push(await timed(`${server.url}${path}`))
        const serverFirst = await memOf(server, '/__first')
        // The floor under a TTFB on this host now: res.json of one row from the same server.
        const floor = []
        for (let i = 0; i < 5; i++) floor.push((await timed(`${server.url}/json?limit=1`)).ttfb)
        out.push({
          rows,
          mode,
          ttfbMs: median(runs.map((r) => r.ttfb)),
          serverFirstWriteMs: serverFirst.length > 0 ? median(serverFirst) : undefined,
          floorTtfbMs: median(floor),
          totalMs: median(runs.map((r) => r.total)),
          rowsPerSecond: rows / (median(runs.map((r) => r.total)) / 1000),
          bytes: first.bytes,
          peakRssGrowthMB: Math.max(0, after.maxRss - Math.max(before.maxRss, before.rss)) / 2 ** 20,
        })
      } finally {
        await stopServer(server)
      }
    }
  }
  return out
}

async function main() {
  const micro = await serialization()
  const lines = ['## json (in process): serialization, paired ops/s', '']
  lines.push('| case | vs | ops/s | peer ops/s | ratio (median) | min–max | budget | result |')
  lines.push('|---|---|---|---|---|---|---|---|')
  for (const m of micro) {
    lines.push(
      `| ${m.name} | ${m.vs} | ${Math.round(m.b)} | ${Math.round(m.a)} | ${m.ratio.toFixed(2)}× | ${m.min.toFixed(2)}–${m.max.toFixed(2)} | ≥ ${m.budget}× | ${m.ratio >= m.budget ? 'ok' : 'MISS'} |`,
    )
  }
  const stream = await streaming()
  lines.push('', '## json: res.stream of a better-sqlite3 cursor vs res.json (fresh server process each)', '')
  lines.push(
    '| rows | mode | TTFB ms | server: arrival → first write ms | floor TTFB ms (res.json of 1 row) | total ms | rows/s | body bytes | peak RSS growth MB |',
  )
  lines.push('|---|---|---|---|---|---|---|---|---|')
  for (const s of stream) {
    const first = s.serverFirstWriteMs === undefined ? '–' : s.serverFirstWriteMs.toFixed(2)
    lines.push(
      `| ${s.rows} | ${s.mode} | ${s.ttfbMs.toFixed(2)} | ${first} | ${s.floorTtfbMs.toFixed(2)} | ${s.totalMs.toFixed(1)} | ${Math.round(s.rowsPerSecond)} | ${s.bytes} | ${s.peakRssGrowthMB.toFixed(1)} |`,
    )
  }
  const budgets = []
  for (const rows of new Set(stream.map((s) => s.rows))) {
    const json = stream.find((s) => s.rows === rows && s.mode === 'res.json')
    const str = stream.find((s) => s.rows === rows && s.mode === 'res.stream')
    const fresh = stream.find((s) => s.rows === rows && s.mode === 'res.stream, fresh process')
    const drain = stream.find((s) => s.rows === rows && s.mode.startsWith('cursor read'))
    // Past RES_JSON_UP_TO the time to first byte is shown beside the server's own first write.
    if (rows > RES_JSON_UP_TO)
      budgets.push([
        `${rows} rows: res.stream TTFB (shown, no budget at this count)`,
        `${str.ttfbMs.toFixed(2)} ms (the server's first write ${str.serverFirstWriteMs?.toFixed(2)} ms after arrival)`,
        null,
      ])
    else
      budgets.push([`${rows} rows: res.stream TTFB ≤ 5 ms`, `${str.ttfbMs.toFixed(2)} ms`, str.ttfbMs <= 5])
    const others = [
      json ? `res.json ${json.peakRssGrowthMB.toFixed(1)} MB` : null,
      `in a fresh process ${fresh.peakRssGrowthMB.toFixed(1)} MB, of which the cursor read alone ${drain.peakRssGrowthMB.toFixed(1)} MB`,
    ].filter(Boolean)
    budgets.push([
      `${rows} rows: res.stream peak RSS growth ≤ 20 MB`,
      `${str.peakRssGrowthMB.toFixed(1)} MB (${others.join('; ')})`,
      str.peakRssGrowthMB <= 20,
    ])
    if (rows > RES_JSON_UP_TO) continue
    const ratio = str.rowsPerSecond / json.rowsPerSecond
    budgets.push([
      `${rows} rows: res.stream throughput ≥ 0.8× res.json`,
      `${ratio.toFixed(2)}×`,
      ratio >= 0.8,
    ])
  }
  lines.push('', '| budget | measured | result |', '|---|---|---|')
  for (const [name, value, ok] of budgets)
    lines.push(`| ${name} | ${value} | ${ok === null ? '–' : ok ? 'ok' : 'MISS'} |`)
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')
  lines.push('', `Load average at the end of the run: ${load} (${os.cpus().length} cores, shared).`)
  const text = `${lines.join('\n')}\n${quick ? '\n(BENCH_QUICK=1: a smoke run, not a measurement.)\n' : ''}`
  console.log(text)
  const results = join(here, '..', 'results')
  mkdirSync(results, { recursive: true })
  const suffix = quick ? '.quick' : ''
  writeFileSync(join(results, `json-inproc${suffix}.md`), text)
  writeFileSync(
    join(results, `json-inproc${suffix}.json`),
    `${JSON.stringify({ date: new Date().toISOString(), quick, loadavg: os.loadavg(), micro, stream }, null, 2)}\n`,
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
