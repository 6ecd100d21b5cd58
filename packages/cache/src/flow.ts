import { HotpathError, parseDuration } from '@hotpath/core'
import type { Engine, Lookup, View } from './engine'
import { decodeEntry, type Entry } from './entry'
import { type Call, PKG, resolveCall } from './options'
import type { MissReason } from './stats'
import { type Factory, type FactoryContext, type GetOrSetOptions, SKIP } from './types'

/** What one factory run (or the value found instead of running it) hands to every caller of a key. */
export interface Outcome {
  value: unknown
  source: 'l2' | 'factory' | 'stale' | 'skip'
}

const TIMEOUT = Symbol('timeout')

function delay<T>(ms: number, value: T): { promise: Promise<T>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms)
  })
  return { promise, cancel: () => clearTimeout(timer) }
}

/**
 * getOrSet. The hit path is synchronous up to the returned promise: one Map read, the tag
 * and clock checks, no Redis, no option parsing. Everything else happens on a miss.
 */
export function getOrSet<T>(
  engine: Engine,
  view: View,
  key: string,
  factory: Factory<T>,
  options: Readonly<GetOrSetOptions> | undefined,
  onMiss?: () => void,
): Promise<T> {
  const now = engine.config.now()
  const found = engine.lookup(key, now)
  if (found.state === 'fresh') {
    engine.counters.l1Hits++
    view.counters.hits++
    const ahead = options?.refreshAhead
    if (ahead !== undefined && ahead !== false)
      maybeRefresh(engine, view, key, factory, options, found.entry, now)
    return Promise.resolve(found.entry.v as T)
  }
  onMiss?.()
  return slow(engine, view, key, factory, options, found) as Promise<T>
}

function maybeRefresh<T>(
  engine: Engine,
  view: View,
  key: string,
  factory: Factory<T>,
  options: Readonly<GetOrSetOptions> | undefined,
  entry: Entry,
  now: number,
): void {
  if (engine.inflight.has(key)) return
  const ahead = options?.refreshAhead
  const due =
    ahead === 'auto'
      ? view.counters.factoryRuns > 0 && entry.e - now < 2 * view.counters.quantile(0.95)
      : typeof ahead === 'number' && now >= entry.c + ahead * (entry.e - entry.c)
  if (!due) return
  let call: Call
  try {
    call = resolveCall(options, engine.config, view.ttl)
  } catch {
    return
  }
  // Refresh in the background: the caller already has its value; the refresh skips the reads.
  flight(engine, view, key, factory, call, entry, true).catch(() => undefined)
}

async function slow<T>(
  engine: Engine,
  view: View,
  key: string,
  factory: Factory<T>,
  options: Readonly<GetOrSetOptions> | undefined,
  found: Lookup,
): Promise<unknown> {
  if (typeof factory !== 'function') {
    throw new HotpathError(
      'ERR_HOTPATH_OPTION',
      `${PKG}: getOrSet needs a factory function as its second argument.`,
    )
  }
  const call = resolveCall(options, engine.config, view.ttl)
  if (
    options?.bloom !== undefined &&
    engine.bloom !== undefined &&
    !(await engine.bloom.has(options.bloom))
  ) {
    engine.counters.bloomRejected++
    view.counters.misses++
    return undefined
  }
  const stale = found.state === 'stale' ? found.entry : undefined
  const reason: MissReason = found.state === 'none' ? found.reason : 'expired'
  const running = flight(engine, view, key, factory, call, stale, false)
  let outcome: Outcome
  if (stale !== undefined && call.softTimeout > 0) {
    const timer = delay(call.softTimeout, TIMEOUT)
    const first = await Promise.race([running, timer.promise])
    timer.cancel()
    if (first === TIMEOUT) {
      engine.counters.softTimeouts++
      outcome = { value: stale.v, source: 'stale' }
    } else outcome = first
  } else outcome = await running
  count(engine, view, outcome.source, reason)
  return outcome.value
}

