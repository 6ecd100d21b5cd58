// CPU per query of the profiler's driver instrumentation, in one process, paired:
//   node bench/queries-inproc.mjs        (after `npx tsc -b packages/profiler`)
// A request (the profiler middleware on real node:http objects) runs 10 queries through a pg
// Client whose reply comes on the next tick (no database, so only the profiler's work differs);
// rounds alternate between the pg module not instrumented and instrumented (the same profiler,
// `instrument` / `uninstrument` between rounds), and each pair gives the difference of CPU per
// request / 10. The budget is ≤ 1 µs per query. Ten queries of one shape are an N+1, so every
// request also takes the two call-site stacks and records a finding: the worst case per query.
import { createRequire } from 'node:module'
import net from 'node:net'
import { profiledRequest } from './queries-setup.mjs'

const require = createRequire(import.meta.url)
const { profiler } = require('../packages/profiler/dist/index.js')

const QUERIES = 10
const REQUESTS = Number(process.argv[2] ?? 5000)
const PAIRS = Number(process.argv[3] ?? 15)

class Client {
  query(_text, _values, cb) {
    if (typeof cb === 'function') {
      process.nextTick(cb, null, { rows: [] })
      return undefined
    }
    return new Promise((resolve) => process.nextTick(resolve, { rows: [] }))
  }
}
const pg = { Client }
const client = new Client()
const prof = profiler({ registry: false, eventLoop: false })
const socket = new net.Socket()

const request = () =>
  profiledRequest(prof, socket, async () => {
    for (let id = 1; id <= QUERIES; id++) await client.query('SELECT * FROM items WHERE order_id = $1', [id])
  })

async function round() {
  const start = process.cpuUsage()
  for (let i = 0; i < REQUESTS; i++) await request()
  const used = process.cpuUsage(start)
  return ((used.user + used.system) * 1000) / REQUESTS // ns per request
}

for (let i = 0; i < 2; i++) {
  await round()
  prof.instrument({ pg })
  await round()
  prof.uninstrument()
}
const deltas = []
const offs = []
for (let p = 0; p < PAIRS; p++) {
  const first = p % 2 === 0
  if (!first) prof.instrument({ pg })
  const a = await round()
  if (first) prof.instrument({ pg })
  else prof.uninstrument()
  const b = await round()
  if (first) prof.uninstrument()
  const [off, on] = first ? [a, b] : [b, a]
  offs.push(off)
  deltas.push((on - off) / QUERIES)
}
deltas.sort((x, y) => x - y)
offs.sort((x, y) => x - y)
const mid = (xs) => xs[Math.floor(xs.length / 2)]
console.log(
  `not instrumented: ${(mid(offs) / 1000).toFixed(2)} µs CPU per request of ${QUERIES} queries (median of ${PAIRS})`,
)
console.log(
  `instrumented: +${(mid(deltas) / 1000).toFixed(3)} µs CPU per query (median of ${PAIRS} pairs; quartiles ${(deltas[Math.floor(PAIRS / 4)] / 1000).toFixed(3)}–${(deltas[Math.floor((3 * PAIRS) / 4)] / 1000).toFixed(3)}), budget ≤ 1 µs`,
)
prof.close()
