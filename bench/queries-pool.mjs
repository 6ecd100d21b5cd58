// CPU per request of the profiler's pg instrumentation on the real path, in one process:
//   node bench/queries-pool.mjs [requests per round] [rounds]   (after `npm run build`)
// A request (the profiler middleware on real node:http objects) runs the `queries` scenario's
// 10 primary-key reads through a real `pg.Pool` of 4 on a PostgreSQL of its own (a throw-away
// data directory on a free loopback port), 8 requests at a time. Rounds rotate between three
// modes of the same process: not instrumented, an AsyncLocalStorage entered per request and
// nothing instrumented (what tying a query to its request costs on this Node), and
// instrumented. Each rotation gives both differences to the uninstrumented round; the medians
// are printed. Unlike `queries-inproc.mjs` (a fake client whose reply comes on the next tick),
// this sees the pool's path and every socket write and tick that an active AsyncLocalStorage
// hooks; unlike the `queries` scenario, no HTTP server or load generator shares the CPU.
import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import net from 'node:net'
import { profiledRequest, startOrdersDatabase } from './queries-setup.mjs'

const require = createRequire(import.meta.url)
const { hasPostgres } = require('../test/helpers/postgres-server.js')
const { profiler } = require('../packages/profiler/dist/index.js')
const pg = require('pg')

const QUERIES = 10
const CONCURRENCY = 8
const REQUESTS = Number(process.argv[2] ?? 800)
const ROUNDS = Number(process.argv[3] ?? 9)

if (!hasPostgres()) {
  console.log('queries-pool: SKIPPED — PostgreSQL is not installed (apt-get install postgresql).')
  process.exit(0)
}

const connection = await startOrdersDatabase()

const prof = profiler({ registry: false, eventLoop: false })
const pool = new pg.Pool({ ...connection, max: 4 })
const socket = new net.Socket()
let mode = 'off'
let als = new AsyncLocalStorage()

async function queries() {
  for (let id = 1; id <= QUERIES; id++) {
    await pool.query('SELECT id, customer_id, total FROM bench_orders WHERE id = $1', [id])
  }
}

const request = () =>
  profiledRequest(prof, socket, (req) => (mode === 'als' ? als.run(req, queries) : queries()))

/** CPU µs per request of one round of `REQUESTS` requests. */
async function round() {
  const start = process.cpuUsage()
  let started = 0
  const worker = async () => {
    while (started++ < REQUESTS) await request()
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const used = process.cpuUsage(start)
  return (used.user + used.system) / REQUESTS
}

function setMode(next) {
  if (mode === 'on') prof.uninstrument()
  if (mode === 'als') {
    // A fresh storage per 'als' round: a disabled one is not entered again.
    als.disable()
    als = new AsyncLocalStorage()
  }
  mode = next
  if (mode === 'on') prof.instrument({ pg })
}

const MODES = ['off', 'als', 'on']
for (let i = 0; i < 2; i++) {
  for (const m of MODES) {
    setMode(m)
    await round()
  }
}
const off = []
const alsOnly = []
const instrumented = []
for (let r = 0; r < ROUNDS; r++) {
  const got = {}
  for (let i = 0; i < MODES.length; i++) {
    const m = MODES[(r + i) % MODES.length]
    setMode(m)
    got[m] = await round()
  }
  off.push(got.off)
  alsOnly.push(got.als - got.off)
  instrumented.push(got.on - got.off)
}
setMode('off')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log(
  `not instrumented: ${median(off).toFixed(1)} µs CPU per request of ${QUERIES} queries (median of ${ROUNDS})`,
)
console.log(`AsyncLocalStorage only: +${median(alsOnly).toFixed(1)} µs per request`)
console.log(
  `instrumented: +${median(instrumented).toFixed(1)} µs per request (+${(median(instrumented) / QUERIES).toFixed(2)} µs per query)`,
)
prof.close()
await pool.end()
process.exit(0)
