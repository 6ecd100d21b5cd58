import { optionError, parseDuration } from '@hotpath/core'
import type { Engine } from './engine'
import { PKG } from './options'
import type { Cache, CacheKey, Duration, Factory } from './types'

type Pair = readonly [CacheKey, Factory<unknown>]
type Source = Iterable<Pair> | AsyncIterable<Pair> | (() => Iterable<Pair> | AsyncIterable<Pair>)

/**
 * Computes every `[key, factory]` of `source` with `concurrency` runs at a time (each through
 * getOrSet, so single-flight and the lease apply), now and then every `interval`. A factory
 * that fails is logged once and skipped; warming never rejects for one bad entry.
 */
export async function warm(
  cache: Cache,
  engine: Engine,
  source: Source,
  options: { concurrency?: number; interval?: Duration; ttl?: Duration; tags?: readonly string[] } = {},
  intervals: Set<NodeJS.Timeout>,
): Promise<number> {
  const concurrency = options.concurrency ?? 4
  if (!(Number.isInteger(concurrency) && concurrency > 0))
    optionError(PKG, 'warm concurrency must be a positive integer.')
  const interval = options.interval === undefined ? 0 : parseDuration(options.interval, 'warm interval')
  if (interval > 0 && typeof source !== 'function') {
    optionError(
      PKG,
      'warm with an interval needs a function that returns the entries (an iterable is read only once).',
    )
  }
  const entryOptions = {
    ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
    ...(options.tags ? { tags: options.tags } : {}),
  }
  const once = async (again: boolean): Promise<number> => {
    const iterable = typeof source === 'function' ? source() : source
    const iterator =
      Symbol.asyncIterator in iterable
        ? (iterable as AsyncIterable<Pair>)[Symbol.asyncIterator]()
        : (iterable as Iterable<Pair>)[Symbol.iterator]()
    let done = 0
    const worker = async () => {
      for (;;) {
        const next = await iterator.next()
        if (next.done) return
        const [key, factory] = next.value
        try {
          // A later round recomputes what is cached, so a warm on an interval keeps values recent.
          if (!again || !(await cache.refresh(key))) await cache.getOrSet(key, factory, entryOptions)
          done++
        } catch (error) {
          engine.config.log.warnOnce(
            'ERR_HOTPATH_CACHE_WARM',
            `${PKG}: a warm factory failed (${String(error)}); it is skipped.`,
          )
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return done
  }
  const first = await once(false)
  if (interval > 0) {
    const timer = setInterval(() => {
      if (!engine.closed) once(true).catch(() => undefined)
    }, interval)
    timer.unref()
    intervals.add(timer)
  }
  return first
}
