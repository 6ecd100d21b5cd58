// Micro-benchmark of the profiler's per-request recording step (what runs when a response ends):
// route lookup, histogram record, outcome counters, slow-request check. Prints ns/op.
//   node bench/profiler-record.mjs            (after `npx tsc -b packages/core packages/profiler`)
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { profiler } = require('../packages/profiler/dist/index.js')
const { RECORD, RequestState } = require('../packages/profiler/dist/timing.js')

const N = Number(process.argv[2] ?? 2_000_000)
const ROUNDS = 5

function fixture(kind) {
  const route = { path: '/api/products/:id', stack: [] }
  const res = { statusCode: 200, headersSent: true, writableFinished: true, getHeader: () => undefined }
  const req = (i) =>
    kind === 'matched'
      ? { method: 'GET', baseUrl: '', route, url: `/api/products/${i}` }
      : { method: 'GET', baseUrl: '', url: `/nope/${i}` }
  return { req, res }
}

function run(kind, registry) {
  const prof = profiler({ registry, eventLoop: false })
  const record = prof[RECORD]
  const { req, res } = fixture(kind)
  const reqs = Array.from({ length: 1024 }, (_, i) => req(i))
  const results = []
  for (let round = 0; round < ROUNDS; round++) {
    // Durations vary over 0.1–2 ms so the histogram sees many buckets.
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
    results.push(Number(process.hrtime.bigint() - t0) / N)
  }
  prof.close()
  results.sort((a, b) => a - b)
  return results[Math.floor(ROUNDS / 2)]
}

const rows = [
  ['matched route, metrics on', run('matched', undefined)],
  ['matched route, registry: false', run('matched', false)],
  ['unmatched URL, metrics on', run('unmatched', undefined)],
]
console.log(`| profiler record step (${N} ops × ${ROUNDS} rounds, median) | ns/op | budget 2000 ns |`)
console.log('|---|---:|---|')
for (const [label, ns] of rows) console.log(`| ${label} | ${ns.toFixed(0)} | ${ns <= 2000 ? 'ok' : 'MISS'} |`)