function count(engine: Engine, view: View, source: Outcome['source'], reason: MissReason): void {
  if (source === 'l2') {
    engine.counters.l2Hits++
    view.counters.hits++
  } else if (source === 'stale') engine.counters.staleServed++
  else {
    engine.counters.misses[reason]++
    view.counters.misses++
  }
}

/** One run per key per process: later callers join the running one. */
export function flight<T>(
  engine: Engine,
  view: View,
  key: string,
  factory: Factory<T>,
  call: Call,
  stale: Entry | undefined,
  force: boolean,
): Promise<Outcome> {
  const running = engine.inflight.get(key) as Promise<Outcome> | undefined
  if (running !== undefined) return running
  const started = load(engine, view, key, factory, call, stale, force)
  engine.inflight.set(key, started)
  const done = () => {
    if (engine.inflight.get(key) === started) engine.inflight.delete(key)
  }
  started.then(done, done)
  return started
}

/** L2 (a GET; on a miss the lease), a wait for another instance's run, then the factory. */
async function load<T>(
  engine: Engine,
  view: View,
  key: string,
  factory: Factory<T>,
  call: Call,
  staleIn: Entry | undefined,
  force: boolean,
): Promise<Outcome> {
  const { l2 } = engine
  let stale = staleIn
  let leased = false
  if (l2 !== undefined) {
    const fromL2 = (raw: Buffer | null): Outcome | undefined => {
      if (raw === null) return undefined
      const entry = decodeEntry(engine.config.serializer, raw)
      if (entry === undefined) return undefined
      const judged = engine.judgeRemote(entry, engine.config.now())
      if (judged.state === 'fresh') {
        engine.storeL1(key, entry, raw.length)
        return { value: entry.v, source: 'l2' }
      }
      if (judged.state === 'stale' && (stale === undefined || entry.c > stale.c)) stale = entry
      return undefined
    }
    try {
      // A plain GET first: a hit (the common case) runs no script; only a miss asks for the
      // lease (one more round trip, paid beside a factory run).
      if (!force) {
        const hit = fromL2(await l2.get(key))
        if (hit) return hit
      }
      if (call.lock !== false) {
        // The script reads the value again beside SET NX: a holder that finished since the GET
        // hands over its value instead of a second lease.
        let reply = await l2.acquire(key, engine.id, call.lock.ttl, force)
        const late = fromL2(reply.value)
        if (late) return late
        if (reply.value !== null) reply = await l2.acquire(key, engine.id, call.lock.ttl, true)
        leased = reply.acquired
        if (leased) engine.counters.lockAcquired++
        else {
          const waited = await waitForHolder(engine, key, call.lock.wait, fromL2)
          if (waited) return waited
          if (stale !== undefined) return { value: stale.v, source: 'stale' }
        }
      }
    } catch {
      // Redis failed or the circuit is open: this process runs the factory (at most once, see flight()).
    }
  }
  return runFactory(engine, view, key, factory, call, stale, leased)
}

/** Waits for the lease holder's bus message (or polls, without a bus) until `wait` passes. */
async function waitForHolder(
  engine: Engine,
  key: string,
  wait: number,
  fromL2: (raw: Buffer | null) => Outcome | undefined,
): Promise<Outcome | undefined> {
  engine.counters.lockWaits++
  const l2 = engine.l2 as NonNullable<Engine['l2']>
  const deadline = engine.config.now() + wait
  for (;;) {
    const left = deadline - engine.config.now()
    if (left <= 0 || engine.closed) break
    const woken = await engine.waitFor(key, engine.bus?.connected ? left : Math.min(left, 25))
    const hit = fromL2(await l2.get(key))
    if (hit) return hit
    // Woken without a value: the holder's factory failed or skipped; do not wait out the rest.
    if (woken) break
  }
  engine.counters.lockWaitTimeouts++
  return undefined
}

