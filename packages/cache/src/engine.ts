import { randomUUID } from 'node:crypto'
import { BoundedMap } from './bounded'
import { type Bus, Bus as BusClass, type BusMessage, subscriberFor } from './bus'
import { type Entry, encodeEntry } from './entry'
import type { MemoryTier } from './memory-tier'
import type { Config } from './options'
import type { RedisClientLike, RedisTier } from './redis-tier'
import { serializeError } from './serializer'
import { Counters, type MissReason, type NamespaceCounters } from './stats'
import { TagVersions } from './tags'
import type { BloomFilter, TagInvalidationTarget } from './types'

/** The part of a cache a namespace view carries: its key prefix, label, default ttl, counters. */
export interface View {
  readonly prefix: string
  readonly name: string
  readonly ttl: number
  readonly counters: NamespaceCounters
}

/** An invalidation Redis did not take: applied locally already, replayed when it answers. */
type Pending =
  | { kind: 'del'; keys: string[] }
  | { kind: 'tag'; tag: string; f: 'h' | 's'; r: boolean }
  | { kind: 'clear'; prefix: string }

export type Lookup =
  | { state: 'fresh'; entry: Entry }
  | { state: 'stale'; entry: Entry }
  | { state: 'none'; reason: MissReason }

/** Invalidations kept for replay; beyond this one "clear everything" stands for them all. */
const MAX_PENDING = 10_000
/** Keys whose last L1 copy was evicted or dropped by the bus, so their next miss says why. */
const MAX_REASONS = 10_000

/**
 * The state every namespace view shares: tiers, bus, tag versions, in-flight factories,
 * counters, the replay queue. Views add a key prefix; nothing here is module-level.
 */
export class Engine {
  readonly id = randomUUID()
  readonly counters = new Counters()
  readonly tags = new TagVersions()
  readonly l1: MemoryTier | undefined
  readonly l2: RedisTier | undefined
  readonly bus: Bus | undefined
  readonly inflight = new Map<string, Promise<unknown>>()
  readonly linked = new Set<TagInvalidationTarget>()
  readonly controllers = new Set<AbortController>()
  bloom: BloomFilter | undefined
  private readonly waiters = new Map<string, Set<() => void>>()
  private readonly reasons = new BoundedMap<string, MissReason>(MAX_REASONS)
  private pending: Pending[] = []
  private flushing = false
  private loadingTags = false
  tagsLoaded: boolean
  private readonly timer: NodeJS.Timeout
  closed = false

  constructor(readonly config: Config) {
    this.l1 = config.l1
    this.l2 = config.l2
    this.tagsLoaded = config.l2 === undefined
    for (const target of config.responseCaches) this.linked.add(target)
    if (this.l1) this.l1.onEvict = (key) => this.remember(key, 'evicted')
    if (config.bus && this.l2) {
      const subscriber = (config.bus.subscriber ?? subscriberFor(this.l2.client)) as RedisClientLike
      this.bus = new BusClass(
        subscriber,
        config.bus.channel,
        this.id,
        {
          message: (message) => this.onMessage(message),
          connected: (reconnected) => this.onBusUp(reconnected),
          disconnected: () => undefined,
        },
        config.log,
      )
    }
    // One unref'd timer for the whole cache: replays invalidations once Redis answers again.
    this.timer = setInterval(() => {
      if (this.pending.length > 0) void this.flush()
      if (!this.tagsLoaded) this.loadTags()
    }, 500)
    this.timer.unref()
    this.loadTags()
  }

  /** While the bus cannot vouch for L1 (disconnected, or Redis failing), L1 entries live at most `maxStaleWhenPartitioned`. */
  partitioned(): boolean {
    if (this.l2 === undefined) return false
    if (this.bus !== undefined && !this.bus.connected) return true
    return this.l2.circuit !== 'closed'
  }

  remember(key: string, reason: MissReason): void {
    this.reasons.set(key, reason)
  }

