import {
  type CircuitBreaker,
  createCircuitBreaker,
  defineScripts,
  HotpathError,
  hashTag,
  optionError,
  parseBytes,
  parseDuration,
  rejectUnknownOptions,
  withDeadline,
} from '@hotpath/core'
import { SCRIPTS } from './lua'

/** The part of an ioredis `Redis` or `Cluster` client the tier uses. */
// biome-ignore lint/suspicious/noExplicitAny: ioredis' overloaded command signatures
export type RedisClientLike = Record<string, any> & {
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void
  quit(): Promise<unknown>
  disconnect(): void
}

export interface RedisTierOptions {
  /** An ioredis `Redis` or `Cluster` client (the tier never closes it). */
  readonly client?: unknown
  /** Or a URL: the tier owns that client (no offline queue) and quits it on `close()`. */
  readonly url?: string
  /** Prefix of every key. Default `'hotpath:data:'`. */
  readonly prefix?: string
  /** Deadline of every command. Default `'50ms'`. */
  readonly commandTimeout?: number | string
  /** Consecutive failures that open the circuit. Default 3. */
  readonly failureThreshold?: number
  /** How long the open circuit fails fast before one trial command. Default `'1s'`. */
  readonly cooldown?: number | string
  /** A larger serialized value is not written to Redis (counted as oversized). Default `'1mb'`. */
  readonly maxEntryBytes?: number | string
}

const PKG = '@hotpath/cache RedisTier'
const KNOWN = [
  'client',
  'url',
  'prefix',
  'commandTimeout',
  'failureThreshold',
  'cooldown',
  'maxEntryBytes',
] as const

/**
 * The L2 tier: entries as strings with a PX expiry, a hash of tag versions, leases for
 * fleet-wide single-flight. Every call has a deadline and goes through core's circuit
 * breaker, so a stopped, paused or still-connecting Redis costs at most `commandTimeout`
 * and, once the circuit opens, nothing.
 */
export class RedisTier {
  readonly kind = 'redis'
  readonly prefix: string
  readonly commandTimeout: number
  readonly client: RedisClientLike
  readonly isCluster: boolean
  readonly tagsKey: string
  readonly bloomKey: string
  readonly maxValueBytes: number
  private readonly owned: boolean
  private readonly breaker: CircuitBreaker
  errors = 0
  timeouts = 0
  private claimedBy: object | undefined

  constructor(options: Readonly<RedisTierOptions>) {
    rejectUnknownOptions(PKG, options, KNOWN)
    if (!options || (options.client === undefined) === (options.url === undefined)) {
      optionError(PKG, 'pass exactly one of { client } (an ioredis Redis or Cluster) or { url }.')
    }
    this.prefix = options.prefix ?? 'hotpath:data:'
    if (typeof this.prefix !== 'string') optionError(PKG, 'prefix must be a string.')
    this.commandTimeout = parseDuration(options.commandTimeout ?? 50, 'commandTimeout')
    if (!(this.commandTimeout > 0)) optionError(PKG, "commandTimeout must be greater than 0, e.g. '50ms'.")
    this.breaker = createCircuitBreaker({
      failureThreshold: options.failureThreshold ?? 3,
      cooldown: parseDuration(options.cooldown ?? 1000, 'cooldown'),
    })
    this.maxValueBytes = parseBytes(options.maxEntryBytes ?? '1mb', 'maxEntryBytes')
    this.owned = options.client === undefined
    const client = (options.client ?? connect(options.url as string, this.commandTimeout)) as RedisClientLike
    if (typeof client?.defineCommand !== 'function') {
      optionError(PKG, 'client must be an ioredis Redis or Cluster (ioredis 5).')
    }
    this.client = client
    this.isCluster = client.isCluster === true
    this.tagsKey = `${this.prefix}${hashTag('tags')}`
    this.bloomKey = `${this.prefix}${hashTag('bloom')}`
    defineScripts(client, SCRIPTS)
  }

  claim(owner: object): void {
    if (this.claimedBy !== undefined && this.claimedBy !== owner) {
      optionError(PKG, 'this RedisTier already belongs to another cache; use namespace() to share it.')
    }
    this.claimedBy = owner
  }

  get circuit(): string {
    return this.breaker.state
  }

  keyOf(key: string): string {
    return `${this.prefix}${hashTag(key)}`
  }

  /** Runs one command under the deadline and the breaker; rejects at once while the circuit is open. */
  run<T>(work: () => Promise<T>, timeout = this.commandTimeout): Promise<T> {
    if (!this.breaker.allow()) {
      return Promise.reject(new HotpathError('ERR_HOTPATH_CIRCUIT_OPEN', 'cache Redis tier: circuit open'))
    }
    let call: Promise<T>
    try {
      // An owned client has no offline queue; while it (re)connects a call waits for 'ready'
      // within the same deadline instead of failing at once.
      call = this.owned && this.client.status !== 'ready' ? this.ready().then(work) : work()
    } catch (error) {
      call = Promise.reject(error)
    }
    return withDeadline(call, timeout, 'cache Redis tier').then(
      (value) => {
        this.breaker.success()
        return value
      },
      (error: unknown) => {
        this.breaker.failure()
        this.errors++
        if ((error as { code?: string }).code === 'ERR_HOTPATH_DEADLINE') this.timeouts++
        throw error
      },
    )
  }

  private readyWait: Promise<void> | undefined

