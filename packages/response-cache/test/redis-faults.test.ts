import Redis, { Cluster } from 'ioredis'
import { express } from '../../../test/helpers/express'
import {
  describeRedis,
  type RedisClusterHandle,
  type RedisHandle,
  redisUrl,
  startRedis,
  startRedisCluster,
  uniquePrefix,
} from '../../../test/helpers/redis'
import { RedisStore, type ResponseCache, responseCache } from '../src'
import { type Served, serve, until } from './http'

/**
 * Real Redis faults (own servers): an invalidation issued while Redis cannot apply it is
 * never lost, and no instance serves the invalidated entry once Redis is back; an OOM reply
 * is not an outage; an orphaned lock does not stall misses; a fresh store waits for its first
 * connection. Real clocks throughout: the invalidation marks compare store times.
 */

const quiet = { warn: () => {}, error: () => {} }
const rejections: unknown[] = []
const onRejection = (reason: unknown) => rejections.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', onRejection)
})
afterAll(() => {
  process.off('unhandledRejection', onRejection)
})

function clientOf(url: string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  })
  client.on('error', () => undefined)
  return client
}

interface Instance {
  cache: ResponseCache
  store: RedisStore
  s: Served
  get(): Promise<string>
}

/** The app the fault tests share: `/p` answers the current version of its data, tagged `p`. */
async function instance(
  client: Redis | Cluster,
  prefix: string,
  data: { version: number },
): Promise<Instance> {
  const store = new RedisStore({ client, prefix, commandTimeout: 200, cooldown: 200 })
  const cache = responseCache({ store, ttl: '1m', logger: quiet })
  const app = express()
  app.get('/p', cache.route({ tags: ['p'] }), (_req, res) => {
    res.type('text/plain').send(`v${data.version}`)
  })
  const served = await serve(app)
  // Every instance answers one public host, as behind a load balancer: they share keys.
  const s = { ...served, get: (path: string) => served.get(path, { host: 'shop.example' }) }
  return { cache, store, s, get: async () => (await s.get('/p')).text }
}

async function storedOn(a: Instance, b: Instance, body: string): Promise<void> {
  await until(async () => (await a.s.get('/p')).headers['cache-status'] === 'hotpath; fwd=miss; stored', 8000)
  await until(async () => /^hotpath; hit/.test(String((await b.s.get('/p')).headers['cache-status'])), 8000)
  expect(await b.get()).toBe(body)
}

/** Asks both instances for `ms`; resolves every body they served. */
async function watch(instances: readonly Instance[], ms: number): Promise<string[]> {
  const seen: string[] = []
  const end = Date.now() + ms
  while (Date.now() < end) {
    for (const i of instances) seen.push(await i.get())
    await new Promise((r) => setTimeout(r, 20))
  }
  return seen
}

/**
 * One Redis failure mode, applied to every server at once (the standalone server, or every
 * master of a cluster); `during` runs while it lasts. `settle` waits, after a fault that
 * restarts servers, until they serve again (a cluster must agree on its slots first).
 */
type Fault = (
  servers: readonly RedisHandle[],
  during: () => Promise<void>,
  settle: () => Promise<void>,
) => Promise<void>

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const FAULTS: Array<[string, Fault]> = [
  [
    'a 2 s DEBUG SLEEP',
    async (servers, during) => {
      const sleeping = Promise.all(servers.map((s) => s.pause(2000).catch(() => undefined)))
      await sleep(100)
      await during()
      await sleeping
    },
  ],
  [
    'a 10 s SIGSTOP',
    async (servers, during) => {
      const stoppedAt = Date.now()
      for (const s of servers) process.kill(s.pid as number, 'SIGSTOP')
      try {
        await during()
        await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)))
      } finally {
        for (const s of servers) process.kill(s.pid as number, 'SIGCONT')
      }
    },
  ],
  [
    'a 2 s CLIENT PAUSE',
    async (servers, during) => {
      const paused = Promise.all(servers.map((s) => s.clientPause(2000).catch(() => undefined)))
      await sleep(100)
      await during()
      await paused
      await sleep(2000)
    },
  ],
  [
    'a restart (data kept on disk)',
    async (servers, during, settle) => {
      await Promise.all(servers.map((s) => s.stop()))
      try {
        await during()
      } finally {
        await Promise.all(servers.map((s) => s.start()))
        await settle()
      }
    },
  ],
]

