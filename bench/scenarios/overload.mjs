// `npm run bench -- overload`: the same app (GET /work: 0.2 ms of CPU plus a wait on a pooled
// resource, 4 workers × 10 ms, shared among the requests running at once; bench/servers/overload.mjs)
// with no protection, an under-pressure-style fixed threshold, and @hotpath/overload (defaults),
// offered 1×, 2× and 3× its measured capacity in one run.
// The capacity is the pool's (~400/s), not the CPU's, on purpose: overload protection is for an
// app bounded by something it waits on (a database pool, an upstream). On this host Express and
// HTTP cost ~0.35 ms of CPU per request and a refusal (a parsed request answered 503 by the
// first middleware) ~0.2 ms, so at 3× a CPU-bound capacity the refusals alone fill the one server
// core, and no middleware can keep goodput (measured: r ≈ 160-260 µs, s ≈ 520-620 µs per request;
// at 3 × 1322/s, s·x + r·(3967 − x) ≤ 1 s caps the admitted x near 1000/s, < 80%, at 100% CPU).
// Here at 3× the server core is about half busy, refusals included.
// Capacity is what the unprotected app serves closed-loop with 16 connections (4× the pool: the
// pool is saturated, its latency ~40 ms well inside the SLO, so the peak's goodput is its
// throughput). The offered loads are open-loop Poisson arrivals (bench/overload-load.mjs says
// why not autocannon's overallRate); the unloaded p99 is the unprotected app's at 0.5×. Per
// server and load: goodput (2xx within the 100 ms SLO, per second), p99 of the admitted (2xx),
// refused (503) per second. Every server is warmed by the same load for the same time; then
// CPU time per request at 0.3× capacity (no load) in alternating rounds, reported as the median
// of the paired ratios. Writes bench/results/overload.{json,md,svg}.
import { fork, spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { plot } from '../overload-plot.mjs'

const here = join(dirname(fileURLToPath(import.meta.url)), '..')
const SLO_MS = 100
const MULTIPLES = [1, 2, 3]
const SERVERS = {
  none: { protect: 'none' },
  threshold: { protect: 'threshold' },
  overload: { protect: 'overload' },
}
const BUDGETS = [
  { what: 'goodput at 3× ≥ 90% of the unloaded peak', server: 'overload' },
  { what: 'p99 of admitted at 3× ≤ 2× unloaded p99', server: 'overload' },
  { what: 'CPU per request at no load, none/overload ≥ 0.98', server: 'overload' },
]

const quick = process.env.BENCH_QUICK === '1'
const pin =
  cpus().length >= 2 &&
  spawnSync('taskset', ['-c', '0', 'true']).status === 0 &&
  process.env.BENCH_PIN !== '0'
const serverCore = String(cpus().length - 1)

function startServer(label, options) {
  return new Promise((resolve, reject) => {
    const child = fork(
      join(here, 'server-process.mjs'),
      [join(here, 'servers', 'overload.mjs'), JSON.stringify(options)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    )
    if (pin) spawnSync('taskset', ['-a', '-p', '-c', serverCore, String(child.pid)], { stdio: 'ignore' })
    const pending = new Map()
    let id = 0
    child.on('message', (m) => {
      if (m.type === 'ready') {
        resolve({
          label,
          child,
          url: `http://127.0.0.1:${m.port}/work`,
          probe: () =>
            new Promise((done) => {
              const n = id++
              pending.set(n, done)
              child.send({ type: 'probe', id: n })
            }),
        })
      } else if (m.type === 'probe') {
        pending.get(m.id)?.(m)
        pending.delete(m.id)
      }
    })
    child.once('exit', (code) => reject(new Error(`server ${label} exited with ${code}`)))
  })
}

function stopServer(server) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 3000)
    server.child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    server.child.send({ type: 'stop' })
  })
}

