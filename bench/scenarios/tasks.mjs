// `npm run bench -- tasks`: @hotpath/tasks against its anchors, in paired rounds of one run.
//   memory     no-op async tasks at concurrency 10 through the memory engine vs p-queue
//              (tasks per second, in this process, alternating each round; ratio of medians
//              of the per-round ratios). Budget ≥ 1.0×.
//   history    heap of the memory engine's bounded history (retention.count 10 000 per state)
//              after 10^6 tasks vs when it first held 10 000 (own process, after gc). Budget ≤ 1.2×.
//   bullmq     no-op jobs at concurrency 10 through BullMQEngine vs a plain BullMQ Queue + Worker
//              on one real redis-server (jobs per second until all completed). Budget ≥ 0.9×.
// Results: bench/results/tasks.md and bench/results/tasks.json. `BENCH_QUICK=1`: a smoke run.
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from '../stats.mjs'

const require = createRequire(import.meta.url)
const here = fileURLToPath(new URL('..', import.meta.url))
const quick = process.env.BENCH_QUICK === '1'
const ROUNDS = quick ? 2 : Math.max(5, Number(process.env.BENCH_ROUNDS) || 7)
const MEMORY_TASKS = quick ? 20_000 : 200_000
const HISTORY_TASKS = quick ? 100_000 : 1_000_000
const BULL_JOBS = quick ? 500 : 5_000
const CONCURRENCY = 10

// The package's own copies (packages/tasks resolves bullmq from the root install).
const tasksPath = require.resolve('@hotpath/tasks')
const fromTasks = createRequire(tasksPath)
const { createTasks, BullMQEngine, MemoryEngine } = require('@hotpath/tasks')

async function hotpathMemory(n) {
  const tasks = createTasks({ concurrency: CONCURRENCY })
  let done = 0
  let finish
  const all = new Promise((resolve) => {
    finish = resolve
  })
  tasks.define('noop', async () => {
    if (++done === n) finish()
  })
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++) tasks.submit('noop', i)
  await all
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await tasks.close()
  return n / seconds
}

async function pQueue(n) {
  const { default: PQueue } = await import('p-queue')
  const queue = new PQueue({ concurrency: CONCURRENCY })
  let done = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++)
    queue.add(async () => {
      done++
    })
  await queue.onIdle()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (done !== n) throw new Error(`p-queue ran ${done} of ${n}`)
  return n / seconds
}

/** Child: heap after gc once the history first holds 10 000 tasks, and after HISTORY_TASKS. */
async function historyChild() {
  const gc = globalThis.gc
  const heap = async () => {
    for (let i = 0; i < 3; i++) {
      gc()
      await new Promise((r) => setImmediate(r))
    }
    return process.memoryUsage().heapUsed
  }
  const base = await heap()
  const engine = new MemoryEngine()
  const tasks = createTasks({ engine, concurrency: CONCURRENCY, retention: { count: 10_000 } })
  let done = 0
  tasks.define('noop', async (i) => {
    done++
    return i
  })
  // In batches, so the backlog of pending tasks (not what this measures) stays small.
  const run = async (count) => {
    for (let sent = 0; sent < count; ) {
      const batch = Math.min(10_000, count - sent)
      const target = done + batch
      for (let i = 0; i < batch; i++) tasks.submit('noop', i)
      sent += batch
      while (done < target) await new Promise((r) => setImmediate(r))
    }
  }
  await run(10_000)
  const full = await heap()
  // The sizes of the history's indexes at both points (records, creation-order slots, ring
  // slots): the heap figure's explanation when it moves.
  const fullSizes = engine.historySizes()
  await run(HISTORY_TASKS - 10_000)
  const after = await heap()
  const afterSizes = engine.historySizes()
  const stats = tasks.stats()
  await tasks.close()
  process.send({ base, full, after, completed: stats.counts.completed, fullSizes, afterSizes })
}

function history() {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--history-child'], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    child.once('message', resolve)
    child.once('exit', (code) => code !== 0 && reject(new Error(`history child exited with ${code}`)))
  })
}

