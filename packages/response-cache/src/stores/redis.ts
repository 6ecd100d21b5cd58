import { randomBytes } from 'node:crypto'
import {
  type CircuitBreaker,
  createCircuitBreaker,
  defineScripts,
  HotpathError,
  hashTag,
  optionError,
  parseDuration,
  rejectUnknownOptions,
  withDeadline,
} from '@hotpath/core'
import type { Cluster, Redis } from 'ioredis'
import type { CacheStore, StoredValue, StoreSize } from '../types'
import { decode, encode } from './codec'
import { GENERATION_MS, isAnswer, isGarbage, SCRIPTS, type Scripts } from './redis-scripts'

export interface RedisStoreOptions {
  /** An ioredis client (standalone or Cluster) you own; the store never closes it. */
  client?: Redis | Cluster
  /** Or a URL: the store creates (and closes) its own client, with no offline queue. */
  url?: string
  /** Prefix of every key. Default `'hotpath:cache:'`. */
  prefix?: string
  /**
   * Deadline of every command, the first connection's wait included (the name the rate
   * limiter's RedisStore uses too). Default `'250ms'`.
   */
  commandTimeout?: number | string
  /** The former name of `commandTimeout`. */
  timeout?: number | string
  /** Consecutive failures that open the circuit (commands then fail at once). Default 3. */
  failureThreshold?: number
  /** How long the circuit stays open before a trial command. Default `'1s'`. */
  cooldown?: number | string
}

type Client = Redis | Cluster

/** What the first-connect wait reads of an ioredis client. */
interface ClientEvents {
  status?: string
  once?(event: string, fn: () => void): void
}

const SCAN_COUNT = 500
const MAX_SCAN_ROUNDS = 100_000

/**
 * Entries in Redis (ioredis, standalone or Cluster). Keys of one URL share a hash tag (the
 * primary key), tag sets are Redis sets with an expiry, lock and tag scripts go through
 * `defineCommand`. Every command has a deadline and a circuit breaker in front of it, so
 * a dead Redis costs a request nothing but the bypass; a value that is not ours decodes as
 * a miss.
 */
export class RedisStore implements CacheStore {
  readonly kind = 'redis'
  /** Bodies are serialised into the Redis value. */
  readonly copiesBodies = true
  readonly shared = true
  readonly prefix: string
  readonly client: Client
  private readonly owned: boolean
  readonly commandTimeout: number
  private readonly breaker: CircuitBreaker
  /** Set once the client was ready: from then on a lost connection fails fast (circuit). */
  private everReady = false
  private firstConnect: Promise<void> | undefined
  private readonly tokenBase = randomBytes(6).toString('hex')
  private seq = 0

