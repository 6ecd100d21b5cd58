// `npm run bench -- overload`: the same app (GET /work: CPU plus a wait on a pooled resource
// that grows with the requests running at once, bench/servers/overload.mjs) with no protection, an under-pressure-style fixed threshold, and
// @hotpath/overload, offered 1×, 2× and 3× its measured capacity in one run.
// Capacity is what the unprotected app serves with 32 connections; the unloaded p99 is its p99
// at half of that rate. Per server and load: goodput (2xx within the 100 ms SLO, per second),
// p99 of the admitted (2xx) requests, refused (503) per second; and each server's CPU time per
// request at 0.3× capacity (the overhead at no load). Writes bench/results/overload.{json,md,svg}.
import { fork, spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
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

/** The overload server's stats (its refusals by reason, limit, minRTT); null for the others. */
async function guardStats(server) {
  if (server.label !== 'overload') return null
  try {
    return await (await fetch(server.url.replace(/\/work$/, '/__overload'))).json()
  } catch {
    return null
  }
}

function guardDelta(before, after) {
  if (!before || !after) return null
  const refused = {}
  for (const reason of Object.keys(after.refused))
    refused[reason] = after.refused[reason] - (before.refused[reason] ?? 0)
  return { refused, limit: after.limit, minRttMs: after.minRttMs, eventLoop: after.eventLoop }
}
const r1 = (n) => Math.round(n * 10) / 10
const connectionsFor = (rate) => Math.min(1000, Math.max(100, Math.round(rate / 2)))

export async function run() {
  const duration = quick ? 1 : Number(process.env.BENCH_DURATION) || 5
  console.log(`\n## overload: goodput under 1×, 2×, 3× capacity (${duration}s per load, SLO ${SLO_MS} ms)`)
  const servers = []
  for (const [label, options] of Object.entries(SERVERS)) servers.push(await startServer(label, options))
  try {
    const none = servers[0]
    await load(none, 0, 1, 32)
    const peak = await load(none, 0, duration, 32)
    const capacity = peak.ok
    const unloaded = await load(none, capacity / 2, duration, 32)
    console.log(
      `capacity ${Math.round(capacity)} req/s (2xx within SLO ${Math.round(peak.goodput)}/s), unloaded p99 ${r1(unloaded.p99)} ms`,
    )

    const cpu = {}
    for (const server of servers) {
      await load(server, capacity * 0.3, 1, 32)
      const before = await server.probe()
      const result = await load(server, capacity * 0.3, duration, 32)
      const after = await server.probe()
      cpu[server.label] = {
        usPerRequest: (after.cpu - before.cpu) / Math.max(1, after.requests - before.requests),
        ...result,
      }
    }

    const rows = []
    for (const [i, multiple] of MULTIPLES.entries()) {
      const rate = capacity * multiple
      const order = servers.map((_, k) => servers[(k + i) % servers.length])
      for (const server of order) {
        const before = await guardStats(server)
        const result = await load(server, rate, duration, connectionsFor(rate), 1)
        const after = await guardStats(server)
        rows.push({
          server: server.label,
          multiple,
          rate: Math.round(rate),
          ...result,
          guard: guardDelta(before, after),
        })
        // Let the queue of an unprotected server drain before the next load.
        await sleep(1500)
      }
    }
    const at = (label, multiple) => rows.find((r) => r.server === label && r.multiple === multiple)
    const o3 = at('overload', 3)
    const checks = [
      o3.goodput / peak.goodput >= 0.9,
      o3.p99 <= 2 * unloaded.p99,
      cpu.none.usPerRequest / cpu.overload.usPerRequest >= 0.98,
    ]
    const values = [
      `${r1((o3.goodput / peak.goodput) * 100)}%`,
      `${r1(o3.p99)} ms vs ${r1(unloaded.p99)} ms`,
      `${(cpu.none.usPerRequest / cpu.overload.usPerRequest).toFixed(3)}×`,
    ]

    const md = [
      `# overload — goodput under overload${quick ? ' (BENCH_QUICK smoke run: not a measurement)' : ''}`,
      '',
      `${new Date().toISOString()} · ${duration}s per load · SLO ${SLO_MS} ms · capacity ${Math.round(capacity)} req/s · unloaded peak goodput ${Math.round(peak.goodput)}/s · unloaded p99 ${r1(unloaded.p99)} ms`,
      '',
      '| server | offered | sent req/s | goodput (2xx ≤ SLO)/s | % of peak | 2xx/s | 503/s | errors/s | p50 2xx | p99 2xx |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.server} | ${r.multiple}× (${r.rate}/s) | ${Math.round(r.offered)} | ${Math.round(r.goodput)} | ${r1((r.goodput / peak.goodput) * 100)}% | ${Math.round(r.ok)} | ${Math.round(r.refused)} | ${Math.round(r.errors)} | ${r1(r.p50)} ms | ${r1(r.p99)} ms |`,
      ),
      '',
      '| overload() at | refused: queue timeout | queue full | event loop | limit after | minRTT |',
      '|---|---|---|---|---|---|',
      ...rows
        .filter((r) => r.guard)
        .map(
          (r) =>
            `| ${r.multiple}× | ${r.guard.refused['queue-timeout']} | ${r.guard.refused['queue-full']} | ${r.guard.refused['event-loop']} | ${r.guard.limit} | ${r1(r.guard.minRttMs)} ms |`,
        ),
      '',
      '| server | CPU µs/request at 0.3× | ratio none/server |',
      '|---|---|---|',
      ...servers.map(
        (s) =>
          `| ${s.label} | ${r1(cpu[s.label].usPerRequest)} | ${(cpu.none.usPerRequest / cpu[s.label].usPerRequest).toFixed(3)}× |`,
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
      `${JSON.stringify({ scenario: 'overload', date: new Date().toISOString(), quick, duration, sloMs: SLO_MS, capacity, peak, unloaded, cpu, rows }, null, 2)}\n`,
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

export default { title: 'goodput under 1×, 2×, 3× capacity: none, fixed threshold, overload()', run }

// `node bench/scenarios/overload.mjs` runs it without the runner.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().then((misses) => process.exit(misses > 0 && process.env.BENCH_STRICT === '1' ? 1 : 0))
}
