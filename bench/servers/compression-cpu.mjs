// CPU time per request of the compression servers, measured in process without sockets or a
// load generator: `node bench/servers/compression-cpu.mjs` (after building the packages).
// Each response goes through the real Express app into a discarding socket (bench/driver.mjs);
// the servers alternate round by round and the table keeps each one's best round, so a busy machine
// inflates every row alike. It complements the autocannon scenarios when they are noisy.
import { pathToFileURL } from 'node:url'
import { serveOnce } from '../driver.mjs'
import { middleware, payloadApp } from './compression.mjs'

const once = (handler, path, acceptEncoding) =>
  serveOnce(handler, { path, headers: { 'accept-encoding': acceptEncoding } })

export async function measure(path, acceptEncoding, { rounds = 10, perRound = 2000 } = {}) {
  const servers = {
    'express+noop': payloadApp((_req, _res, next) => next()),
    compression: payloadApp(middleware('compression')),
    hotpath: payloadApp(middleware('hotpath')),
  }
  const best = {}
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? Object.entries(servers).reverse() : Object.entries(servers)
    for (const [label, handler] of order) {
      for (let i = 0; i < perRound / 10; i++) await once(handler, path, acceptEncoding)
      const before = process.cpuUsage()
      for (let i = 0; i < perRound; i++) await once(handler, path, acceptEncoding)
      const used = process.cpuUsage(before)
      best[label] = Math.min(best[label] ?? Number.POSITIVE_INFINITY, (used.user + used.system) / perRound)
    }
  }
  return best
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cases = [
    ['/small', 'gzip, deflate, br', 'below threshold (145 B)'],
    ['/json', 'gzip', '1 KB JSON, gzip'],
    ['/json100k', 'gzip', '100 KB JSON, gzip'],
    ['/json100k', 'gzip, deflate, br', '100 KB JSON, br'],
  ]
  console.log(
    '| case | express+noop µs | compression µs | hotpath µs | hotpath vs compression | hotpath vs noop |',
  )
  console.log('|---|---|---|---|---|---|')
  for (const [path, encoding, title] of cases) {
    const large = path === '/json100k'
    const best = await measure(path, encoding, large ? { rounds: 6, perRound: 150 } : {})
    const speed = (a, b) => (best[b] / best[a]).toFixed(2)
    console.log(
      `| ${title} | ${best['express+noop'].toFixed(1)} | ${best.compression.toFixed(1)} | ${best.hotpath.toFixed(1)} | ${speed('hotpath', 'compression')}× | ${speed('hotpath', 'express+noop')}× |`,
    )
  }
}