  /** Reads L1 and judges the entry: fresh, stale (graced), or none with the reason. */
  lookup(key: string, now: number): Lookup {
    const item = this.l1?.get(key)
    if (item === undefined) {
      const reason = this.reasons.get(key)
      if (reason !== undefined) this.reasons.delete(key)
      return { state: 'none', reason: reason ?? 'cold' }
    }
    if (now - item.at > this.config.maxStaleWhenPartitioned && this.partitioned()) {
      this.l1?.delete(key)
      return { state: 'none', reason: 'bus' }
    }
    const judged = this.judge(item.entry, now)
    if (judged.state === 'none') this.l1?.delete(key)
    else if (judged.state === 'fresh') item.hot = true
    return judged
  }

  /** Tag versions first (a hard-invalidated entry is gone, a soft one is stale), then the clock. */
  judge(entry: Entry, now: number): Lookup {
    if (entry.t !== undefined) {
      const state = this.tags.stateOf(entry)
      if (state === 'hard') return { state: 'none', reason: 'tag' }
      if (state === 'soft' && entry.e > entry.c) entry.e = entry.c
    }
    if (now < entry.e) return { state: 'fresh', entry }
    if (now < entry.g) return { state: 'stale', entry }
    return { state: 'none', reason: 'expired' }
  }

  /**
   * An entry read from Redis. Until this instance has loaded the tag versions, a tagged entry
   * cannot be vouched for (its tag may have been deleted before we started): it counts as
   * stale, so the factory runs and the old value serves only as a graced fallback.
   */
  judgeRemote(entry: Entry, now: number): Lookup {
    if (!this.tagsLoaded && entry.t !== undefined) {
      const judged = this.judge(entry, now)
      return judged.state === 'fresh' ? { state: 'stale', entry } : judged
    }
    return this.judge(entry, now)
  }

  /** Reads every tag version from Redis (at start, and each time the bus reconnects). */
  loadTags(): void {
    if (this.l2 === undefined || this.loadingTags) return
    this.loadingTags = true
    this.l2
      .tagVersions()
      .then((fields) => {
        this.tags.load(fields)
        this.tagsLoaded = true
      })
      .catch(() => undefined)
      .finally(() => {
        this.loadingTags = false
      })
  }

  /** Encodes once: the bytes go to L2 and size the L1 copy. */
  encode(entry: Entry): Buffer {
    try {
      return encodeEntry(this.config.serializer, entry)
    } catch (error) {
      throw serializeError(this.config.serializer, error)
    }
  }

  storeL1(key: string, entry: Entry, bytes: number): void {
    if (this.l1 === undefined) return
    if (!this.l1.set(key, entry, bytes, this.config.now())) this.counters.oversized++
  }

  /** Publishes through the L2 tier under its deadline; a lost publish is covered by the partition cap. */
  publish(message: Omit<BusMessage, 'i'>): Promise<void> {
    if (this.bus === undefined || this.l2 === undefined) return Promise.resolve()
    return this.l2.publish(this.bus.channel, JSON.stringify({ i: this.id, ...message })).then(
      () => {
        this.counters.busSent++
      },
      () => {
        this.counters.busErrors++
      },
    )
  }

  /** A message from another instance. */
  private onMessage(message: BusMessage): void {
    this.counters.busReceived++
    switch (message.o) {
      case 'd':
      case 'w':
        for (const key of message.k ?? []) {
          if (this.l1?.delete(key)) this.remember(key, 'bus')
          this.wake(key)
        }
        return
      case 'p':
        this.l1?.deletePrefix(message.k?.[0] ?? '')
        return
      case 't':
        if (typeof message.g === 'string' && (message.f === 'h' || message.f === 's')) {
          this.tags.observe(message.g, message.f, Number(message.v) || 0)
          if (message.r === 1) void this.invalidateLinked(message.g)
        }
        return
      case 'a':
        this.l1?.clear()
        return
    }
  }

  private onBusUp(reconnected: boolean): void {
    // Messages sent while we were away are lost: nothing in L1 can be vouched for.
    if (reconnected) this.l1?.clear()
    this.loadTags()
    if (this.pending.length > 0) void this.flush()
  }

