import { HotpathError, optionError } from '@hotpath/core'
import { memoryBloom, redisBloom } from './bloom'
import { BoundedMap } from './bounded'
import { Engine, type View } from './engine'
import { decodeEntry, type Entry } from './entry'
import { flight, getOrSet } from './flow'
import { deriveKey } from './key'
import { PKG, resolveCall, resolveConfig } from './options'
import { statsOf } from './report'
import { registerMetrics } from './stats'
import type {
  Cache,
  CacheKey,
  CacheOptions,
  EntryOptions,
  Factory,
  GetOrSetOptions,
  TagInvalidationTarget,
} from './types'
import { warm } from './warm'

/** Last factories by key, for `refresh(key)`; about this many are kept (two generations). */
const MAX_FACTORIES = 10_000

/**
 * A data cache: `getOrSet` over a memory L1 and an optional Redis L2 kept coherent by a
 * pub/sub bus. Each call returns an independent cache; `namespace()` children share its tiers.
 */
export function createCache(options: Readonly<CacheOptions> = {}): Cache {
  const config = resolveConfig(options)
  const engine = new Engine(config)
  config.l1?.claim(engine)
  config.l2?.claim(engine)
  if (config.bloom) {
    engine.bloom = config.l2
      ? redisBloom(config.bloom, config.l2, config.log)
      : memoryBloom(config.bloom, config.log)
  }
  const root = createView(engine, '', config.name)
  if (options.registry !== undefined) registerMetrics(options.registry, config.name, () => root.stats())
  return root
}

