import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { cacheControl } from '@hotpath/cache-control'
import { compression } from '@hotpath/compression'
import { compose } from '@hotpath/core'
import { profiler } from '@hotpath/profiler'
import compressionPackage from 'compression'
import type { RequestHandler } from 'express'
import Redis from 'ioredis'
import { express } from '../../../test/helpers/express'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import {
  type CacheEntry,
  type CacheStore,
  MemoryStore,
  RedisStore,
  type ResponseCache,
  responseCache,
} from '../src'
import { type Reply, type Served, serve, until } from './http'

/**
 * Issue: with compression mounted before the cache, compression replaces `write`/`end` on the
 * response at its first write, and the cache stored the first chunk only. Whatever the mount
 * order of compression, cache-control, the profiler and the cache, a body is stored whole or
 * not at all: each stored body is compared byte for byte with what the client received.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-capture-'))
// 230 KB of text that compresses, but not to nothing: lines with their own numbers.
const big = Buffer.from(
  Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 7919).toString(36)} of the static file.\n`)
    .join('')
    .repeat(1),
)
const file = path.join(dir, 'big.txt')
fs.writeFileSync(file, big)
const chunks = Array.from({ length: 10 }, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(1020)}`)
const written = Buffer.from(chunks.join(''))
const json = { items: Array.from({ length: 800 }, (_, id) => ({ id, name: `item ${id}` })) }
const jsonBody = Buffer.from(JSON.stringify(json))

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

/** Every body kind the issue names, with the bytes the handler sent. */
const BODIES: Array<[string, Buffer]> = [
  ['res.write × 10', written],
  ['express.static', big],
  ['res.sendFile', big],
  ['a piped stream', written],
  ['res.json', jsonBody],
]

function decode(body: Buffer, encoding: unknown): Buffer {
  if (encoding === 'gzip') return gunzipSync(body)
  if (encoding === 'br') return brotliDecompressSync(body)
  if (encoding === 'deflate') return inflateSync(body)
  return body
}

function header(entry: CacheEntry, name: string): string | undefined {
  const found = entry.headers.find(([n]) => n === name)
  return found === undefined ? undefined : String(found[1])
}

/** A memory store that keeps a copy of every entry written to it. */
function recordingStore(): { store: CacheStore; entries: CacheEntry[] } {
  const inner = new MemoryStore()
  const entries: CacheEntry[] = []
  const store: CacheStore = {
    kind: 'memory',
    shared: false,
    get: (key) => inner.get(key),
    set(key, value, ttl, tags) {
      if (value.kind === 'entry') entries.push({ ...value, body: Buffer.from(value.body) })
      return inner.set(key, value, ttl, tags)
    },
    deleteTag: (tag) => inner.deleteTag(tag),
    delete: (key) => inner.delete(key),
    clear: () => inner.clear(),
    lock: (key, ttl) => inner.lock(key, ttl),
    unlock: (key, token) => inner.unlock(key, token),
    size: () => inner.size(),
    close: () => inner.close(),
  }
  return { store, entries }
}

type Layer = 'compression' | 'cache-control' | 'profiler' | 'cache'
const LAYERS: Layer[] = ['compression', 'cache-control', 'profiler', 'cache']

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  )
}

interface Shop {
  s: Served
  cache: ResponseCache
  entries: CacheEntry[]
  close(): Promise<void>
}

async function shop(order: readonly Layer[], cacheAs: 'use' | 'route', redis?: Redis): Promise<Shop> {
  const recording = recordingStore()
  const entries = recording.entries
  const store =
    redis === undefined ? recording.store : new RedisStore({ client: redis, prefix: uniquePrefix('capture') })
  const cache = responseCache({ store, logger: { warn: () => {}, error: () => {} } })
  const prof = profiler({ registry: false })
  const layers: Record<Layer, RequestHandler> = {
    compression: compression(),
    'cache-control': cacheControl({ rules: [{ match: '/**', public: true, maxAge: '5m' }] }),
    profiler: prof as unknown as RequestHandler,
    cache,
  }
  const app = express()
  app.use(compose(order.filter((l) => cacheAs === 'use' || l !== 'cache').map((l) => layers[l])))
  const route: RequestHandler[] = cacheAs === 'route' ? [cache.route()] : []
  app.get('/write', ...route, (_req, res) => {
    res.type('text/plain')
    for (const chunk of chunks) res.write(chunk)
    res.end()
  })
  app.use('/static', ...route, express.static(dir, { cacheControl: false }))
  app.get('/file', ...route, (_req, res, next) => {
    res.sendFile(file, { cacheControl: false }, (err) => err && next(err))
  })
  app.get('/pipe', ...route, (_req, res) => {
    res.type('text/plain')
    Readable.from(chunks.map((c) => Buffer.from(c))).pipe(res)
  })
  app.get('/json', ...route, (_req, res) => {
    res.json(json)
  })
  const s = await serve(app)
  return {
    s,
    cache,
    entries,
    close: async () => {
      await s.close()
      prof.close()
    },
  }
}

const PATHS: Record<string, string> = {
  'res.write × 10': '/write',
  'express.static': '/static/big.txt',
  'res.sendFile': '/file',
  'a piped stream': '/pipe',
  'res.json': '/json',
}

/** The entries stored for one URL (its implicit URL tag), with the variants made later. */
function stored(app: Shop, url: string): CacheEntry[] {
  const found = app.entries.filter((e) => e.tags.includes(`u:${url}`))
  expect(found.length).toBeGreaterThan(0)
  return found
}