/** `duration` seconds counted, after `skipS` seconds of the same load that are not. */
function load(server, rate, duration, connections, skipS = 0) {
  const config = { url: server.url, rate, duration: duration + skipS, skipS, connections, sloMs: SLO_MS }
  const command = [process.execPath, join(here, 'overload-load.mjs'), JSON.stringify(config)]
  return new Promise((resolve, reject) => {
    const child = spawn(pin ? 'taskset' : command[0], pin ? ['-c', '0', ...command] : command.slice(1), {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (c) => {
      out += c
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`)),
    )
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** GET /__stats: requests in the handler, and the overload server's stats (null for the others). */
async function serverStats(server) {
  try {
    return await (await fetch(server.url.replace(/\/work$/, '/__stats'))).json()
  } catch {
    return null
  }
}

function guardDelta(before, after) {
  if (!before || !after) return null
  const refused = {}
  for (const reason of Object.keys(after.refused))
    refused[reason] = after.refused[reason] - (before.refused[reason] ?? 0)
  return {
    refused,
    limit: after.limit,
    minRttMs: after.minRttMs,
    queueDelayMs: after.queueDelayMs,
    eventLoop: after.eventLoop,
  }
}
const r1 = (n) => Math.round(n * 10) / 10
const connectionsFor = (rate) => Math.min(1000, Math.max(100, Math.round(rate / 2)))
const CAPACITY_CONNECTIONS = 16
const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')

/** Waits (bounded) until no request is in the handler, so that one load's backlog is not the next one's. */
async function idle(server, limitMs = 30_000) {
  const until = Date.now() + limitMs
  while (Date.now() < until) {
    const stats = await serverStats(server)
    if (stats && stats.active === 0) return
    await sleep(200)
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export async function run() {
  const duration = quick ? 1 : Number(process.env.BENCH_DURATION) || 5
  const cpuRounds = quick ? 1 : Number(process.env.BENCH_CPU_ROUNDS) || 3
  console.log(`\n## overload: goodput under 1×, 2×, 3× capacity (${duration}s per load, SLO ${SLO_MS} ms)`)
  const servers = []
  for (const [label, options] of Object.entries(SERVERS)) servers.push(await startServer(label, options))
  try {
    const none = servers[0]
    await load(none, 0, 1, CAPACITY_CONNECTIONS)
    const peak = await load(none, 0, duration, CAPACITY_CONNECTIONS)
    const capacity = peak.ok
    // The same warm-up for every server: the same open-loop load for the same time.
    for (const server of servers) {
      await idle(server)
      await load(server, capacity, duration, connectionsFor(capacity))
    }
    await idle(none)
    const unloaded = await load(none, capacity / 2, duration, 32, 1)
    console.log(
      `capacity ${Math.round(capacity)} req/s (2xx within SLO ${Math.round(peak.goodput)}/s), unloaded p99 ${r1(unloaded.p99)} ms`,
    )

    // CPU per request at no load: rounds alternate the servers' order, each round's ratios pair
    // measurements taken a few seconds apart.
    const rounds = []
    for (let k = 0; k < cpuRounds; k++) {
      const round = {}
      for (const [j] of servers.entries()) {
        const server = servers[(j + k) % servers.length]
        await idle(server)
        const before = await server.probe()
        const result = await load(server, capacity * 0.3, duration, 32)
        const after = await server.probe()
        round[server.label] = {
          usPerRequest: (after.cpu - before.cpu) / Math.max(1, after.requests - before.requests),
          p99: result.p99,
        }
      }
      rounds.push(round)
    }
    const cpu = {}
    for (const server of servers) {
      cpu[server.label] = {
        usPerRequest: median(rounds.map((r) => r[server.label].usPerRequest)),
        ratio: median(rounds.map((r) => r.none.usPerRequest / r[server.label].usPerRequest)),
      }
    }

    const rows = []
    for (const [i, multiple] of MULTIPLES.entries()) {
      const rate = capacity * multiple
      const order = servers.map((_, k) => servers[(k + i) % servers.length])
      for (const server of order) {
        await idle(server)
        const before = await serverStats(server)
        const result = await load(server, rate, duration, connectionsFor(rate), 1)
        const after = await serverStats(server)
        rows.push({
          server: server.label,
          multiple,
          rate: Math.round(rate),
          ...result,
          guard: guardDelta(before?.overload, after?.overload),
        })
      }
    }
    const at = (label, multiple) => rows.find((r) => r.server === label && r.multiple === multiple)
    const o3 = at('overload', 3)
    const checks = [o3.goodput / peak.goodput >= 0.9, o3.p99 <= 2 * unloaded.p99, cpu.overload.ratio >= 0.98]
    const values = [
      `${r1((o3.goodput / peak.goodput) * 100)}%`,
      `${r1(o3.p99)} ms vs ${r1(unloaded.p99)} ms`,
      `${cpu.overload.ratio.toFixed(3)}×`,
    ]
    const load1 = loadAverage()

    const md = [
      `# overload — goodput under overload${quick ? ' (BENCH_QUICK smoke run: not a measurement)' : ''}`,
      '',
      `${new Date().toISOString()} · load average at the end ${load1} · ${duration}s per load · SLO ${SLO_MS} ms · capacity ${Math.round(capacity)} req/s · unloaded peak goodput ${Math.round(peak.goodput)}/s · unloaded p99 (0.5×) ${r1(unloaded.p99)} ms`,
      '',
      '| server | offered | sent req/s | goodput (2xx ≤ SLO)/s | % of peak | 2xx/s | 503/s | errors/s | p50 2xx | p99 2xx |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.server} | ${r.multiple}× (${r.rate}/s) | ${Math.round(r.offered)} | ${Math.round(r.goodput)} | ${r1((r.goodput / peak.goodput) * 100)}% | ${Math.round(r.ok)} | ${Math.round(r.refused)} | ${Math.round(r.errors)} | ${r1(r.p50)} ms | ${r1(r.p99)} ms |`,
      ),
      '',
      '| overload() at | refused: queue timeout | queue full | event loop | limit after | minRTT | queue wait of the last 2048 admitted p50 / p99 | loop utilisation |',
      '|---|---|---|---|---|---|---|---|',
      ...rows
        .filter((r) => r.guard)
        .map(
          (r) =>
            `| ${r.multiple}× | ${r.guard.refused['queue-timeout']} | ${r.guard.refused['queue-full']} | ${r.guard.refused['event-loop']} | ${r.guard.limit} | ${r1(r.guard.minRttMs)} ms | ${r1(r.guard.queueDelayMs.p50)} / ${r1(r.guard.queueDelayMs.p99)} ms | ${r.guard.eventLoop?.utilization ?? '–'} |`,
        ),
      '',
      `CPU per request at 0.3× capacity, ${cpuRounds} alternating round(s) of ${duration}s after the same warm-up:`,
      '',
      `| server | CPU µs/request (median) | per round | ratio none/server (median of paired rounds) |`,
      '|---|---|---|---|',
      ...servers.map(
        (s) =>
          `| ${s.label} | ${r1(cpu[s.label].usPerRequest)} | ${rounds.map((r) => r1(r[s.label].usPerRequest)).join(', ')} | ${cpu[s.label].ratio.toFixed(3)}× |`,
      ),
      '',
      '| budget | value | result |',
      '|---|---|---|',
      ...BUDGETS.map((b, k) => `| ${b.what} | ${values[k]} | ${checks[k] ? 'ok' : 'MISS'} |`),
      '',
      '![goodput against offered load](overload.svg)',
      '',
    ].join('\n')
    console.log(md)
    writeFileSync(join(here, 'results', 'overload.md'), md)
    writeFileSync(
      join(here, 'results', 'overload.json'),
      `${JSON.stringify({ scenario: 'overload', date: new Date().toISOString(), loadAverage: load1, quick, duration, sloMs: SLO_MS, capacity, peak, unloaded, cpu, cpuRounds: rounds, rows }, null, 2)}\n`,
    )
    writeFileSync(
      join(here, 'results', 'overload.svg'),
      plot({ rows, peak: peak.goodput, capacity, servers: Object.keys(SERVERS) }),
    )
    return checks.filter((c) => !c).length
  } finally {
    for (const server of servers) await stopServer(server)
  }
}

export default {
  title: 'goodput under 1×, 2×, 3× capacity: none, fixed threshold, overload()',
  run,
  // For `node bench/instructions.mjs overload` only: the same app with its 0.2 ms of CPU off
  // (a busy wait until a clock time, whose instruction count would follow valgrind's speed) and
  // a 1 ms pool wait, so the count is of Express, HTTP and the guard. Valgrind runs the loop tens
  // of times slower, which both guards would read as overload: their thresholds are lifted (and
  // the limit's floor put above the tool's 8 connections; overload's maxUtilization 1 keeps its
  // delay histogram, armed from half of it, off as it is at no load natively), so that every
  // request takes the path a request takes at no load — the path the budget is about. Work done
  // per second (overload's 100 ms sampling timer) is counted per request at valgrind's pace, so
  // it weighs here tens of times more than at native speed.
  servers: {
    none: ['overload.mjs', { protect: 'none', cpuMs: 0, serviceMs: 1 }],
    threshold: [
      'overload.mjs',
      { protect: 'threshold', cpuMs: 0, serviceMs: 1, threshold: { maxUtilization: 2, maxDelayMs: 1e9 } },
    ],
    overload: [
      'overload.mjs',
      {
        protect: 'overload',
        cpuMs: 0,
        serviceMs: 1,
        overload: { minLimit: 16, initialLimit: 16, eventLoop: { maxUtilization: 1, maxDelay: '1h' } },
      },
    ],
    // The request path alone: under valgrind the loop is busy enough to run the delay histogram
    // (whose reads walk every bucket) that a native run at no load never starts.
    'overload, eventLoop: false': [
      'overload.mjs',
      {
        protect: 'overload',
        cpuMs: 0,
        serviceMs: 1,
        overload: { minLimit: 16, initialLimit: 16, eventLoop: false },
      },
    ],
  },
  baseline: 'none',
  request: { path: '/work' },
  budgets: [{ server: 'overload', vs: 'none', min: 0.98 }],
}

// `node bench/scenarios/overload.mjs` runs it without the runner.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().then((misses) => process.exit(misses > 0 && process.env.BENCH_STRICT === '1' ? 1 : 0))
}
