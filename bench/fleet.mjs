// The fleet's costs (`node bench/fleet.mjs` after a build; `BENCH_QUICK=1` for a smoke run):
//   encoded size  bytes of one route's published histogram, for latency spread over 1–3 decades
//   merge         mergeView of 100 routes × 16 instances (decode, sum, percentiles, outliers),
//                 median of the rounds against the 50 ms budget
// Results: bench/results/fleet.md and bench/results/fleet.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const here = fileURLToPath(new URL('.', import.meta.url))
const { encodePairs } = require('../packages/fleet/dist/codec.js')
const { DecodeCache, mergeView } = require('../packages/fleet/dist/view.js')
const { Float64Histogram } = require('hdr-histogram-js')
const quick = process.env.BENCH_QUICK === '1'
const ROUNDS = quick ? 3 : 21

const layout = new Float64Histogram(1, 3_600_000_000, 3)
function pairsFor(samples) {
  const counts = new Map()
  for (const us of samples) {
    const i = layout.countsArrayIndex(us)
    counts.set(i, (counts.get(i) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => a[0] - b[0]).flat()
}
function lognormal(medianUs, spread, n, seed) {
  let s = seed
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return (s + 1) / 2147483649
  }
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd())
    return Math.max(1, Math.round(medianUs * Math.exp(spread * z)))
  })
}

const sizes = []
for (const requests of [2000, 20_000]) {
  for (const [spreadLabel, spread] of [
    ['1 decade', 0.5],
    ['2 decades', 1],
    ['3 decades', 1.5],
  ]) {
    const encoded = encodePairs(pairsFor(lognormal(5000, spread, requests, 7)))
    sizes.push({
      label: `${requests.toLocaleString('en')} requests, ${spreadLabel}`,
      bytes: Buffer.byteLength(encoded),
    })
  }
}

const ids = Array.from({ length: 16 }, (_, i) => `host-${i}:${1000 + i}`)
const at = Date.now()
const snapshots = ids.map((id, i) => ({
  v: 1,
  id,
  at,
  intervalMs: 10_000,
  version: '1.0.0',
  runtime: { uptimeSeconds: 100, cpu: 0.5, rss: 1e8, heapUsed: 5e7, heapTotal: 6e7, eventLoopP99: 2 },
  routes: Array.from({ length: 100 }, (_, r) => ({
    r: `GET /api/route-${r}`,
    s: 60,
    c: 2000,
    e: 3,
    sum: 2000 * 5,
    max: 900,
    hi: 3_600_000_000,
    d: 3,
    h: encodePairs(pairsFor(lognormal(3000 + r * 50, 1, 2000, i * 1000 + r + 1))),
    p95: ((3000 + r * 50) * 5.2) / 1000,
  })),
  statusRps: { '2xx': 100 },
  own: { rps: 3333, p95: 9.5, errorRate: 0.0015 },
  sources: { cache: { hits: 10, misses: 5 } },
}))
// Cold: every snapshot inflated and decoded (a view right after every instance published);
// warm: the snapshots decoded at an earlier read (each snapshot is decoded once per interval,
// while the page polls every 2 s: most reads are warm).
const cold = []
const warm = []
for (let round = 0; round < ROUNDS; round++) {
  const cache = new DecodeCache()
  let t0 = process.hrtime.bigint()
  mergeView('shop', ids[0], at, ids, snapshots, cache)
  cold.push(Number(process.hrtime.bigint() - t0) / 1e6)
  t0 = process.hrtime.bigint()
  mergeView('shop', ids[0], at, ids, snapshots, cache)
  warm.push(Number(process.hrtime.bigint() - t0) / 1e6)
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`
const lines = [
  '# fleet',
  '',
  '| encoded histogram of one route (1-minute window) | bytes | budget |',
  '|---|---:|---|',
  ...sizes.map((s) => `| ${s.label} | ${s.bytes} | ≤ 2048 ${s.bytes <= 2048 ? 'ok' : 'MISS'} |`),
  '',
  '| merge | median ms | min–max | budget |',
  '|---|---:|---|---|',
  `| 100 routes × 16 instances, cold (decode + merge) | ${med(cold).toFixed(1)} | ${range(cold)} | ≤ 50 ${med(cold) <= 50 ? 'ok' : 'MISS'} |`,
  `| 100 routes × 16 instances, warm (merge) | ${med(warm).toFixed(1)} | ${range(warm)} | ≤ 50 ${med(warm) <= 50 ? 'ok' : 'MISS'} |`,
  '',
]
console.log(lines.join('\n'))
if (!quick) {
  mkdirSync(`${here}results`, { recursive: true })
  writeFileSync(`${here}results/fleet.md`, lines.join('\n'))
  writeFileSync(`${here}results/fleet.json`, JSON.stringify({ sizes, coldMs: cold, warmMs: warm }, null, 2))
}
