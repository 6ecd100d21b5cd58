// Micro-benchmarks of the profiler's per-request cost; prints ns/op (median of 5 rounds).
//   node bench/profiler-record.mjs       (after `npx tsc -b packages/core packages/profiler`)
// 1. the recording step alone (what runs when a response ends): route lookup, histogram record,
//    Prometheus bucket, outcome counters, slow-request check — the budget is 2 µs;
// 2. the whole per-request path on real node:http objects: the middleware at entry (clock, state,
//    'close' listener) plus the recording step when 'close' is emitted, minus a no-op middleware.
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'

const require = createRequire(import.meta.url)
const { profiler } = require('../packages/profiler/dist/index.js')
const { RECORD, RequestState } = require('../packages/profiler/dist/timing.js')

const N = Number(process.argv[2] ?? 1_000_000)
const ROUNDS = 5

function median(fn) {
  const results = []
  for (let round = 0; round < ROUNDS; round++) results.push(fn())
  results.sort((a, b) => a - b)
  return results[Math.floor(ROUNDS / 2)]
}

function recordStep(kind, registry) {
  const prof = profiler({ registry, eventLoop: false })
  const record = prof[RECORD]
  const route = { path: '/api/products/:id' }
  const res = { statusCode: 200, headersSent: true, writableFinished: true, getHeader: () => undefined }
  const reqs = Array.from({ length: 1024 }, (_, i) =>
    kind === 'matched'
      ? { method: 'GET', baseUrl: '', route, url: `/api/products/${i}` }
      : { method: 'GET', baseUrl: '', url: `/nope/${i}` },
  )
  const ns = median(() => {
    // Durations spread over 0.1–2 ms so the histogram sees many buckets.
    const states = Array.from(
      { length: 1024 },
      (_, i) => new RequestState(process.hrtime.bigint() - BigInt(100_000 + i * 1900)),
    )
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < N; i++) {
      const s = states[i & 1023]
      s.done = false
      record(reqs[i & 1023], res, s)
    }
    return Number(process.hrtime.bigint() - t0) / N
  })
  prof.close()
  return ns
}

function perRequest(middleware) {
  const socket = new net.Socket()
  const route = { path: '/json' }
  const next = () => {}
  const n = Math.min(N, 200_000)
  return median(() => {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      const req = new http.IncomingMessage(socket)
      req.method = 'GET'
      req.baseUrl = ''
      req.route = route
      const res = new http.ServerResponse(req)
      res.req = req
      middleware(req, res, next)
      res.emit('close')
    }
    return Number(process.hrtime.bigint() - t0) / n
  })
}

const rows = [
  ['record step: matched route, metrics on', recordStep('matched', undefined), 2000],
  ['record step: matched route, registry: false', recordStep('matched', false), 2000],
  ['record step: unmatched URL, metrics on', recordStep('unmatched', undefined), 2000],
]
const floor = perRequest((_req, _res, next) => next())
const prof = profiler({ eventLoop: false })
rows.push(['whole path (entry + close + record) − no-op', perRequest(prof) - floor, 2000])
prof.close()

console.log(`| profiler hot path (${N} ops × ${ROUNDS} rounds, median) | ns/op | budget |`)
console.log('|---|---:|---|')
for (const [label, ns, budget] of rows) {
  console.log(`| ${label} | ${ns.toFixed(0)} | ${ns <= budget ? 'ok' : 'MISS'} (≤ ${budget}) |`)
}
