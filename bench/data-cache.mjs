// The data cache against its peers, in paired rounds of one run (`node bench/data-cache.mjs`,
// after a build; `BENCH_QUICK=1` for a smoke run). Each case alternates the libraries round by
// round, so drift on this shared host hits them alike, and states the median of the per-round
// ratios to the peer:
//   L1 hit      getOrSet of warm keys from memory: @hotpath/cache, bentocache, cache-manager
//   L2 hit      getOrSet with no L1, every call one Redis read (real redis-server), 32 in flight
//   stampede    4 processes × 250 concurrent misses of one key on one Redis: factory runs
//   coherence   a set on one process until another process reads the new value (ms, p50/p99)
//   bloom       10^5 random absent ids through getOrSet({ bloom }) at a 1% rate: factory calls
//   memory      RSS growth of a 64 MB L1 under 10^6 distinct keys (own process, after gc)
//   serializer  encode + decode of a small and a 100-row value: v8, JSON, msgpackr
// Results: bench/results/data-cache-ops.md and bench/results/data-cache-ops.json.
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'

const require = createRequire(import.meta.url)
const here = fileURLToPath(new URL('.', import.meta.url))
const quick = process.env.BENCH_QUICK === '1'
const ROUNDS = quick ? 2 : Number(process.env.BENCH_ROUNDS) || 7
const product = (i) => ({
  id: i,
  sku: `SKU-${i}`,
  name: `Product ${i}`,
  price: 9.99 + i,
  stock: i % 40,
  tags: ['a', 'b'],
})

// ---- the libraries, each behind one getOrSet ----

async function library(name, tier, redisUrl, shared) {
  const url = new URL(redisUrl || 'redis://127.0.0.1:6379')
  // The stampede's processes share one prefix (one fleet); every other case has its own.
  const prefix = shared ?? `bench:dc:${name}:${process.pid}:${Math.random().toString(36).slice(2)}:`
  if (name === 'hotpath') {
    const { createCache, MemoryTier, RedisTier } = await import('@hotpath/cache')
    const cache =
      tier === 'l1'
        ? createCache({ l1: new MemoryTier({ maxBytes: '64mb' }) })
        : createCache({
            l1: tier === 'l2' ? false : new MemoryTier({ maxBytes: '64mb' }),
            l2: new RedisTier({ url: redisUrl, prefix, commandTimeout: 2000 }),
            lock: { ttl: '10s', wait: '5s' },
          })
    return {
      getOrSet: (key, fn) => cache.getOrSet(key, fn),
      ready: () => waitBus(cache),
      close: () => cache.close(),
    }
  }
  if (name === 'bentocache') {
    const { BentoCache, bentostore } = await import('bentocache')
    const { memoryDriver } = await import('bentocache/drivers/memory')
    const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis')
    const connection = { host: url.hostname, port: Number(url.port), keyPrefix: prefix }
    let store = bentostore()
    if (tier !== 'l2') store = store.useL1Layer(memoryDriver({ maxSize: '64mb' }))
    if (tier !== 'l1') store = store.useL2Layer(redisDriver({ connection }))
    if (tier === 'fleet') store = store.useBus(redisBusDriver({ connection }))
    const bento = new BentoCache({ default: 'c', stores: { c: store } })
    return {
      getOrSet: (key, fn) => bento.getOrSet({ key, factory: fn, ttl: '5m' }),
      ready: async () => undefined,
      close: () => bento.disconnectAll(),
    }
  }
  const { createCache } = await import('cache-manager')
  const { Keyv } = await import('keyv')
  let stores
  if (tier === 'l1') {
    const { CacheableMemory } = await import('cacheable')
    stores = [new Keyv({ store: new CacheableMemory({ lruSize: 1_000_000 }) })]
  } else {
    const { default: KeyvRedis } = await import('@keyv/redis')
    stores = [new Keyv({ store: new KeyvRedis(redisUrl), namespace: prefix })]
  }
  const cache = createCache({ stores })
  return {
    getOrSet: (key, fn) => cache.wrap(key, fn, 300_000),
    ready: async () => undefined,
    close: () => cache.disconnect?.(),
  }
}

async function waitBus(cache) {
  const up = () => !cache.stats().bus.enabled || (cache.stats().bus.connected && cache.stats().l2.tagsLoaded)
  for (let i = 0; i < 500 && !up(); i++) await sleep(10)
}