/** Checks every stored entry against `expected`: the body whole, its Content-Length, its variants. */
function expectWhole(entries: readonly CacheEntry[], expected: Buffer): void {
  for (const entry of entries) {
    const body = decode(entry.body, header(entry, 'content-encoding'))
    expect(body.equals(expected)).toBe(true)
    const length = header(entry, 'content-length')
    if (length !== undefined) expect(Number(length)).toBe(entry.body.length)
    for (const [coding, bytes] of Object.entries(entry.variants)) {
      expect(decode(bytes, coding).equals(expected)).toBe(true)
    }
  }
}

function expectReceived(reply: Reply, expected: Buffer): void {
  expect(reply.status).toBe(200)
  const got = decode(reply.body, reply.headers['content-encoding'])
  expect(got.equals(expected)).toBe(true)
}

const orders = permutations(LAYERS).map((order) => [order.join(' → '), order] as const)

describe.each(orders)('mounted %s', (_name, order) => {
  let app: Shop
  beforeAll(async () => {
    app = await shop(order, 'use')
  })
  afterAll(async () => {
    await app.close()
  })

  it.each(BODIES)('stores %s whole, as the gzip client received it', async (kind, expected) => {
    const url = `${PATHS[kind]}?c=gzip`
    const before = app.cache.stats().stores
    const miss = await app.s.get(url, { 'accept-encoding': 'gzip' })
    expectReceived(miss, expected)
    await until(() => app.cache.stats().stores > before)
    const hit = await app.s.get(url, { 'accept-encoding': 'gzip' })
    expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
    expectReceived(hit, expected)
    expectWhole(stored(app, url), expected)
  })

  it.each(BODIES)('stores %s whole, as the identity client received it', async (kind, expected) => {
    const url = `${PATHS[kind]}?c=identity`
    const before = app.cache.stats().stores
    const miss = await app.s.get(url)
    expectReceived(miss, expected)
    await until(() => app.cache.stats().stores > before)
    const hit = await app.s.get(url, { 'accept-encoding': 'gzip, br' })
    expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
    expectReceived(hit, expected)
    expectWhole(stored(app, url), expected)
  })
})

describe('mounted with compose(…) then cache.route(), as the READMEs show', () => {
  let app: Shop
  beforeAll(async () => {
    app = await shop(['profiler', 'compression', 'cache-control'], 'route')
  })
  afterAll(async () => {
    await app.close()
  })

  it.each(BODIES)('stores %s whole for a gzip client', async (kind, expected) => {
    const url = `${PATHS[kind]}?c=route`
    const before = app.cache.stats().stores
    expectReceived(await app.s.get(url, { 'accept-encoding': 'gzip' }), expected)
    await until(() => app.cache.stats().stores > before)
    const hit = await app.s.get(url, { 'accept-encoding': 'br' })
    expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
    expectReceived(hit, expected)
    expectWhole(stored(app, url), expected)
  })
})

describeRedis('with a RedisStore, mounted as the READMEs show', () => {
  let client: Redis
  let app: Shop
  beforeAll(async () => {
    client = new Redis(redisUrl())
    app = await shop(['profiler', 'compression', 'cache-control'], 'route', client)
  })
  afterAll(async () => {
    await app.close()
    client.disconnect()
  })

  it.each(BODIES)('replays %s whole from Redis to gzip, br and identity clients', async (kind, expected) => {
    const url = `${PATHS[kind]}?c=redis`
    const before = app.cache.stats().stores
    expectReceived(await app.s.get(url, { 'accept-encoding': 'gzip' }), expected)
    await until(() => app.cache.stats().stores > before)
    for (const accept of ['gzip', 'br', 'identity']) {
      const hit = await app.s.get(url, { 'accept-encoding': accept })
      expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
      expectReceived(hit, expected)
    }
  })
})

describe.each([
  ['before', true],
  ['after', false],
])('the compression package mounted %s the cache', (_where, before) => {
  let app: Shop
  beforeAll(async () => {
    const recording = recordingStore()
    const cache = responseCache({ store: recording.store, logger: { warn: () => {}, error: () => {} } })
    const server = express()
    if (before) server.use(compressionPackage({ threshold: 0 }))
    server.use(cache)
    if (!before) server.use(compressionPackage({ threshold: 0 }))
    server.get('/write', (_req, res) => {
      res.type('text/plain')
      for (const chunk of chunks) res.write(chunk)
      res.end()
    })
    server.use('/static', express.static(dir, { cacheControl: false }))
    server.get('/json', (_req, res) => {
      res.json(json)
    })
    const s = await serve(server)
    app = { s, cache, entries: recording.entries, close: () => s.close() }
  })
  afterAll(async () => {
    await app.close()
  })

  it.each(BODIES.filter(([kind]) => ['res.write × 10', 'express.static', 'res.json'].includes(kind)))(
    'stores %s whole',
    async (kind, expected) => {
      const url = `${PATHS[kind]}?c=package`
      const before = app.cache.stats().stores
      expectReceived(await app.s.get(url, { 'accept-encoding': 'gzip' }), expected)
      await until(() => app.cache.stats().stores > before)
      const hit = await app.s.get(url, { 'accept-encoding': 'gzip' })
      expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
      expectReceived(hit, expected)
      expectWhole(stored(app, url), expected)
    },
  )
})