async function runFactory<T>(
  engine: Engine,
  view: View,
  key: string,
  factory: Factory<T>,
  call: Call,
  stale: Entry | undefined,
  leased: boolean,
): Promise<Outcome> {
  const { config, counters } = engine
  const controller = new AbortController()
  engine.controllers.add(controller)
  let ttl = call.ttl
  const extraTags: string[] = []
  // Versions as they are before the factory reads its source: an invalidation during the run wins.
  const stamps = engine.tags.stamp(call.tags)
  const ctx: FactoryContext<T> = {
    signal: controller.signal,
    stale: stale?.v as T | undefined,
    setTtl: (value) => {
      ttl = parseDuration(value, 'setTtl')
    },
    setTags: (tags) => {
      for (const tag of tags) if (typeof tag === 'string' && tag.length > 0) extraTags.push(tag)
    },
    skip: () => SKIP,
  }
  const created = config.now()
  const startedAt = performance.now()
  let value: unknown
  try {
    const work = Promise.resolve().then(() => factory(ctx))
    if (call.hardTimeout > 0) {
      const timer = delay(call.hardTimeout, TIMEOUT)
      const first = await Promise.race([work, timer.promise])
      timer.cancel()
      if (first === TIMEOUT) {
        counters.hardTimeouts++
        work.catch(() => undefined)
        controller.abort(
          new HotpathError(
            'ERR_HOTPATH_CACHE_TIMEOUT',
            `${PKG}: the factory of "${key}" passed its hardTimeout`,
          ),
        )
        throw controller.signal.reason
      }
      value = first
    } else value = await work
  } catch (error) {
    view.counters.factoryErrors++
    release(engine, key, null, 0, leased)
    if (stale === undefined) throw error
    // Serve the graced value and leave the factory alone for graceBackoff (locally).
    const now = config.now()
    const backoff: Entry = {
      ...stale,
      e: now + call.graceBackoff,
      g: Math.max(stale.g, now + call.graceBackoff),
    }
    engine.storeL1(key, backoff, 0)
    return { value: stale.v, source: 'stale' }
  } finally {
    engine.controllers.delete(controller)
  }
  view.counters.recordFactory(performance.now() - startedAt)
  if (value === SKIP) {
    release(engine, key, null, 0, leased)
    return { value: undefined, source: 'skip' }
  }
  const negative = value === undefined || value === null
  if (negative && call.negativeTtl === undefined) {
    release(engine, key, null, 0, leased)
    return { value, source: 'factory' }
  }
  const life = negative ? (call.negativeTtl as number) : ttl
  const tags = extraTags.length > 0 ? [...(stamps ?? []), ...(engine.tags.stamp(extraTags) ?? [])] : stamps
  const entry: Entry = { v: value, c: created, e: created + life, g: created + life + call.grace, t: tags }
  let bytes: Buffer
  try {
    bytes = engine.encode(entry)
  } catch (error) {
    release(engine, key, null, 0, leased)
    throw error
  }
  engine.storeL1(key, entry, bytes.length)
  release(engine, key, bytes, entry.g - config.now(), leased)
  return { value, source: 'factory' }
}

/** Writes the value to L2 in the background (and frees the lease, waking the waiters). */
function release(engine: Engine, key: string, bytes: Buffer | null, ttlMs: number, leased: boolean): void {
  const { l2 } = engine
  if (l2 === undefined) return
  if (bytes !== null && bytes.length > l2.maxValueBytes) {
    engine.counters.oversized++
    bytes = null
  }
  if (leased || bytes !== null) {
    const message = JSON.stringify({ i: engine.id, o: 'w', k: [key] })
    const channel = engine.bus?.channel ?? `${l2.prefix}bus`
    if (leased) {
      l2.release(key, engine.id, bytes, Math.max(1, ttlMs), channel, message).then(
        () => {
          engine.counters.busSent++
        },
        () => undefined,
      )
    } else if (bytes !== null) {
      l2.set(key, bytes, Math.max(1, ttlMs)).then(
        () => engine.publish({ o: 'w', k: [key] }),
        () => undefined,
      )
    }
  }
}