  constructor(options: Readonly<RedisStoreOptions>) {
    rejectUnknownOptions('RedisStore', options, [
      'client',
      'url',
      'prefix',
      'commandTimeout',
      'timeout',
      'failureThreshold',
      'cooldown',
    ])
    if (!options || (options.client === undefined) === (options.url === undefined)) {
      optionError('RedisStore', 'pass exactly one of { client: new Redis(...) } or { url: "redis://..." }.')
    }
    if (options.commandTimeout !== undefined && options.timeout !== undefined) {
      optionError('RedisStore', 'pass commandTimeout only (timeout is its former name).')
    }
    this.prefix = options.prefix ?? 'hotpath:cache:'
    if (typeof this.prefix !== 'string') optionError('RedisStore', 'prefix must be a string.')
    this.commandTimeout = parseDuration(
      options.commandTimeout ?? options.timeout ?? '250ms',
      'RedisStore: commandTimeout',
    )
    if (!(this.commandTimeout > 0)) optionError('RedisStore', 'commandTimeout must be greater than 0.')
    this.breaker = createCircuitBreaker({
      failureThreshold: options.failureThreshold ?? 3,
      cooldown: parseDuration(options.cooldown ?? '1s', 'RedisStore: cooldown'),
    })
    if (options.client !== undefined) {
      this.client = options.client
      this.owned = false
    } else {
      // ioredis is an optional peer dependency: loaded only when a URL asks for it.
      const IORedis = require('ioredis') as typeof import('ioredis')
      this.client = new IORedis.Redis(options.url as string, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: this.commandTimeout,
        // Reconnect promptly after an outage (ioredis' default backs off to 2 s).
        retryStrategy: (times: number) => Math.min(times * 50, 500),
      })
      this.client.on('error', () => undefined)
      this.owned = true
    }
    defineScripts(this.client, SCRIPTS)
  }

  /**
   * While the client makes its first connection a command would fail at once (no offline
   * queue): a fresh instance under traffic would run uncached, and two instances booted together
   * would not share their first entries. Until the client has been ready once, a command waits
   * for it, inside the same `commandTimeout` deadline.
   */
  private connected(): Promise<void> | undefined {
    if (this.everReady) return undefined
    const client = this.client as unknown as ClientEvents
    const status = client.status
    if (status === undefined || status === 'ready') {
      this.everReady = true
      return undefined
    }
    if (status === 'end' || status === 'close' || typeof client.once !== 'function') return undefined
    if (this.firstConnect === undefined) {
      this.firstConnect = new Promise<void>((resolve) => {
        client.once?.('ready', () => {
          this.everReady = true
          resolve()
        })
      })
    }
    return this.firstConnect
  }

  /** `{primary}` hash tag: an entry, its secondary keys and its lock live in one slot. */
  entryKey(key: string): string {
    const colon = key.indexOf(':')
    return colon === -1
      ? `${this.prefix}e:${hashTag(key)}`
      : `${this.prefix}e:${hashTag(key.slice(0, colon))}${key.slice(colon)}`
  }

  tagKey(tag: string): string {
    return `${this.prefix}t:${hashTag(tag)}`
  }

  private run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.breaker.allow()) {
      return Promise.reject(
        new HotpathError('ERR_HOTPATH_CIRCUIT_OPEN', 'RedisStore: circuit open after repeated failures'),
      )
    }
    const ready = this.connected()
    let late = false
    let work: Promise<T>
    try {
      // A command whose deadline passed during the first connect is not sent late.
      work =
        ready === undefined
          ? command()
          : ready.then(() => {
              if (late)
                throw new HotpathError('ERR_HOTPATH_DEADLINE', 'RedisStore: not sent after its deadline')
              return command()
            })
    } catch (error) {
      work = Promise.reject(error)
    }
    return withDeadline(work, this.commandTimeout, 'RedisStore command').then(
      (value) => {
        this.breaker.success()
        return value
      },
      (error: unknown) => {
        late = true
        if (isGarbage(error) || isAnswer(error)) this.breaker.success()
        else this.breaker.failure()
        throw error
      },
    )
  }

  /** `'closed'` (healthy), `'open'` (failing fast) or `'half-open'` (probing). */
  get circuit(): string {
    return this.breaker.state
  }

  get(key: string): Promise<StoredValue | undefined> {
    return this.run(() => this.client.getBuffer(this.entryKey(key))).then(decode, (error: unknown) => {
      if (isGarbage(error)) return undefined
      throw error
    })
  }

  /** `since`: when the miss that made `value` began; an invalidation of a tag after it refuses it. */
  async set(
    key: string,
    value: StoredValue,
    ttlMs: number,
    tags: readonly string[],
    since?: number,
  ): Promise<void> {
    const ttl = Math.ceil(ttlMs)
    if (!(ttl > 0)) return
    const entryKey = this.entryKey(key)
    const scripts = this.client as unknown as Scripts
    if (since === undefined || tags.length === 0) {
      await Promise.all([
        this.run(() => this.client.set(entryKey, encode(value), 'PX', ttl)),
        ...tags.map((tag) => this.run(() => scripts.hotpathCacheTagAdd(this.tagKey(tag), entryKey, ttl))),
      ])
      return
    }
    await this.run(() => this.client.set(entryKey, encode(value), 'PX', ttl))
    const added = await Promise.all(
      tags.map((tag) =>
        this.run(() =>
          scripts.hotpathCacheTagAddSince(this.tagKey(tag), this.generationKey(tag), entryKey, ttl, since),
        ),
      ),
    )
    if (added.includes(0)) await this.run(() => this.client.unlink(entryKey))
  }

  generationKey(tag: string): string {
    return `${this.prefix}g:${hashTag(tag)}`
  }

  async delete(key: string): Promise<number> {
    return this.run(() => this.client.unlink(this.entryKey(key)))
  }

  /** `at`: when the invalidation was asked for; misses that began before it store nothing after it. */
  async deleteTag(tag: string, at?: number): Promise<number> {
    const tagKey = this.tagKey(tag)
    if (at !== undefined) {
      const stamp = String(Math.floor(at))
      // Under maxmemory noeviction the write is refused (OOM) while the deletes still work; the
      // entries of misses in flight cannot be written then either.
      await this.run(() => this.client.set(this.generationKey(tag), stamp, 'PX', GENERATION_MS)).catch(
        (error: unknown) => {
          if (!isAnswer(error)) throw error
        },
      )
    }
    const members = await this.run(() => this.client.smembers(tagKey)).catch((error: unknown) => {
      if (isGarbage(error)) return [] as string[]
      throw error
    })
    // One UNLINK per key: on a Cluster the members live in different slots.
    const removed = await Promise.all(members.map((member) => this.run(() => this.client.unlink(member))))
    await this.run(() => this.client.unlink(tagKey))
    return removed.reduce((sum, n) => sum + n, 0)
  }

  /** Scans every master (all of a Cluster's) for this store's prefix and unlinks what it finds. */
  async clear(): Promise<void> {
    const nodes = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis]
    const match = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    await Promise.all(
      nodes.map(async (node) => {
        let cursor = '0'
        for (let round = 0; round < MAX_SCAN_ROUNDS; round++) {
          const [next, keys] = await this.run(() => node.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT))
          if (keys.length > 0) {
            const pipeline = node.pipeline()
            for (const key of keys) pipeline.unlink(key)
            await this.run(() => pipeline.exec())
          }
          cursor = next
          if (cursor === '0') break
        }
      }),
    )
  }

  async lock(key: string, ttlMs: number): Promise<string | undefined> {
    const token = `${this.tokenBase}:${++this.seq}`
    const ok = await this.run(() =>
      this.client.set(`${this.prefix}l:${hashTag(key)}`, token, 'PX', Math.ceil(ttlMs), 'NX'),
    )
    return ok === 'OK' ? token : undefined
  }

  /** Stretches the lease of a lock this store holds; resolves `false` when it is no longer ours. */
  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    const scripts = this.client as unknown as Scripts
    const out = await this.run(() =>
      scripts.hotpathCacheRenew(`${this.prefix}l:${hashTag(key)}`, token, Math.ceil(ttlMs)),
    )
    return out === 1
  }

  /** Whether someone holds the lock of `key` (its holder renews it while it works). */
  async locked(key: string): Promise<boolean> {
    return (await this.run(() => this.client.exists(`${this.prefix}l:${hashTag(key)}`))) === 1
  }

  async unlock(key: string, token: string): Promise<void> {
    const scripts = this.client as unknown as Scripts
    await this.run(() => scripts.hotpathCacheUnlock(`${this.prefix}l:${hashTag(key)}`, token))
  }

  size(): StoreSize {
    // Redis keeps its own accounting (INFO memory, MEMORY USAGE per key); what it holds for
    // the prefix is not known synchronously, so it is reported as unknown, never as 0 B.
    return { entries: 0, bytes: 0, evictions: 0, storedBytes: null }
  }

  async close(): Promise<void> {
    if (this.owned) await this.client.quit().catch(() => this.client.disconnect())
  }
}
