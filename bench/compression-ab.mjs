// In-process A/B of @hotpath/compression against the `compression` package, over loopback:
//
//   node bench/compression-ab.mjs [--encoding br] [--path /json100k] [--rounds 9]
//     [--requests 150] [--threads] [--hotpath path/to/another/build/index.js]
//
// (after `npm run build`). Three Express apps serve bench/payload.mjs as in
// servers/compression.mjs: hotpath, compression, and a second compression instance as an A/A
// control. They listen on 127.0.0.1 in this process and take sequential keep-alive requests in
// turn, so a busy machine's drift lands on every side alike. Each response is charged the process
// CPU time (user + system: zlib's thread pool and the client side included, the same bytes for
// every side) from its request to the turn of the event loop after its last byte. A round's
// figure for a side is the median of its responses; the table shows the median over rounds and
// the median of the per-round ratios. `--threads` (Linux) also splits each response's CPU time
// into the main thread and the other threads (zlib's pool, GC helpers) from
// /proc/self/task/*/schedstat. The defaults take about 15 s for 100 KB br on a 2-core machine.
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import zlib from 'node:zlib'
import compressionPackage from 'compression'
import { json1k, json100k } from './payload.mjs'
import { payloadApp, THRESHOLD } from './servers/compression.mjs'

const { values: args } = parseArgs({
  options: {
    encoding: { type: 'string', default: 'br' },
    path: { type: 'string', default: '/json100k' },
    rounds: { type: 'string', default: '9' },
    requests: { type: 'string', default: '150' },
    threads: { type: 'boolean', default: false },
    hotpath: { type: 'string', default: '@hotpath/compression' },
  },
})
const rounds = Number(args.rounds)
const requests = Number(args.requests)
const { compression } = await import(
  args.hotpath.startsWith('@') ? args.hotpath : pathToFileURL(path.resolve(args.hotpath)).href
)
const bodies = { '/json': json1k, '/json100k': json100k }
if (!(args.path in bodies)) throw new Error(`--path must be one of ${Object.keys(bodies).join(', ')}`)

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

function get(side, collect) {
  return new Promise((resolve, reject) => {
    const options = {
      agent: side.agent,
      host: '127.0.0.1',
      port: side.port,
      path: args.path,
      headers: { 'accept-encoding': args.encoding },
    }
    const req = http.get(options, (res) => {
      const chunks = []
      res.on('data', (chunk) => {
        if (collect) chunks.push(chunk)
      })
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          coding: res.headers['content-encoding'] ?? 'identity',
          body: Buffer.concat(chunks),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

function decode(coding, body) {
  if (coding === 'br') return zlib.brotliDecompressSync(body)
  if (coding === 'gzip') return zlib.gunzipSync(body)
  if (coding === 'deflate') return zlib.inflateSync(body)
  return body
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** CPU time so far of this process's main thread and of its other threads, in µs. */
function threadTimes() {
  let main = 0
  let other = 0
  for (const task of readdirSync('/proc/self/task')) {
    const ns = Number(readFileSync(`/proc/self/task/${task}/schedstat`, 'latin1').split(' ')[0])
    if (Number(task) === process.pid) main += ns
    else other += ns
  }
  return { main: main / 1000, other: other / 1000 }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** One request, timed: the process CPU time it cost, and its split by thread with --threads. */
async function timed(side) {
  const threadsBefore = args.threads ? threadTimes() : null
  const before = process.cpuUsage()
  await get(side, false)
  await tick()
  const used = process.cpuUsage(before)
  const sample = { cpu: used.user + used.system }
  if (threadsBefore) {
    const after = threadTimes()
    sample.main = after.main - threadsBefore.main
    sample.other = after.other - threadsBefore.other
  }
  return sample
}

const sides = [
  { label: 'compression', mw: compressionPackage({ threshold: THRESHOLD }) },
  { label: 'hotpath', mw: compression({ threshold: THRESHOLD }) },
  { label: 'compression (A/A control)', mw: compressionPackage({ threshold: THRESHOLD }) },
]
const metrics = args.threads ? ['cpu', 'main', 'other'] : ['cpu']
for (const side of sides) {
  side.server = await listen(payloadApp(side.mw))
  side.port = side.server.address().port
  side.agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  side.rounds = Object.fromEntries(metrics.map((m) => [m, []]))
}

try {
  // Every side must send a body that decodes to the route's JSON.
  const expected = JSON.stringify(bodies[args.path])
  for (const side of sides) {
    const r = await get(side, true)
    if (r.status !== 200 || decode(r.coding, r.body).toString() !== expected) {
      throw new Error(`${side.label}: status ${r.status}, the body does not decode to the payload`)
    }
    side.bytes = r.body.length
    side.coding = r.coding
  }
  const warmup = Math.max(30, requests >> 2)
  for (const side of sides) for (let i = 0; i < warmup; i++) await get(side, false)

  const n = sides.length
  for (let round = 0; round < rounds; round++) {
    const samples = sides.map(() => [])
    for (let i = 0; i < requests; i++) {
      for (let k = 0; k < n; k++) {
        // Every side takes every position and follows every other side equally often.
        const index = (i + (i % (2 * n) < n ? k : n - k)) % n
        samples[index].push(await timed(sides[index]))
      }
    }
    for (const [index, side] of sides.entries()) {
      for (const m of metrics) side.rounds[m].push(median(samples[index].map((s) => s[m])))
    }
  }
} finally {
  for (const side of sides) {
    side.agent.destroy()
    side.server.close()
  }
}

const ratio = (side, m) => median(side.rounds[m].map((v, i) => v / sides[0].rounds[m][i]))
console.log(
  `${args.path}, accept-encoding: ${args.encoding}; ${rounds} rounds × ${requests} requests per side; node ${process.version}\n`,
)
const threadColumns = args.threads ? ' main thread µs | other threads µs |' : ''
console.log(
  `| side | coding | bytes | CPU µs/response (median) | min–max of rounds | × compression (paired) |${threadColumns}`,
)
console.log(`|---|---|---|---|---|---|${args.threads ? '---|---|' : ''}`)
for (const side of sides) {
  const cpu = side.rounds.cpu
  const threads = args.threads
    ? ` ${median(side.rounds.main).toFixed(0)} | ${median(side.rounds.other).toFixed(0)} |`
    : ''
  console.log(
    `| ${side.label} | ${side.coding} | ${side.bytes} | ${median(cpu).toFixed(0)} | ${Math.min(...cpu).toFixed(0)}–${Math.max(...cpu).toFixed(0)} | ${ratio(side, 'cpu').toFixed(3)} |${threads}`,
  )
}
