// The benchmark runner: `node bench/run.mjs [scenario ...]`. See bench/README.md.
import { fork, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { formatTable, summarise } from './stats.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { startRedis } = require('../test/helpers/redis-server.js')

const quick = process.env.BENCH_QUICK === '1'
// With two or more cores, the server under test and the load generator each get their own
// core (taskset), so they do not steal time from each other: far less noise between rounds.
const pin =
  cpus().length >= 2 &&
  spawnSync('taskset', ['-c', '0', 'true']).status === 0 &&
  process.env.BENCH_PIN !== '0'
const serverCore = String(cpus().length - 1)
// BENCH_TOGETHER=1: each round loads every server of the scenario at the same time (see below).
const together = process.env.BENCH_TOGETHER === '1' && pin
// Together, each load starts this long before the measured window and ends this long after it.
const TOGETHER_LEAD_S = 1.5
const TOGETHER_TAIL_S = 1
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'))
const available = readdirSync(join(here, 'scenarios'))
  .filter((file) => file.endsWith('.mjs'))
  .map((file) => file.slice(0, -4))
  .sort()
const names = wanted.length ? wanted : available
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown scenario "${name}"; available: ${available.join(', ')}`)
    process.exit(2)
  }
}

mkdirSync(join(here, 'results'), { recursive: true })
let failedBudgets = 0
for (const name of names) {
  const scenario = (await import(pathToFileURL(join(here, 'scenarios', `${name}.mjs`)).href)).default
  // A scenario with its own procedure (e.g. overload: several offered loads) exports run().
  failedBudgets +=
    typeof scenario.run === 'function' ? await scenario.run() : await runScenario(name, scenario)
}
process.exit(failedBudgets > 0 && process.env.BENCH_STRICT === '1' ? 1 : 0)

async function runScenario(name, scenario) {
  const rounds = quick ? 2 : Math.max(5, Number(process.env.BENCH_ROUNDS) || scenario.rounds || 5)
  const duration = quick ? 1 : Number(process.env.BENCH_DURATION) || scenario.duration || 3
  const connections = scenario.connections ?? 32
  const redis = scenario.needs?.includes('redis') ? await startRedis() : null
  // BENCH_SERVERS=a,b keeps only those servers (and the baseline): more rounds in the same time.
  const only = process.env.BENCH_SERVERS?.split(',').map((label) => label.trim())
  const labels = Object.keys(scenario.servers).filter(
    (label) => !only || label === scenario.baseline || only.includes(label),
  )
  if (scenario.control !== false && scenario.baseline) labels.push(`${scenario.baseline} (control)`)
  // BENCH_PROCESSES=n: the rounds run in n blocks, each with freshly started server processes.
  // A process has luck of its own (where its heap and code landed, what the JIT decided) that
  // stays with it for the whole run: an A/A pair of processes can differ by 2% in every round.
  // Fresh processes per block spread that luck over the medians. Default: 3 loaded together, 1
  // otherwise (sequential rounds are too noisy to gain from it).
  const processes = Math.min(
    rounds,
    Math.max(1, Number(process.env.BENCH_PROCESSES) || (together && !quick ? 3 : 1)),
  )
  const roundsPerBlock = Math.ceil(rounds / processes)
  console.log(`\n## ${name}: ${scenario.title}`)
  console.log(
    `${rounds} rounds × ${duration}s × ${labels.length} servers${together ? ' loaded together' : ''}${processes > 1 ? `, ${processes} sets of server processes` : ''}, ${connections} connections${pin ? `, server pinned to core ${serverCore}, load to core 0` : ''}`,
  )

  let servers = []
  const startAll = async () => {
    servers = []
    for (const label of labels) {
      const [moduleName, options] = scenario.servers[label.replace(/ \(control\)$/, '')]
      const merged = { ...options, ...(redis ? { redisUrl: redis.url } : {}) }
      servers.push(await startServer(label, join(here, 'servers', moduleName), merged))
    }
    for (const server of servers) await load(server, scenario, 1, connections)
  }
  const stopAll = async () => {
    for (const server of servers) await stopServer(server)
    servers = []
  }
  try {
    const samples = new Map(labels.map((label) => [label, []]))
    /** One round of one server: the load's result, and the server's own CPU between two probes. */
    const record = (server, round, result, before, after) => {
      samples.get(server.label).push({
        round,
        ...result,
        cpuPerRequest: (after.cpu - before.cpu) / Math.max(1, after.requests - before.requests),
        rss: after.rss,
      })
    }
    const measure = async (server, round) => {
      if (scenario.beforeRound) await scenario.beforeRound(server.url)
      const before = await probe(server)
      const result = await load(server, scenario, duration, connections)
      record(server, round, result, before, await probe(server))
    }
    // All servers at once on the one server core: each gets an equal share of it, so the ratio
    // of their rates is the ratio of their costs, and the host's noise hits all alike. The loads
    // start one after another (each is a process to spawn) and so would end one after another:
    // a load's first and last moments would see fewer rivals than its middle, an edge for
    // whichever started last. So every load runs longer than the window and the rate is the
    // servers' own count of requests answered in one window they all share, opened once all
    // loads run and closed before any ends; the start order turns by one each round.
    const measureTogether = async (round) => {
      const order = servers.map((_, i) => servers[(i + round) % servers.length])
      if (scenario.beforeRound) for (const server of order) await scenario.beforeRound(server.url)
      const runs = order.map((server) =>
        load(server, scenario, duration + TOGETHER_LEAD_S + TOGETHER_TAIL_S, connections),
      )
      await sleep(TOGETHER_LEAD_S * 1000)
      const opened = process.hrtime.bigint()
      const before = await Promise.all(servers.map(probe))
      await sleep(duration * 1000)
      const after = await Promise.all(servers.map(probe))
      const seconds = Number(process.hrtime.bigint() - opened) / 1e9
      const results = await Promise.all(runs)
      servers.forEach((server, i) => {
        const rps = (after[i].requests - before[i].requests) / seconds
        record(server, round, { ...results[order.indexOf(server)], rps }, before[i], after[i])
      })
    }
    for (let round = 0; round < rounds; round++) {
      if (round % roundsPerBlock === 0) {
        await stopAll()
        await startAll()
      }
      if (together) {
        await measureTogether(round)
        continue
      }
      const order = round % 2 === 0 ? servers : [...servers].reverse()
      for (const server of order) await measure(server, round)
    }
    const summary = summarise(samples, scenario, labels)
    const table = formatTable(name, scenario, summary)
    console.log(table.text)
    writeFileSync(join(here, 'results', `${name}.md`), `${table.text}\n`)
    writeFileSync(
      join(here, 'results', `${name}.json`),
      `${JSON.stringify({ scenario: name, title: scenario.title, date: new Date().toISOString(), rounds, duration, connections, together, processes, summary, samples: Object.fromEntries(samples) }, null, 2)}\n`,
    )
    return table.failed
  } finally {
    await stopAll()
    if (redis) await redis.destroy()
  }
}