function createView(engine: Engine, prefix: string, name: string): Cache {
  const { config } = engine
  const view: View = { prefix, name, ttl: config.ttl, counters: engine.counters.namespace(name, config.ttl) }
  const factories = new BoundedMap<
    string,
    { factory: Factory<unknown>; options: GetOrSetOptions | undefined }
  >(MAX_FACTORIES)
  const keyOf = (key: CacheKey) => prefix + deriveKey(key)
  const children = new Map<string, Cache>()
  const intervals = new Set<NodeJS.Timeout>()

  const entryOf = (value: unknown, opts: EntryOptions | undefined): { entry: Entry; bytes: Buffer } => {
    const call = resolveCall(opts, config, view.ttl)
    const now = config.now()
    const entry: Entry = {
      v: value,
      c: now,
      e: now + call.ttl,
      g: now + call.ttl + call.grace,
      t: engine.tags.stamp(call.tags),
    }
    return { entry, bytes: engine.encode(entry) }
  }

  /** L1, then L2; counts like getOrSet. */
  const read = async (k: string): Promise<Entry | undefined> => {
    const found = engine.lookup(k, config.now())
    if (found.state === 'fresh') {
      engine.counters.l1Hits++
      view.counters.hits++
      return found.entry
    }
    if (engine.l2 !== undefined) {
      const raw = await engine.l2.get(k).catch(() => null)
      const entry = raw === null ? undefined : decodeEntry(config.serializer, raw)
      if (entry !== undefined && raw !== null && engine.judgeRemote(entry, config.now()).state === 'fresh') {
        engine.storeL1(k, entry, raw.length)
        engine.counters.l2Hits++
        view.counters.hits++
        return entry
      }
    }
    engine.counters.misses[found.state === 'none' ? found.reason : 'expired']++
    view.counters.misses++
    return undefined
  }

  const cache: Cache = {
    name: 'data-cache',
    label: name,
    get bloom() {
      return engine.bloom
    },
    getOrSet<T>(key: CacheKey, factory: Factory<T>, opts?: GetOrSetOptions): Promise<T> {
      let k: string
      try {
        k = keyOf(key)
      } catch (error) {
        return Promise.reject(error)
      }
      // Remembered on a miss only: the hit path stays one Map read.
      return getOrSet(engine, view, k, factory, opts, () => {
        factories.set(k, { factory: factory as Factory<unknown>, options: opts })
      })
    },
    async get<T>(key: CacheKey): Promise<T | undefined> {
      return (await read(keyOf(key)))?.v as T | undefined
    },
    async set(key, value, opts) {
      const k = keyOf(key)
      const { entry, bytes } = entryOf(value, opts)
      engine.storeL1(k, entry, bytes.length)
      if (engine.l2 === undefined) return
      if (bytes.length > engine.l2.maxValueBytes) {
        engine.counters.oversized++
        return
      }
      // A write Redis did not take must still reach the others: replayed as a delete of the key.
      await engine.l2.set(k, bytes, entry.g - config.now()).then(
        () => engine.publish({ o: 'd', k: [k] }),
        () => engine.deleteKeys([k]).then(() => engine.storeL1(k, entry, bytes.length)),
      )
    },
    async delete(key) {
      const k = keyOf(key)
      const had = engine.l1?.get(k) !== undefined
      await engine.deleteKeys([k])
      return had
    },
    async has(key) {
      return (await read(keyOf(key))) !== undefined
    },
    async getMany<T>(keys: readonly CacheKey[]): Promise<Array<T | undefined>> {
      const ks = keys.map(keyOf)
      const out: Array<T | undefined> = new Array(ks.length)
      const missing: number[] = []
      const now = config.now()
      ks.forEach((k, i) => {
        const found = engine.lookup(k, now)
        if (found.state === 'fresh') {
          engine.counters.l1Hits++
          view.counters.hits++
          out[i] = found.entry.v as T
        } else missing.push(i)
      })
      if (missing.length === 0) return out
      const raws = engine.l2
        ? await engine.l2.getMany(missing.map((i) => ks[i] as string)).catch(() => null)
        : null
      missing.forEach((i, j) => {
        const raw = raws?.[j] ?? null
        const entry = raw === null ? undefined : decodeEntry(config.serializer, raw)
        if (
          entry !== undefined &&
          raw !== null &&
          engine.judgeRemote(entry, config.now()).state === 'fresh'
        ) {
          engine.storeL1(ks[i] as string, entry, raw.length)
          engine.counters.l2Hits++
          view.counters.hits++
          out[i] = entry.v as T
        } else {
          engine.counters.misses.cold++
          view.counters.misses++
        }
      })
      return out
    },
    async setMany(entries) {
      const rows = entries.map(([key, value, opts]) => {
        const k = keyOf(key)
        const { entry, bytes } = entryOf(value, opts)
        engine.storeL1(k, entry, bytes.length)
        return [k, bytes, entry.g - config.now()] as const
      })
      if (engine.l2 === undefined || rows.length === 0) return
      const l2 = engine.l2
      const fit = rows.filter(([, bytes]) => bytes.length <= l2.maxValueBytes)
      engine.counters.oversized += rows.length - fit.length
      const keys = rows.map(([k]) => k)
      await l2.setMany(fit).then(
        () => engine.publish({ o: 'd', k: keys }),
        () => engine.deleteKeys(keys),
      )
    },
    deleteByTag: (tag) => engine.bumpTag(checkTag(tag), 'h', true),
    expireByTag: (tag) => engine.bumpTag(checkTag(tag), 's', true),
    clear: () => engine.clearPrefix(prefix),
    namespace(child: string) {
      if (typeof child !== 'string' || child.length === 0 || child.includes(':')) {
        optionError(PKG, 'namespace(name) needs a non-empty name without ":".')
      }
      let found = children.get(child)
      if (found === undefined) {
        found = createView(engine, `${prefix}${child}:`, prefix === '' ? child : `${name}:${child}`)
        children.set(child, found)
      }
      return found
    },
    wrap(fn, opts = {}) {
      if (typeof fn !== 'function') optionError(PKG, 'wrap(fn) needs a function.')
      const { key, ...rest } = opts
      const label = fn.name
      if (key === undefined && label === '') {
        optionError(
          PKG,
          'wrap() of an anonymous function needs { key: (...args) => parts }: its name is the key.',
        )
      }
      return (...args) => {
        let parts: CacheKey
        try {
          parts = key ? key(...args) : [label, ...args]
        } catch (error) {
          return Promise.reject(
            new HotpathError(
              'ERR_HOTPATH_CACHE_KEY',
              `${PKG}: the wrap key function threw (${String(error)}); make it total over the arguments.`,
            ),
          )
        }
        return cache.getOrSet(parts, () => fn(...args), rest)
      }
    },
    warm: (source, opts) => warm(cache, engine, source, opts, intervals),
    async refresh(key) {
      const k = keyOf(key)
      const last = factories.get(k)
      if (last === undefined) return false
      const call = resolveCall(last.options, config, view.ttl)
      await flight(engine, view, k, last.factory, call, engine.l1?.get(k)?.entry, true)
      return true
    },
    link(target: TagInvalidationTarget) {
      if (typeof target?.invalidate !== 'function')
        optionError(PKG, 'link() needs a response cache (an object with invalidate({ tag })).')
      engine.linked.add(target)
      return () => {
        engine.linked.delete(target)
      }
    },
    stats: () => statsOf(engine),
    async close() {
      for (const timer of intervals) clearInterval(timer)
      intervals.clear()
      if (prefix === '') await engine.close()
    },
  }
  return cache
}

function checkTag(tag: unknown): string {
  if (typeof tag !== 'string' || tag.length === 0) optionError(PKG, 'a tag must be a non-empty string.')
  return tag
}