async function waitCompleted(queue, n) {
  for (;;) {
    if ((await queue.getJobCountByTypes('completed')) >= n) return
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function bullEngine(connection, prefix, n) {
  const tasks = createTasks({
    concurrency: CONCURRENCY,
    engine: new BullMQEngine({ connection, prefix, queueName: 'b' }),
  })
  tasks.define('noop', async () => {})
  const { Queue } = fromTasks('bullmq')
  const probe = new Queue('b', { connection, prefix })
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await tasks.submit('noop', i)
  await waitCompleted(probe, n)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await tasks.close()
  await probe.close()
  return n / seconds
}

async function bullPlain(connection, prefix, n) {
  const { Queue, Worker } = fromTasks('bullmq')
  const queue = new Queue('b', { connection: { ...connection, enableOfflineQueue: false }, prefix })
  const worker = new Worker('b', async () => {}, { connection, prefix, concurrency: CONCURRENCY })
  const keep = { age: 7 * 86_400, count: 10_000 }
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++)
    await queue.add('noop', { t: 300_000, d: i }, { attempts: 1, removeOnComplete: keep, removeOnFail: keep })
  await waitCompleted(queue, n)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await worker.close()
  await queue.close()
  return n / seconds
}

/** p95 (ms) of the dashboard's task read endpoints over loopback, with 10^4 tasks in the history. */
async function dashboardReads() {
  const express = fromTasks('express')
  const { dashboard } = require('@hotpath/dashboard')
  const http = await import('node:http')
  const tasks = createTasks({ concurrency: CONCURRENCY })
  tasks.define('report', async (i) => {
    if (i % 10 === 0) throw new Error('every tenth fails')
    return { rows: i }
  })
  tasks.define('export', async (i) => i)
  let last = ''
  for (let i = 0; i < 10_000; i++) last = (await tasks.submit(i % 3 ? 'report' : 'export', i)).id
  while (tasks.stats().counts.completed + tasks.stats().counts.failed < 10_000)
    await new Promise((r) => setTimeout(r, 10))
  const app = express()
  const quiet = { warn() {}, error() {} }
  app.use(dashboard({ auth: 'none', sources: { tasks }, rateLimit: false, logger: quiet }))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  const { port } = server.address()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const get = (path) =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint()
      http
        .get({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6))
        })
        .on('error', reject)
    })
  const first = JSON.parse(
    await new Promise((resolve) =>
      http.get({ host: '127.0.0.1', port, path: '/tasks?name=report&limit=50', agent }, (res) => {
        let body = ''
        res.on('data', (c) => {
          body += c
        })
        res.on('end', () => resolve(body))
      }),
    ),
  )
  const paths = {
    'GET /tasks?limit=50': '/tasks?limit=50',
    'GET /tasks?state=failed&limit=50': '/tasks?state=failed&limit=50',
    'GET /tasks?name=report&cursor=…': `/tasks?name=report&limit=50&cursor=${first.nextCursor}`,
    'GET /tasks/:id': `/tasks/${last}`,
  }
  const out = []
  const n = quick ? 100 : 1000
  for (const [label, path] of Object.entries(paths)) {
    for (let i = 0; i < 50; i++) await get(path)
    const times = []
    for (let i = 0; i < n; i++) times.push(await get(path))
    times.sort((a, b) => a - b)
    const p95 = times[Math.ceil(0.95 * times.length) - 1]
    out.push({
      label: `${label} p95 (ms), 10^4 tasks`,
      a: p95,
      b: 5,
      ratio: p95 / 5,
      min: times[0],
      max: times[times.length - 1],
      budget: 5,
      better: 'max',
      ok: p95 <= 5,
      unit: 'ms',
    })
  }
  agent.destroy()
  await new Promise((r) => server.close(r))
  await tasks.close()
  return out
}

function row(label, a, b, ratios, budget, better) {
  const ratio = median(ratios)
  const ok = better === 'min' ? ratio >= budget : ratio <= budget
  return {
    label,
    a: median(a),
    b: median(b),
    ratio,
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    budget,
    better,
    ok,
  }
}