function startServer(label, modulePath, options) {
  return new Promise((resolve, reject) => {
    const child = fork(join(here, 'server-process.mjs'), [modulePath, JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    if (pin) spawnSync('taskset', ['-a', '-p', '-c', serverCore, String(child.pid)], { stdio: 'ignore' })
    const pending = new Map()
    let nextId = 0
    child.on('message', (message) => {
      if (message.type === 'ready') {
        resolve({
          label,
          child,
          url: `http://127.0.0.1:${message.port}`,
          probe: () =>
            new Promise((done) => {
              const id = nextId++
              pending.set(id, done)
              child.send({ type: 'probe', id })
            }),
        })
      } else if (message.type === 'probe') {
        pending.get(message.id)?.(message)
        pending.delete(message.id)
      }
    })
    child.once('exit', (code) => reject(new Error(`server ${label} exited with ${code} before it was ready`)))
  })
}

function probe(server) {
  return server.probe()
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

function load(server, scenario, duration, connections) {
  const config = {
    url: `${server.url}${scenario.request.path}`,
    request: scenario.request,
    duration,
    connections,
  }
  return new Promise((resolve, reject) => {
    const command = [process.execPath, join(here, 'load.mjs'), JSON.stringify(config)]
    const child = spawn(pin ? 'taskset' : command[0], pin ? ['-c', '0', ...command] : command.slice(1), {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`)),
    )
  })
}
