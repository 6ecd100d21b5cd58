// Drives one server with autocannon from its own process and prints the result as JSON.
import autocannon from 'autocannon'

const config = JSON.parse(process.argv[2])
const result = await autocannon({
  url: config.url,
  method: config.request.method ?? 'GET',
  headers: config.request.headers ?? {},
  body: config.request.body,
  requests: config.request.requests,
  idReplacement: Boolean(config.request.idReplacement),
  connections: config.connections,
  duration: config.duration,
  pipelining: 1,
})
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    byClass: { '2xx': result['2xx'], '3xx': result['3xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
    errors: result.errors + result.timeouts,
    bytes: result.throughput.total,
    seconds: result.duration,
  }),
)