export async function run() {
  // This host is shared: the load at the start and the end of the run goes with its figures.
  const loadAtStart = loadavg()
  const rows = []
  // memory engine vs p-queue, alternating which goes first
  {
    const a = []
    const b = []
    const ratios = []
    await hotpathMemory(MEMORY_TASKS / 10)
    await pQueue(MEMORY_TASKS / 10)
    for (let round = 0; round < ROUNDS; round++) {
      const first = round % 2 === 0
      const x = first ? await hotpathMemory(MEMORY_TASKS) : await pQueue(MEMORY_TASKS)
      const y = first ? await pQueue(MEMORY_TASKS) : await hotpathMemory(MEMORY_TASKS)
      const [h, p] = first ? [x, y] : [y, x]
      a.push(h)
      b.push(p)
      ratios.push(h / p)
    }
    rows.push(row('memory engine vs p-queue (tasks/s)', a, b, ratios, 1.0, 'min'))
  }
  // bounded history
  {
    const r = await history()
    const ratio = (r.after - r.base) / (r.full - r.base)
    rows.push({
      label: `history heap after ${HISTORY_TASKS.toLocaleString('en')} tasks vs at 10 000 (MB)`,
      a: (r.after - r.base) / 2 ** 20,
      b: (r.full - r.base) / 2 ** 20,
      ratio,
      min: ratio,
      max: ratio,
      budget: 1.2,
      better: 'max',
      ok: ratio <= 1.2,
      sizes: { full: r.fullSizes, after: r.afterSizes },
    })
  }
  // dashboard read endpoints
  rows.push(...(await dashboardReads()))
  // BullMQ engine vs plain BullMQ on one Redis
  {
    const { startRedis } = require('../../test/helpers/redis-server.js')
    const redis = await startRedis()
    try {
      const connection = { host: redis.host, port: redis.port, maxRetriesPerRequest: null }
      const a = []
      const b = []
      const ratios = []
      for (let round = 0; round < ROUNDS; round++) {
        const first = round % 2 === 0
        const run1 = (who) =>
          (who === 'engine' ? bullEngine : bullPlain)(connection, `bench${round}${who}`, BULL_JOBS)
        const x = await run1(first ? 'engine' : 'plain')
        const y = await run1(first ? 'plain' : 'engine')
        const [e, p] = first ? [x, y] : [y, x]
        a.push(e)
        b.push(p)
        ratios.push(e / p)
        await redis.cli('FLUSHALL')
      }
      rows.push(row('BullMQEngine vs plain Queue + Worker (jobs/s)', a, b, ratios, 0.9, 'min'))
    } finally {
      await redis.destroy()
    }
  }

  const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en') : (Math.round(n * 100) / 100).toString())
  const load = (l) => l.map((x) => x.toFixed(2)).join(' / ')
  const loadAtEnd = loadavg()
  const historyRow = rows.find((r) => r.sizes)
  const indexes = (f, a) =>
    `records ${f.records} → ${a.records}, creation-order slots ${f.orderSlots} → ${a.orderSlots}, id map ${f.byId} → ${a.byId}, completed ring ${f.finished.completed.size} in ${f.finished.completed.slots} slots → ${a.finished.completed.size} in ${a.finished.completed.slots}`
  const lines = [
    `# tasks${quick ? ' (BENCH_QUICK smoke run: not a measurement)' : ''}`,
    '',
    `${ROUNDS} rounds; memory: ${MEMORY_TASKS.toLocaleString('en')} no-op tasks per round, concurrency ${CONCURRENCY}; bullmq: ${BULL_JOBS.toLocaleString('en')} jobs per round.`,
    '',
    '| case | hotpath | peer / bound | ratio (median) | min–max | budget | |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) =>
      r.unit === 'ms'
        ? `| ${r.label} | ${r.a.toFixed(2)} | – | – | ${r.min.toFixed(2)}–${r.max.toFixed(2)} ms | ≤ ${r.budget} ms | ${r.ok ? 'ok' : 'MISS'} |`
        : `| ${r.label} | ${fmt(r.a)} | ${fmt(r.b)} | ${r.ratio.toFixed(3)} | ${r.min.toFixed(3)}–${r.max.toFixed(3)} | ${r.better === 'min' ? '≥' : '≤'} ${r.budget} | ${r.ok ? 'ok' : 'MISS'} |`,
    ),
    '',
    `Load average (1 / 5 / 15 min; 2 shared cores): ${load(loadAtStart)} at the start, ${load(loadAtEnd)} at the end.`,
    ...(historyRow
      ? [
          '',
          `History indexes at 10 000 tasks → after the last: ${indexes(historyRow.sizes.full, historyRow.sizes.after)}.`,
        ]
      : []),
    '',
  ]
  const md = lines.join('\n')
  console.log(md)
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results', 'tasks.md'), md)
  writeFileSync(
    join(here, 'results', 'tasks.json'),
    JSON.stringify({ quick, rounds: ROUNDS, load: { start: loadAtStart, end: loadAtEnd }, rows }, null, 2),
  )
  return rows.filter((r) => !r.ok).length
}

if (process.argv.includes('--history-child')) {
  historyChild().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}

export default {
  title: 'tasks: memory engine vs p-queue, bounded history, BullMQEngine vs plain BullMQ',
  run,
}