  /** Resolves `true` when the lease holder (another instance) wrote its value, `false` after `ms`. */
  waitFor(key: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.waiters.get(key)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(key, set)
      }
      const done = (woken: boolean) => {
        clearTimeout(timer)
        const current = this.waiters.get(key)
        current?.delete(wake)
        if (current?.size === 0) this.waiters.delete(key)
        resolve(woken)
      }
      const wake = () => done(true)
      const timer = setTimeout(() => done(false), ms)
      set.add(wake)
    })
  }

  private wake(key: string): void {
    const set = this.waiters.get(key)
    if (set === undefined) return
    for (const wake of [...set]) wake()
  }

  /** Calls every linked response cache's `invalidate({ tag })`; resolves to the entries they removed. */
  invalidateLinked(tag: string): Promise<number> {
    const failed = (error: unknown) => {
      this.config.log.warnOnce(
        'ERR_HOTPATH_CACHE_LINKED',
        `@hotpath/cache: a linked response cache failed to invalidate a tag: ${String(error)}`,
      )
      return 0
    }
    const calls = [...this.linked].map((target) => {
      try {
        return Promise.resolve(target.invalidate({ tag })).then(
          (n) => (typeof n === 'number' ? n : 0),
          failed,
        )
      } catch (error) {
        return Promise.resolve(failed(error))
      }
    })
    return Promise.all(calls).then((counts) => counts.reduce((a, b) => a + b, 0))
  }

  // ── invalidations: applied here at once, then to Redis and the bus, or queued for replay ──

  async deleteKeys(keys: string[]): Promise<void> {
    for (const key of keys) this.l1?.delete(key)
    if (this.l2 === undefined) return
    await this.apply({ kind: 'del', keys }).catch(() => this.queue({ kind: 'del', keys }))
  }

  async bumpTag(tag: string, f: 'h' | 's', withLinked: boolean): Promise<number> {
    const linked = withLinked ? this.invalidateLinked(tag) : Promise.resolve(0)
    if (this.l2 === undefined) this.tags.bumpLocal(tag, f)
    else {
      await this.apply({ kind: 'tag', tag, f, r: withLinked }).catch(() => {
        this.tags.bumpLocal(tag, f)
        this.queue({ kind: 'tag', tag, f, r: withLinked })
      })
    }
    return linked
  }

  async clearPrefix(prefix: string): Promise<void> {
    this.l1?.deletePrefix(prefix)
    if (this.l2 === undefined) return
    await this.apply({ kind: 'clear', prefix }).catch(() => this.queue({ kind: 'clear', prefix }))
  }

  private async apply(op: Pending): Promise<void> {
    const l2 = this.l2 as RedisTier
    const channel = this.bus?.channel ?? `${l2.prefix}bus`
    if (op.kind === 'del') {
      await l2.delete(op.keys)
      await this.publish({ o: 'd', k: op.keys })
    } else if (op.kind === 'tag') {
      const head = `${JSON.stringify({ i: this.id, o: 't', g: op.tag, f: op.f, ...(op.r ? { r: 1 } : {}) }).slice(0, -1)},"v":`
      const version = await l2.bumpTag(op.tag, op.f, channel, head)
      this.counters.busSent++
      this.tags.observe(op.tag, op.f, Number(version))
    } else {
      await l2.deletePrefix(op.prefix)
      await this.publish({ o: 'p', k: [op.prefix] })
    }
  }

  private queue(op: Pending): void {
    if (this.pending.length >= MAX_PENDING) {
      // Too many to replay one by one: one clear of everything covers them (tags stay queued).
      this.pending = [{ kind: 'clear', prefix: '' }, ...this.pending.filter((p) => p.kind === 'tag')]
    }
    this.pending.push(op)
    this.config.log.warnOnce(
      'ERR_HOTPATH_CACHE_REPLAY',
      '@hotpath/cache: Redis did not take an invalidation; it is applied locally and will be replayed when Redis answers.',
    )
  }

  get pendingCount(): number {
    return this.pending.length
  }

  /** Replays queued invalidations in order; stops at the first one Redis still refuses. */
  async flush(): Promise<void> {
    if (this.flushing || this.l2 === undefined || this.closed) return
    this.flushing = true
    try {
      while (this.pending.length > 0) {
        const op = this.pending[0] as Pending
        try {
          await this.apply(op)
        } catch {
          return
        }
        this.pending.shift()
      }
      this.config.log.rearm('ERR_HOTPATH_CACHE_REPLAY')
    } finally {
      this.flushing = false
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const controller of this.controllers) controller.abort()
    for (const key of [...this.waiters.keys()]) this.wake(key)
    await this.bus?.close()
    await this.l2?.close()
    this.l1?.clear()
  }
}