  /** One shared 'ready' listener, whatever the number of calls waiting for the connection. */
  private ready(): Promise<void> {
    this.readyWait ??= new Promise<void>((resolve) => {
      this.client.once('ready', () => {
        this.readyWait = undefined
        resolve()
      })
    })
    return this.readyWait
  }

  get(key: string): Promise<Buffer | null> {
    return this.run(() => this.client.getBuffer(this.keyOf(key)))
  }

  /** MGET: one round trip on a standalone Redis; on Cluster one per slot, pipelined by ioredis. */
  getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return Promise.resolve([])
    if (!this.isCluster) return this.run(() => this.client.mgetBuffer(...keys.map((k) => this.keyOf(k))))
    return this.run(() => Promise.all(keys.map((k) => this.client.getBuffer(this.keyOf(k)))))
  }

  set(key: string, value: Buffer, ttlMs: number): Promise<unknown> {
    return this.run(() => this.client.set(this.keyOf(key), value, 'PX', Math.max(1, Math.ceil(ttlMs))))
  }

  /** One pipeline (one round trip) on a standalone Redis. */
  setMany(entries: ReadonlyArray<readonly [string, Buffer, number]>): Promise<unknown> {
    if (entries.length === 0) return Promise.resolve()
    const px = (ms: number) => Math.max(1, Math.ceil(ms))
    if (this.isCluster) {
      return this.run(() =>
        Promise.all(entries.map(([k, v, ms]) => this.client.set(this.keyOf(k), v, 'PX', px(ms)))),
      )
    }
    return this.run(async () => {
      const pipeline = this.client.pipeline()
      for (const [k, v, ms] of entries) pipeline.set(this.keyOf(k), v, 'PX', px(ms))
      const replies = (await pipeline.exec()) as Array<[Error | null, unknown]>
      for (const [error] of replies) if (error) throw error
    })
  }

  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0)
    if (!this.isCluster) return this.run(() => this.client.del(...keys.map((k) => this.keyOf(k))))
    return this.run(async () => {
      const counts = await Promise.all(keys.map((k) => this.client.del(this.keyOf(k)) as Promise<number>))
      return counts.reduce((a, b) => a + b, 0)
    })
  }

  /** The value if there is one, else whether this owner now holds the lease. */
  async acquire(
    key: string,
    owner: string,
    leaseMs: number,
    leaseOnly = false,
  ): Promise<{ value: Buffer | null; acquired: boolean }> {
    const k = this.keyOf(key)
    const [value, acquired] = (await this.run(() =>
      this.client.hotpathCacheAcquireBuffer(
        k,
        `${k}:lock`,
        owner,
        Math.max(1, Math.ceil(leaseMs)),
        leaseOnly ? '1' : '0',
      ),
    )) as [Buffer, number]
    return { value: value.length > 0 ? value : null, acquired: acquired === 1 }
  }

  release(key: string, owner: string, value: Buffer | null, ttlMs: number, channel: string, message: string) {
    const k = this.keyOf(key)
    return this.run(() =>
      this.client.hotpathCacheRelease(
        k,
        `${k}:lock`,
        value ?? '',
        Math.max(1, Math.ceil(ttlMs)),
        owner,
        channel,
        message,
      ),
    )
  }

  bumpTag(tag: string, kind: 'h' | 's', channel: string, messageHead: string): Promise<number> {
    return this.run(() =>
      this.client.hotpathCacheBumpTag(this.tagsKey, `${kind}:${tag}`, channel, messageHead),
    )
  }

  /** The whole tag hash: read when the bus (re)connects; a larger deadline, it may be big. */
  tagVersions(): Promise<Record<string, string>> {
    return this.run(() => this.client.hgetall(this.tagsKey), Math.max(1000, this.commandTimeout * 10))
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.run(() => this.client.publish(channel, message))
  }

  /** Deletes every entry whose key starts with `keyPrefix` (SCAN + UNLINK on every master). */
  deletePrefix(keyPrefix: string): Promise<number> {
    const pattern = `${this.prefix}{${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    const nodes: RedisClientLike[] = this.isCluster ? this.client.nodes('master') : [this.client]
    return this.run(
      async () => {
        let removed = 0
        for (const node of nodes) {
          let cursor = '0'
          do {
            const [next, keys] = (await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)) as [
              string,
              string[],
            ]
            cursor = next
            const doomed = keys.filter((key) => key !== this.tagsKey && !key.startsWith(this.bloomKey))
            if (doomed.length === 0) continue
            // One UNLINK per batch on a standalone server; per key on Cluster (keys of many slots).
            if (!this.isCluster) removed += (await node.unlink(...doomed)) as number
            else for (const key of doomed) removed += (await node.unlink(key)) as number
          } while (cursor !== '0')
        }
        return removed
      },
      Math.max(5000, this.commandTimeout * 100),
    )
  }

  async close(): Promise<void> {
    if (!this.owned) return
    await this.client.quit().catch(() => undefined)
    // quit() cannot reach a server that is down; disconnect() also stops the reconnect loop.
    this.client.disconnect()
  }
}

/** A client the tier owns: no offline queue (a command while disconnected fails at once). */
function connect(url: string, commandTimeout: number): RedisClientLike {
  let Redis: new (url: string, options: object) => RedisClientLike
  try {
    Redis = require('ioredis') as typeof Redis
  } catch {
    optionError(PKG, 'the url option needs the ioredis package: npm install ioredis')
  }
  const client = new Redis(url, {
    commandTimeout,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 50, 500),
  })
  // Errors surface through the commands (and the fallback to L1 / the factory).
  client.on('error', () => undefined)
  return client
}
