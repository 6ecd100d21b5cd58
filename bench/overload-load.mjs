// The overload scenario's load, from its own process; prints one JSON line.
// - `rate` 0: closed loop, autocannon with `connections` (each sends its next request when its
//   last one is answered) — the capacity and warm-up runs.
// - `rate` > 0: open loop at `rate` requests/s, Poisson arrivals from a fixed seed (every server
//   gets the same arrival times), each on a keep-alive socket of a pool of `connections`.
//   Latency is counted from the arrival's scheduled time, so time spent waiting for a socket (or
//   for this process) is in it (no coordinated omission). Offered load means this: arrivals that
//   do not wait for answers. autocannon's `overallRate` is not that: it is a per-connection quota
//   per second, sent back to back from the start of each second (lib/httpClient.js,
//   `reqsMadeThisSecond`), so "3× capacity" arrives as one burst of every connection at once and
//   then silence — a square wave that no admission control can serve within a 100 ms SLO.
// Each answer is counted by status and latency, so that goodput (2xx within the SLO) and the
// p99 of admitted requests come from every response. Only requests sent after the first `skipS`
// seconds (while the sockets open and the server warms up) are counted; the run waits for their
// answers (or their `timeoutS`).
import http from 'node:http'
import autocannon from 'autocannon'

const config = JSON.parse(process.argv[2])
const skipS = config.skipS ?? 0
const timeoutMs = (config.timeoutS ?? 5) * 1000
const ok = []
let refused = 0
let other = 0
let errors = 0

const result = config.rate > 0 ? await openLoop() : await closedLoop()
ok.sort((a, b) => a - b)
const q = (p) => (ok.length === 0 ? 0 : ok[Math.min(ok.length - 1, Math.floor(p * ok.length))])
const withinSlo = ok.filter((ms) => ms <= config.sloMs).length
const seconds = Math.max(0.001, result.seconds)
process.stdout.write(
  JSON.stringify({
    seconds,
    offered: (ok.length + refused + other + errors) / seconds,
    ok: ok.length / seconds,
    goodput: withinSlo / seconds,
    refused: refused / seconds,
    other: other / seconds,
    errors: errors / seconds,
    p50: q(0.5),
    p99: q(0.99),
    requests: ok.length + refused + other,
  }),
)

function count(status, ms) {
  if (status >= 200 && status < 300) ok.push(ms)
  else if (status === 503) refused++
  else other++
}

async function closedLoop() {
  const instance = autocannon({
    url: config.url,
    connections: config.connections,
    duration: config.duration,
    timeout: config.timeoutS ?? 5,
    pipelining: 1,
  })
  const countFrom = performance.now() + skipS * 1000
  instance.on('reqError', () => {
    if (performance.now() >= countFrom) errors++
  })
  instance.on('response', (_client, status, _bytes, ms) => {
    if (performance.now() >= countFrom) count(status, ms)
  })
  const done = await new Promise((resolve, reject) => {
    instance.on('done', resolve)
    instance.on('error', reject)
  })
  return { seconds: done.duration - skipS }
}

/** mulberry32: a small seeded generator, so that the arrival times repeat run to run. */
function seeded(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function openLoop() {
  const url = new URL(config.url)
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: config.connections,
    maxFreeSockets: config.connections,
  })
  const random = seeded(config.seed ?? 1)
  const meanGapMs = 1000 / config.rate
  const start = performance.now()
  const countFrom = start + skipS * 1000
  const stopAt = start + (skipS + config.duration) * 1000
  let next = start
  let outstanding = 0
  let sending = true
  return new Promise((resolve) => {
    const finish = () => {
      if (sending || outstanding > 0) return
      agent.destroy()
      resolve({ seconds: config.duration })
    }
    const fire = (at) => {
      const counted = at >= countFrom
      outstanding++
      let settled = false
      const settle = (status) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        outstanding--
        if (counted) {
          if (status === 0) errors++
          else count(status, performance.now() - at)
        }
        finish()
      }
      const req = http.request(
        { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'GET' },
        (res) => {
          res.on('end', () => settle(res.statusCode ?? 0))
          res.on('error', () => settle(0))
          res.on('close', () => settle(0))
          res.resume()
        },
      )
      const timer = setTimeout(
        () => req.destroy(new Error('timeout')),
        Math.max(1, at + timeoutMs - performance.now()),
      )
      req.on('error', () => settle(0))
      req.end()
    }
    const pump = () => {
      const t = performance.now()
      while (next <= t && next < stopAt) {
        fire(next)
        next += -Math.log(1 - random()) * meanGapMs
      }
      if (next < stopAt) {
        setTimeout(pump, Math.max(0, Math.min(5, next - performance.now())))
      } else {
        sending = false
        finish()
      }
    }
    pump()
  })
}