const NAMES = ['hotpath', 'bentocache', 'cache-manager']

// ---- paired rounds ----

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function opsRound(lib, keys, ops, inFlight) {
  let next = 0
  const started = process.hrtime.bigint()
  const worker = async () => {
    while (next < ops) {
      const i = next++
      await lib.getOrSet(keys[i % keys.length], async () => product(i))
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return ops / (Number(process.hrtime.bigint() - started) / 1e9)
}

async function hitCase(tier, redisUrl) {
  const keys = Array.from({ length: 1000 }, (_, i) => `product:${i}`)
  const libs = {}
  for (const name of NAMES) {
    libs[name] = await library(name, tier, redisUrl)
    await libs[name].ready()
    for (const key of keys) await libs[name].getOrSet(key, async () => product(1))
  }
  const ops = tier === 'l1' ? (quick ? 50_000 : 300_000) : quick ? 5_000 : 30_000
  const inFlight = tier === 'l1' ? 1 : 32
  const rates = Object.fromEntries(NAMES.map((name) => [name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    // The order turns each round: no library always runs first (cold) or last.
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length])
    for (const name of order) rates[name].push(await opsRound(libs[name], keys, ops, inFlight))
  }
  for (const lib of Object.values(libs)) await lib.close()
  return summarise(rates)
}

function summarise(rates) {
  const out = {}
  for (const [name, list] of Object.entries(rates)) {
    out[name] = {
      median: Math.round(median(list)),
      min: Math.round(Math.min(...list)),
      max: Math.round(Math.max(...list)),
      vsBentocache: round3(median(list.map((v, i) => v / rates.bentocache[i]))),
      vsCacheManager: round3(median(list.map((v, i) => v / rates['cache-manager'][i]))),
    }
  }
  return out
}

const round3 = (n) => Math.round(n * 1000) / 1000

// ---- stampede over 4 processes ----

async function stampedeCase(redisUrl) {
  const out = {}
  for (const name of NAMES) {
    const children = []
    const fleet = `bench:dc:fleet:${name}:${Date.now()}:`
    for (let i = 0; i < 4; i++) {
      const child = fork(fileURLToPath(import.meta.url), ['child-stampede', name, redisUrl, fleet], {
        stdio: 'inherit',
      })
      await new Promise((resolve) => child.once('message', resolve))
      children.push(child)
    }
    const runs = []
    for (let round = 0; round < Math.min(ROUNDS, 3); round++) {
      const key = `stampede:${round}`
      const counts = await Promise.all(
        children.map(
          (child) =>
            new Promise((resolve) => {
              child.once('message', (message) => resolve(message.runs))
              child.send({ key, n: 250 })
            }),
        ),
      )
      runs.push(counts.reduce((a, b) => a + b, 0))
    }
    for (const child of children) child.kill()
    out[name] = { factoryRuns: runs }
  }
  return out
}

async function childStampede(name, redisUrl, prefix) {
  const lib = await library(name, name === 'cache-manager' ? 'l2' : 'fleet', redisUrl, prefix)
  await lib.ready()
  process.on('message', async ({ key, n }) => {
    let runs = 0
    await Promise.all(
      Array.from({ length: n }, () =>
        lib.getOrSet(key, async () => {
          runs++
          await sleep(50)
          return product(1)
        }),
      ),
    )
    process.send({ runs })
  })
  process.send({ ready: true })
}

// ---- coherence across two processes ----

async function coherenceCase(redisUrl) {
  const fleet = `bench:dc:coherence:${Date.now()}:`
  const start = async () => {
    const child = fork(fileURLToPath(import.meta.url), ['child-coherence', redisUrl, fleet], {
      stdio: 'inherit',
    })
    await new Promise((resolve) => child.once('message', resolve))
    return child
  }
  const [writer, reader] = [await start(), await start()]
  const ask = (child, message) =>
    new Promise((resolve) => {
      child.once('message', resolve)
      child.send(message)
    })
  const lags = []
  const trials = quick ? 20 : 200
  for (let i = 0; i < trials; i++) {
    const key = `c${i}`
    await ask(writer, { cmd: 'set', key, value: 'old' })
    await ask(reader, { cmd: 'get', key })
    const watching = ask(reader, { cmd: 'watch', key })
    await sleep(5)
    const { startedAt } = await ask(writer, { cmd: 'set', key, value: 'new' })
    const { at } = await watching
    lags.push(at - startedAt)
  }
  writer.kill()
  reader.kill()
  lags.sort((a, b) => a - b)
  const q = (p) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]
  return { trials, p50: q(0.5), p99: q(0.99), max: lags[lags.length - 1] }
}

async function childCoherence(redisUrl, prefix) {
  const { createCache, RedisTier } = await import('@hotpath/cache')
  const cache = createCache({ l2: new RedisTier({ url: redisUrl, prefix, commandTimeout: 2000 }) })
  await waitBus(cache)
  process.on('message', async ({ cmd, key, value }) => {
    if (cmd === 'set') {
      const startedAt = Date.now()
      await cache.set(key, value)
      process.send({ startedAt })
    } else if (cmd === 'get') process.send({ value: await cache.get(key) })
    else {
      for (;;) {
        if ((await cache.get(key)) !== 'old') return process.send({ at: Date.now() })
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  })
  process.send({ ready: true })
}

// ---- Bloom filter false positives ----

async function bloomCase(redisUrl) {
  const { createCache, RedisTier } = await import('@hotpath/cache')
  const ids = Array.from({ length: 100_000 }, (_, i) => `id-${i}`)
  const out = {}
  for (const tier of ['memory', 'redis']) {
    const cache = createCache({
      ...(tier === 'redis'
        ? { l2: new RedisTier({ url: redisUrl, prefix: `bench:bloom:${Date.now()}:`, commandTimeout: 2000 }) }
        : {}),
      bloom: { expected: ids.length, falsePositiveRate: 0.01, load: () => ids },
    })
    await cache.bloom.has('warm')
    for (let i = 0; i < 500 && !cache.bloom.ready; i++) await sleep(10)
    const absent = quick ? 10_000 : 100_000
    let calls = 0
    for (let i = 0; i < absent; i++) {
      const id = `absent-${Math.random().toString(36).slice(2)}-${i}`
      await cache.getOrSet(
        ['p', id],
        async () => {
          calls++
          return null
        },
        { bloom: id },
      )
    }
    out[tier] = { absent, factoryCalls: calls, rate: round3((calls / absent) * 100) / 100 }
    await cache.close()
  }
  return out
}

// ---- memory ----

async function memoryCase() {
  const child = fork(fileURLToPath(import.meta.url), ['child-memory'], {
    execArgv: ['--expose-gc'],
    stdio: 'inherit',
  })
  return new Promise((resolve) => child.once('message', (message) => resolve(message)))
}

async function childMemory() {
  const { createCache, MemoryTier } = await import('@hotpath/cache')
  const maxBytes = 64 * 1024 * 1024
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      globalThis.gc()
      await sleep(100)
    }
    return process.memoryUsage().rss
  }
  const before = await settle()
  const cache = createCache({ l1: new MemoryTier({ maxBytes }) })
  const keys = quick ? 100_000 : 1_000_000
  for (let i = 0; i < keys; i++) await cache.set(`key:${i}`, product(i))
  const after = await settle()
  const stats = cache.stats()
  process.send({
    keys,
    maxBytes,
    rssGrowth: after - before,
    ratio: round3((after - before) / maxBytes),
    entries: stats.entries,
    accountedBytes: stats.bytes,
  })
  process.exit(0)
}

// ---- serializers ----

function serializerCase() {
  const { Packr } = require('msgpackr')
  const packr = new Packr({ useRecords: false, moreTypes: true })
  const codecs = {
    msgpackr: [(v) => packr.pack(v), (b) => packr.unpack(b)],
    v8: [(v) => v8.serialize(v), (b) => v8.deserialize(b)],
    json: [(v) => Buffer.from(JSON.stringify(v)), (b) => JSON.parse(b.toString('utf8'))],
  }
  const values = {
    small: [1, product(1), 1, 2, 3, null],
    rows100: [1, Array.from({ length: 100 }, (_, i) => product(i)), 1, 2, 3, null],
  }
  const out = {}
  for (const [label, value] of Object.entries(values)) {
    const n = label === 'small' ? (quick ? 20_000 : 200_000) : quick ? 500 : 5_000
    const rates = Object.fromEntries(Object.keys(codecs).map((name) => [name, []]))
    const bytes = {}
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, [encode, decode]] of Object.entries(codecs)) {
        const started = process.hrtime.bigint()
        let buffer
        for (let i = 0; i < n; i++) {
          buffer = encode(value)
          decode(buffer)
        }
        rates[name].push(n / (Number(process.hrtime.bigint() - started) / 1e9))
        bytes[name] = buffer.length
      }
    }
    out[label] = Object.fromEntries(
      Object.keys(codecs).map((name) => [
        name,
        {
          opsPerSec: Math.round(median(rates[name])),
          bytes: bytes[name],
          vsMsgpackr: round3(median(rates[name].map((v, i) => v / rates.msgpackr[i]))),
        },
      ]),
    )
  }
  return out
}

