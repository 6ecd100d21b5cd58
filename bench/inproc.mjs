// CPU time per request of a scenario's servers, measured in one process without sockets or a
// load generator: `node bench/inproc.mjs <scenario> [server label ...]` (after building).
// Each request goes through the real server (Express app or plain listener) into a discarding
// socket; the servers alternate round by round and the table gives each one's 10th-percentile round and
// its median, so a busy machine inflates every row alike. Ratios are "baseline CPU / server
// CPU", comparable with the requests/s ratios of `npm run bench` when the server core is the
// bottleneck. It is the A/B tool for changes of a few percent, which the loopback scenarios on
// this shared machine cannot resolve; budgets are still checked by `npm run bench`.
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { serveOnce } from './driver.mjs'
import { scenarioFromArgs } from './scenario-args.mjs'
import { median } from './stats.mjs'

const here = dirname(fileURLToPath(import.meta.url))

async function load(moduleName, options) {
  const mod = await import(pathToFileURL(join(here, 'servers', moduleName)).href)
  const made = await mod.default(options)
  const listener = typeof made === 'function' ? made : made.listener
  return { listener, close: typeof made === 'function' ? undefined : made.close }
}

const { name, scenario, labels } = await scenarioFromArgs('inproc.mjs')
const rounds = Number(process.env.INPROC_ROUNDS) || 60
const perRound = Number(process.env.INPROC_REQUESTS) || 1000
const servers = []
for (const label of labels) {
  const [moduleName, options] = scenario.servers[label]
  servers.push({ label, ...(await load(moduleName, options ?? {})), samples: [] })
}
// A/A control: a second instance of the baseline.
if (scenario.baseline) {
  const [moduleName, options] = scenario.servers[scenario.baseline]
  servers.push({
    label: `${scenario.baseline} (control)`,
    ...(await load(moduleName, options ?? {})),
    samples: [],
  })
}
for (const server of servers) {
  for (let i = 0; i < perRound; i++) {
    const status = await serveOnce(server.listener, scenario.request)
    if (i === 0 && (status < 200 || status >= 400) && status !== scenario.expectStatus) {
      console.error(`${server.label}: status ${status}`)
    }
  }
}
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? [...servers].reverse() : servers
  for (const server of order) {
    const before = process.cpuUsage()
    for (let i = 0; i < perRound; i++) await serveOnce(server.listener, scenario.request)
    const used = process.cpuUsage(before)
    server.samples.push((used.user + used.system) / perRound)
  }
}
const base = servers.find((server) => server.label === scenario.baseline) ?? servers[0]
// The 10th percentile of the rounds: short rounds that no other tenant of the host disturbed,
// still with their share of garbage collection (the minimum would drop it).
const fast = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 10)]
const baseBest = fast(base.samples)
const baseMedian = median(base.samples)
console.log(`\n## ${name} in process: ${rounds} rounds × ${perRound} requests, CPU µs per request`)
console.log(`| server | p10 µs | median µs | vs ${base.label} (p10) | (median) | (paired rounds, median) |`)
console.log('|---|---|---|---|---|---|')
for (const server of servers) {
  const best = fast(server.samples)
  const mid = median(server.samples)
  // Each round's ratio to the baseline measured next to it: drift slower than a round cancels.
  const paired = server.samples.map((us, round) => base.samples[round] / us)
  console.log(
    `| ${server.label} | ${best.toFixed(2)} | ${mid.toFixed(2)} | ${(baseBest / best).toFixed(3)} | ${(baseMedian / mid).toFixed(3)} | ${median(paired).toFixed(3)} |`,
  )
}
for (const server of servers) await server.close?.()
process.exit(0)