/**
 * The shared body of a fault test: an entry stored on two instances, the data changed and the
 * entry invalidated while Redis cannot answer; neither instance serves the old body meanwhile
 * nor after Redis is back, and the invalidation is applied there.
 */
async function invalidateDuring(
  [a, b]: readonly [Instance, Instance],
  data: { version: number },
  run: (during: () => Promise<void>) => Promise<void>,
): Promise<void> {
  await storedOn(a, b, 'v1')
  let detail: { applied: boolean; pending: number } | undefined
  await run(async () => {
    // The data changes, and the app asks for the entry to go, while Redis cannot answer.
    data.version = 2
    const started = Date.now()
    detail = await a.cache.invalidate({ tag: 'p' }, { detail: true })
    expect(Date.now() - started).toBeLessThan(1000)
    // Both instances keep answering meanwhile, never with the invalidated body.
    expect(await watch([a, b], 300)).not.toContain('v1')
  })
  expect(detail?.applied).toBe(false)
  expect(detail?.pending).toBe(1)
  const after = await watch([a, b], 4000)
  expect(after).not.toContain('v1')
  expect(after.at(-1)).toBe('v2')
  await until(() => pendingOf(a) === 0, 8000)
  expect(rejections).toEqual([])
}

describeRedis('invalidations during a Redis outage (standalone)', () => {
  let redis: RedisHandle
  const clients: Redis[] = []
  const open: Instance[] = []
  beforeAll(async () => {
    redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  }, 30_000)
  afterEach(async () => {
    await Promise.all(open.splice(0).map((i) => i.s.close()))
    for (const c of clients.splice(0)) c.disconnect()
  })
  afterAll(async () => {
    await redis.destroy()
  })

  async function pair(data: { version: number }): Promise<[Instance, Instance]> {
    const prefix = uniquePrefix('cache-outage')
    const made: Instance[] = []
    for (let n = 0; n < 2; n++) {
      const client = clientOf(redis.url)
      clients.push(client)
      await new Promise((resolve) => client.once('ready', resolve))
      made.push(await instance(client, prefix, data))
    }
    open.push(...made)
    return made as [Instance, Instance]
  }

  it.each(FAULTS)(
    'no instance serves an entry invalidated during %s once Redis is back',
    async (_name, fault) => {
      const data = { version: 1 }
      const instances = await pair(data)
      await invalidateDuring(instances, data, (during) => fault([redis], during, async () => undefined))
    },
    40_000,
  )

  it('applies an invalidation under maxmemory noeviction, where writes fail with OOM', async () => {
    const data = { version: 1 }
    const [a, b] = await pair(data)
    await storedOn(a, b, 'v1')
    await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    await redis.cli('CONFIG', 'SET', 'maxmemory', '1')
    try {
      data.version = 2
      const detail = await a.cache.invalidate({ tag: 'p' }, { detail: true })
      expect([detail.applied, detail.removed]).toEqual([true, 1])
      expect(await watch([a, b], 500)).not.toContain('v1')
    } finally {
      await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
    }
  })

  it('keeps reading and deleting after OOM replies to SET: the circuit stays closed', async () => {
    const data = { version: 1 }
    const [a, b] = await pair(data)
    await storedOn(a, b, 'v1')
    await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    await redis.cli('CONFIG', 'SET', 'maxmemory', '1')
    try {
      // Misses of other URLs whose SET gets OOM, more than the failure threshold.
      for (let n = 0; n < 6; n++) await a.s.get(`/p?n=${n}`)
      await until(() => a.cache.stats().storeErrors >= 3)
      expect(a.store.circuit).toBe('closed')
      const hit = await a.s.get('/p')
      expect([hit.text, String(hit.headers['cache-status'])]).toEqual([
        'v1',
        expect.stringMatching(/^hotpath; hit/),
      ])
      expect(await a.cache.invalidate({ tag: 'p' })).toBe(1)
    } finally {
      await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
    }
  })

  it('does not stall a miss on a lock nobody holds any more (a late SET NX)', async () => {
    const data = { version: 1 }
    const [a] = await pair(data)
    await until(
      async () => (await a.s.get('/p')).headers['cache-status'] === 'hotpath; fwd=miss; stored',
      8000,
    )
    const probe = clientOf(redis.url)
    clients.push(probe)
    await new Promise((resolve) => probe.once('ready', resolve))
    const [entryKey] = await probe.keys(`${a.store.prefix}e:*`)
    const primary = String(entryKey).slice(String(entryKey).indexOf('{') + 1, String(entryKey).indexOf('}'))
    await probe.del(entryKey as string)
    // A lock taken for the key by a command that timed out on its side and ran in Redis later.
    expect(await a.store.lock(primary, 400)).toBeDefined()
    const started = Date.now()
    const reply = await a.s.get('/p')
    expect(reply.text).toBe('v1')
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

/** Invalidations `a` still has to apply. */
function pendingOf(i: Instance): number {
  return i.cache.stats().pendingInvalidations
}

describeRedis('a RedisStore during its first connect', () => {
  const open: Array<{ s: Served; store: RedisStore }> = []
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.s.close()
      await o.store.close()
    }
  })

  it('caches the requests that arrive before the connection is up, instead of failing them', async () => {
    const store = new RedisStore({
      url: redisUrl(),
      prefix: uniquePrefix('cache-first'),
      commandTimeout: 1000,
    })
    const cache = responseCache({ store, logger: quiet })
    const app = express()
    app.get('/first', cache, (_req, res) => {
      res.send('first')
    })
    const s = await serve(app)
    open.push({ s, store })
    const reply = await s.get('/first')
    expect(reply.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(cache.stats().storeErrors).toBe(0)
  })

  it('shares the first entry between two instances booted together', async () => {
    const prefix = uniquePrefix('cache-boot')
    let calls = 0
    const boot = async () => {
      const store = new RedisStore({ url: redisUrl(), prefix, commandTimeout: 1000 })
      const cache = responseCache({ store, logger: quiet })
      const app = express()
      app.get('/boot', cache, async (_req, res) => {
        calls++
        await new Promise((r) => setTimeout(r, 50))
        res.send('booted')
      })
      const s = await serve(app)
      open.push({ s, store })
      return s
    }
    const [a, b] = [await boot(), await boot()]
    const replies = await Promise.all([
      a.get('/boot', { host: 'shop.example' }),
      b.get('/boot', { host: 'shop.example' }),
    ])
    expect(replies.map((r) => r.text)).toEqual(['booted', 'booted'])
    expect(calls).toBe(1)
  })

  it('runs uncached after commandTimeout when the first connection never comes', async () => {
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', commandTimeout: 150 })
    const cache = responseCache({ store, logger: quiet })
    const app = express()
    app.get('/none', cache, (_req, res) => {
      res.send('none')
    })
    const s = await serve(app)
    open.push({ s, store })
    const started = Date.now()
    const reply = await s.get('/none')
    expect(Date.now() - started).toBeLessThan(1000)
    expect([reply.text, reply.headers['cache-status']]).toEqual([
      'none',
      'hotpath; fwd=bypass; detail=store-error',
    ])
  })
})

describeRedis('invalidations during a Redis outage (3-master cluster)', () => {
  let cluster: RedisClusterHandle
  let clients: Cluster[] = []
  const open: Instance[] = []
  beforeAll(async () => {
    // Kept on disk like the standalone server's, so a restart brings the entry back.
    cluster = await startRedisCluster(3, ['--appendonly', 'yes', '--appendfsync', 'always'])
  }, 60_000)
  afterAll(async () => {
    await Promise.all(open.map((i) => i.s.close()))
    for (const c of clients) c.disconnect()
    clients = []
    await cluster.stop()
  })

  async function clusterPair(data: { version: number }): Promise<[Instance, Instance]> {
    const prefix = uniquePrefix('cache-cluster-outage')
    const made: Instance[] = []
    for (let n = 0; n < 2; n++) {
      const client = new Cluster(cluster.nodes, {
        enableOfflineQueue: false,
        redisOptions: { maxRetriesPerRequest: 1 },
      })
      client.on('error', () => undefined)
      clients.push(client)
      await new Promise((resolve) => client.once('ready', resolve))
      made.push(await instance(client, prefix, data))
    }
    open.push(...made)
    return made as [Instance, Instance]
  }

  /** After a restart of every master: the cluster agrees on its slots again. */
  async function clusterOk(): Promise<void> {
    for (const server of cluster.servers) {
      await until(async () => {
        try {
          return (await server.cli('CLUSTER', 'INFO')).includes('cluster_state:ok')
        } catch {
          return false
        }
      }, 20_000)
    }
  }

  it.each(FAULTS)(
    'no instance serves an entry invalidated during %s of every master once the cluster is back',
    async (_name, fault) => {
      const data = { version: 1 }
      const instances = await clusterPair(data)
      await invalidateDuring(instances, data, (during) => fault(cluster.servers, during, clusterOk))
    },
    60_000,
  )

  it('applies an invalidation under maxmemory noeviction on every master, where writes fail with OOM', async () => {
    const data = { version: 1 }
    const [a, b] = await clusterPair(data)
    await storedOn(a, b, 'v1')
    for (const server of cluster.servers) {
      await server.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
      await server.cli('CONFIG', 'SET', 'maxmemory', '1')
    }
    try {
      data.version = 2
      const detail = await a.cache.invalidate({ tag: 'p' }, { detail: true })
      expect([detail.applied, detail.removed]).toEqual([true, 1])
      expect(await watch([a, b], 500)).not.toContain('v1')
    } finally {
      for (const server of cluster.servers) await server.cli('CONFIG', 'SET', 'maxmemory', '0')
    }
    expect((await watch([a, b], 500)).at(-1)).toBe('v2')
  }, 40_000)
})

describeRedis('an invalidation by another instance while a miss is in flight', () => {
  const clients: Redis[] = []
  const servers: Served[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
    for (const c of clients) c.disconnect()
  })

  it('is not undone when the miss stores its older answer', async () => {
    const prefix = uniquePrefix('cache-inflight')
    const data = { version: 1 }
    let release: () => void = () => undefined
    let calls = 0
    const make = async () => {
      const client = clientOf(redisUrl())
      clients.push(client)
      await new Promise((resolve) => client.once('ready', resolve))
      const cache = responseCache({ store: new RedisStore({ client, prefix }), logger: quiet })
      const app = express()
      app.get('/slow', cache.route({ tags: ['slow'] }), async (_req, res) => {
        calls++
        const read = data.version
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve))
        res.type('text/plain').send(`v${read}`)
      })
      const served = await serve(app)
      servers.push(served)
      return { cache, get: () => served.get('/slow', { host: 'shop.example' }) }
    }
    const a = await make()
    const b = await make()
    const first = a.get()
    await until(() => calls === 1)
    await new Promise((r) => setTimeout(r, 5))
    data.version = 2
    expect(await b.cache.invalidate({ tag: 'slow' }, { detail: true })).toMatchObject({ applied: true })
    release()
    expect((await first).text).toBe('v1')
    await new Promise((r) => setTimeout(r, 100))
    const next = await b.get()
    expect(next.text).toBe('v2')
    expect(next.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
  })
})

describeRedis('the miss lock while its holder works', () => {
  const clients: Redis[] = []
  const servers: Served[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
    for (const c of clients) c.disconnect()
  })

  it('keeps the other instance waiting for a handler that outlasts one lease', async () => {
    const prefix = uniquePrefix('cache-lease')
    let calls = 0
    const make = async () => {
      const client = clientOf(redisUrl())
      clients.push(client)
      await new Promise((resolve) => client.once('ready', resolve))
      const store = new RedisStore({ client, prefix, commandTimeout: 200 })
      const cache = responseCache({ store, logger: quiet })
      const app = express()
      app.get('/long', cache, async (_req, res) => {
        calls++
        await new Promise((r) => setTimeout(r, 900))
        res.send('made once')
      })
      const served = await serve(app)
      servers.push(served)
      return () => served.get('/long', { host: 'shop.example' })
    }
    const [a, b] = [await make(), await make()]
    const first = a()
    await new Promise((r) => setTimeout(r, 50))
    const second = await b()
    expect([(await first).text, second.text]).toEqual(['made once', 'made once'])
    expect(calls).toBe(1)
  })
})