// ---- report ----

function table(title, rows, columns) {
  const head = `| ${columns.join(' | ')} |\n| ${columns.map(() => '---').join(' | ')} |`
  return `### ${title}\n\n${head}\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`
}

async function main() {
  const { startRedis } = require('../test/helpers/redis-server.js')
  const redis = await startRedis()
  try {
    const results = {}
    results.l1 = await hitCase('l1', redis.url)
    results.l2 = await hitCase('l2', redis.url)
    results.stampede = await stampedeCase(redis.url)
    results.coherence = await coherenceCase(redis.url)
    results.bloom = await bloomCase(redis.url)
    results.memory = await memoryCase()
    results.serializer = serializerCase()
    const hitRows = (r) =>
      NAMES.map((n) => [n, r[n].median, `${r[n].min}–${r[n].max}`, r[n].vsBentocache, r[n].vsCacheManager])
    const md = [
      `# data-cache (${ROUNDS} paired rounds${quick ? ', BENCH_QUICK' : ''}, ${new Date().toISOString()})\n`,
      table('L1 hit getOrSet (ops/s; budget ≥ 2× bentocache, ≥ 3× cache-manager)', hitRows(results.l1), [
        'library',
        'median',
        'min–max',
        '× bentocache',
        '× cache-manager',
      ]),
      table(
        'L2 hit getOrSet, real Redis, 32 in flight (ops/s; budget ≥ 1.0× bentocache)',
        hitRows(results.l2),
        ['library', 'median', 'min–max', '× bentocache', '× cache-manager'],
      ),
      table(
        'Stampede: 4 processes × 250 concurrent misses (factory runs per round; budget 1)',
        NAMES.map((n) => [n, results.stampede[n].factoryRuns.join(', ')]),
        ['library', 'factory runs'],
      ),
      table(
        'Coherence: a set on one process until another reads it (ms; budget p99 ≤ 50)',
        [[results.coherence.trials, results.coherence.p50, results.coherence.p99, results.coherence.max]],
        ['trials', 'p50', 'p99', 'max'],
      ),
      table(
        'Bloom filter, 1% rate (budget ≤ 1.1% of absent ids reach the factory)',
        Object.entries(results.bloom).map(([t, r]) => [
          t,
          r.absent,
          r.factoryCalls,
          `${(r.rate * 100).toFixed(2)}%`,
        ]),
        ['filter', 'absent ids', 'factory calls', 'rate'],
      ),
      table(
        'L1 memory (budget RSS growth ≤ 1.3× maxBytes)',
        [
          [
            results.memory.keys,
            results.memory.maxBytes,
            results.memory.rssGrowth,
            results.memory.ratio,
            results.memory.entries,
          ],
        ],
        ['keys', 'maxBytes', 'RSS growth', '× maxBytes', 'entries kept'],
      ),
      table(
        'Serializers: encode + decode (ops/s)',
        Object.entries(results.serializer).flatMap(([label, r]) =>
          Object.entries(r).map(([n, v]) => [label, n, v.opsPerSec, v.bytes, v.vsMsgpackr]),
        ),
        ['value', 'serializer', 'ops/s', 'bytes', '× msgpackr'],
      ),
    ].join('\n')
    console.log(md)
    mkdirSync(`${here}results`, { recursive: true })
    writeFileSync(`${here}results/data-cache-ops.md`, `${md}\n`)
    writeFileSync(`${here}results/data-cache-ops.json`, `${JSON.stringify(results, null, 2)}\n`)
  } finally {
    await redis.destroy()
  }
  process.exit(0)
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'child-stampede') await childStampede(args[0], args[1], args[2])
else if (mode === 'child-memory') await childMemory()
else if (mode === 'child-coherence') await childCoherence(args[0], args[1])
else await main()
