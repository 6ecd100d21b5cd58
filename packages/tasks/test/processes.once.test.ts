/**
 * Real processes on one Redis: worker processes (child_process.fork of fixtures/worker.js) run
 * the tasks; this process submits and cancels as another instance of the app would.
 * The children load the package sources transpiled on the fly (no build step needed).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { BullMQEngine, createTasks, type TaskEvent, type Tasks } from '../src'
import { settled, until } from './conformance'

const ROOT = resolve(__dirname, '../../..')

function transpilePackage(name: string, into: string): void {
  const source = join(ROOT, 'packages', name, 'src')
  const target = join(into, 'node_modules', '@hotpath', name)
  mkdirSync(target, { recursive: true })
  writeFileSync(join(target, 'package.json'), JSON.stringify({ name: `@hotpath/${name}`, main: 'index.js' }))
  for (const file of readdirSync(source).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(source, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    })
    writeFileSync(join(target, file.replace(/\.ts$/, '.js')), outputText)
  }
}

type Message = { ready?: number; ran?: string; pid?: number; started?: string; aborted?: string; at?: number }

interface Child {
  child: ChildProcess
  messages: Message[]
}

function startWorker(dir: string, env: Record<string, string>): Promise<Child> {
  const child = fork(join(__dirname, 'fixtures', 'worker.js'), [], {
    env: { ...process.env, ...env, NODE_PATH: `${join(dir, 'node_modules')}:${join(ROOT, 'node_modules')}` },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const messages: Message[] = []
  child.on('message', (m) => messages.push(m as Message))
  return new Promise((resolveReady, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)))
    child.on('message', (m) => {
      if ((m as Message).ready) resolveReady({ child, messages })
    })
  })
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) return done()
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(kill)
      done()
    })
    child.send('close')
  })
}

describeRedis('tasks across real processes on one Redis', () => {
  let dir: string
  const children: ChildProcess[] = []
  const made: Tasks[] = []
  const url = new URL(redisUrl() || 'redis://127.0.0.1:6379')

  const producer = (prefix: string) => {
    const tasks = createTasks({
      logger: { warn: () => {}, error: () => {} },
      engine: new BullMQEngine({
        connection: { host: url.hostname, port: Number(url.port) },
        prefix,
        queueName: 'procs',
        worker: false,
      }),
    })
    tasks.define('work', async () => 0)
    tasks.define('long', async () => 0)
    tasks.define('report', async () => 0)
    made.push(tasks)
    return tasks
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hotpath-tasks-procs-'))
    transpilePackage('core', dir)
    transpilePackage('tasks', dir)
  })
  afterEach(async () => {
    await Promise.all(children.splice(0).map(stop))
    await Promise.all(made.splice(0).map((t) => t.close({ timeout: 200 })))
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('runs each of 300 tasks exactly once with two worker processes sharing the queue', async () => {
    const prefix = uniquePrefix('tasks-procs').slice(0, -1)
    const env = { REDIS_URL: redisUrl(), PREFIX: prefix, CONCURRENCY: '5' }
    const workers = await Promise.all([startWorker(dir, env), startWorker(dir, env)])
    children.push(...workers.map((w) => w.child))
    const tasks = producer(prefix)
    const ids = (await Promise.all(Array.from({ length: 300 }, (_, i) => tasks.submit('work', i)))).map(
      (t) => t.id,
    )
    for (const id of ids) expect((await settled(tasks, id, 20_000)).state).toBe('completed')
    const runs = new Map<string, number>()
    const byPid = new Map<number, number>()
    for (const w of workers) {
      for (const m of w.messages) {
        if (m.ran === undefined) continue
        runs.set(m.ran, (runs.get(m.ran) ?? 0) + 1)
        byPid.set(m.pid as number, (byPid.get(m.pid as number) ?? 0) + 1)
      }
    }
    expect(runs.size).toBe(300)
    expect([...runs.values()].every((n) => n === 1)).toBe(true)
    expect([...byPid.keys()].sort()).toEqual(workers.map((w) => w.child.pid).sort())
    expect([...byPid.values()].every((n) => n > 0)).toBe(true)
  }, 40_000)

  it('delivers the progress and completion of a task running in another process to on() listeners', async () => {
    const prefix = uniquePrefix('tasks-events').slice(0, -1)
    const worker = await startWorker(dir, { REDIS_URL: redisUrl(), PREFIX: prefix })
    children.push(worker.child)
    const tasks = producer(prefix)
    const events: TaskEvent[] = []
    tasks.on('progress', (e) => events.push(e))
    tasks.on('completed', (e) => events.push(e))
    const { id } = await tasks.submit('report')
    await until(
      async () => events.filter((e) => e.id === id && e.state === 'completed'),
      (found) => found.length === 1,
    )
    const mine = events.filter((e) => e.id === id)
    expect(mine[0]).toMatchObject({ id, name: 'report', state: 'running', progress: 50, message: 'half way' })
    expect(mine[mine.length - 1]).toMatchObject({ id, name: 'report', state: 'completed', result: 'done' })
  }, 20_000)

  it('aborts a task running in another process within 100 ms (p99 of 40 cancels) and keeps it cancelled', async () => {
    const prefix = uniquePrefix('tasks-cancel').slice(0, -1)
    const worker = await startWorker(dir, { REDIS_URL: redisUrl(), PREFIX: prefix })
    children.push(worker.child)
    const tasks = producer(prefix)
    const latencies: number[] = []
    for (let i = 0; i < 40; i++) {
      const { id } = await tasks.submit('long')
      await until(
        async () => worker.messages.some((m) => m.started === id),
        (ok) => ok,
      )
      const cancelledAt = Date.now()
      expect(await tasks.cancel(id)).toBe(true)
      const aborted = await until(
        async () => worker.messages.find((m) => m.aborted === id),
        (m) => m !== undefined,
      )
      latencies.push((aborted?.at as number) - cancelledAt)
      expect((await tasks.get(id))?.state).toBe('cancelled')
    }
    latencies.sort((a, b) => a - b)
    const p99 = latencies[Math.ceil(0.99 * latencies.length) - 1] as number
    expect(p99).toBeLessThan(100)
    // The late results of the aborted handlers were discarded.
    await new Promise((r) => setTimeout(r, 100))
    const page = await tasks.list({ state: 'completed', name: 'long' })
    expect(page.tasks).toEqual([])
  }, 40_000)
})
