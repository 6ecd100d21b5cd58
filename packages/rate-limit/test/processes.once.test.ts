/**
 * Exact counts with two app *processes* sharing one Redis: each child runs its own Express
 * app with its own limiter and ioredis client, as two hosts of one service would.
 * The children load the package sources transpiled on the fly (no build step needed).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'

const ROOT = resolve(__dirname, '../../..')

const CHILD = `
const express = require('express')
const Redis = require('ioredis')
const { rateLimit, RedisStore } = require('@hotpath/rate-limit')
const client = new Redis(process.env.REDIS_URL)
const app = express()
app.use(rateLimit({
  algorithm: process.env.ALGORITHM,
  limit: 100,
  window: '1h',
  store: new RedisStore({ client, prefix: process.env.PREFIX, commandTimeout: 5000 }),
}))
app.get('/', (_req, res) => { res.send('ok') })
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
process.on('message', () => { server.close(); client.quit().finally(() => process.exit(0)) })
`

/**
 * A freshly booted instance: the store owns its client (\`url\`, no offline queue) and the app
 * sends itself 5 requests in the same tick, while that client is still connecting.
 */
const FRESH_CHILD = `
const express = require('express')
const { rateLimit, RedisStore } = require('@hotpath/rate-limit')
const store = new RedisStore({ url: process.env.REDIS_URL, prefix: process.env.PREFIX, commandTimeout: 5000 })
const limiter = rateLimit({ algorithm: 'fixed-window', limit: 100, window: '1h', store, onStoreError: 'closed' })
const app = express()
app.use(limiter)
app.get('/', (_req, res) => { res.send('ok') })
const server = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/'
  const connecting = store.client.status !== 'ready'
  const statuses = await Promise.all([1, 2, 3, 4, 5].map(() => fetch(url).then((r) => r.status)))
  process.send({ url, connecting, statuses })
})
process.on('message', () => { server.close(); limiter.close().finally(() => process.exit(0)) })
`

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

function startChild(dir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(dir, 'app.js'), [], {
    env: { ...process.env, ...env, NODE_PATH: `${join(dir, 'node_modules')}:${join(ROOT, 'node_modules')}` },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  return new Promise((resolvePort, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`app process exited with ${code}`)))
    child.once('message', (message) => {
      resolvePort({ child, url: `http://127.0.0.1:${(message as { port: number }).port}/` })
    })
  })
}

describeRedis('two app processes sharing one Redis', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hotpath-rl-procs-'))
    transpilePackage('core', dir)
    transpilePackage('rate-limit', dir)
    writeFileSync(join(dir, 'app.js'), CHILD)
    writeFileSync(join(dir, 'fresh.js'), FRESH_CHILD)
  })

  it('counts the first requests of two instances booted together in Redis, while their clients connect', async () => {
    const env = { REDIS_URL: redisUrl(), PREFIX: uniquePrefix('rl-fresh') }
    const boot = () => {
      const child = fork(join(dir, 'fresh.js'), [], {
        env: {
          ...process.env,
          ...env,
          NODE_PATH: `${join(dir, 'node_modules')}:${join(ROOT, 'node_modules')}`,
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      })
      return new Promise<{ child: ChildProcess; url: string; connecting: boolean; statuses: number[] }>(
        (done, reject) => {
          child.once('exit', (code) => reject(new Error(`app process exited with ${code}`)))
          child.once('message', (m) =>
            done({ child, ...(m as { url: string; connecting: boolean; statuses: number[] }) }),
          )
        },
      )
    }
    const apps = await Promise.all([boot(), boot()])
    try {
      expect(apps.map((a) => a.connecting)).toEqual([true, true])
      expect(apps.flatMap((a) => a.statuses)).toEqual(Array(10).fill(200))
      // Both processes' first five went to the one Redis counter: 100 − 10 − this one.
      const res = await fetch((apps[0] as { url: string }).url)
      expect(res.headers.get('ratelimit')).toMatch(/;r=89;/)
    } finally {
      for (const { child } of apps) {
        child.removeAllListeners('exit')
        const exited = new Promise((done) => child.once('exit', done))
        child.send('stop')
        await exited
      }
    }
  }, 30_000)
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it.each(['sliding-window', 'gcra'] as const)(
    'allows exactly 100 of 1000 parallel requests (%s)',
    async (algorithm) => {
      const env = { REDIS_URL: redisUrl(), PREFIX: uniquePrefix('rl-procs'), ALGORITHM: algorithm }
      const apps = await Promise.all([startChild(dir, env), startChild(dir, env)])
      try {
        const statuses = await Promise.all(
          Array.from({ length: 1000 }, (_, i) =>
            fetch((apps[i % 2] as { url: string }).url).then((r) => r.status),
          ),
        )
        expect(statuses.filter((s) => s === 200)).toHaveLength(100)
        expect(statuses.filter((s) => s === 429)).toHaveLength(900)
      } finally {
        for (const { child } of apps) {
          child.removeAllListeners('exit')
          const exited = new Promise((done) => child.once('exit', done))
          child.send('stop')
          await exited
        }
      }
    },
    30_000,
  )
})
