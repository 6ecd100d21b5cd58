// The overload scenario's load: autocannon from its own process at a fixed overall rate
// (`rate` 0 = as fast as `connections` allow), counting each answer by status and latency, so
// that goodput (2xx within the SLO) and the p99 of admitted requests come from every response,
// not from autocannon's histogram of all of them. Answers in the first `skipS` seconds (while
// the connections open and the server warms up) are not counted. Prints one JSON line.
import autocannon from 'autocannon'

const config = JSON.parse(process.argv[2])
const ok = []
let refused = 0
let other = 0
const instance = autocannon({
  url: config.url,
  connections: config.connections,
  duration: config.duration,
  overallRate: config.rate > 0 ? config.rate : undefined,
  timeout: config.timeoutS ?? 5,
  pipelining: 1,
})
const skipS = config.skipS ?? 0
const countFrom = performance.now() + skipS * 1000
let errors = 0
instance.on('reqError', () => {
  if (performance.now() >= countFrom) errors++
})
instance.on('response', (_client, status, _bytes, ms) => {
  if (performance.now() < countFrom) return
  if (status >= 200 && status < 300) ok.push(ms)
  else if (status === 503) refused++
  else other++
})
const result = await new Promise((resolve, reject) => {
  instance.on('done', resolve)
  instance.on('error', reject)
})
ok.sort((a, b) => a - b)
const q = (p) => (ok.length === 0 ? 0 : ok[Math.min(ok.length - 1, Math.floor(p * ok.length))])
const withinSlo = ok.filter((ms) => ms <= config.sloMs).length
const seconds = Math.max(0.001, result.duration - skipS)
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
