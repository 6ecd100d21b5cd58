import type { OnceLogger } from '@hotpath/core'
import type { RedisClientLike } from './redis-tier'

/**
 * What travels on the bus. `o`: `d` drop keys from L1 (a set or delete elsewhere), `w` a
 * lease holder wrote its value (drop + wake waiters), `p` drop a key prefix (clear), `t` a
 * tag's new version (`f` hard/soft, `v`, `r` = also invalidate linked response caches),
 * `a` drop all of L1 (an outage's invalidations could not be replayed one by one).
 */
export interface BusMessage {
  i: string
  o: 'd' | 'w' | 'p' | 't' | 'a'
  k?: string[]
  g?: string
  f?: 'h' | 's'
  v?: number
  r?: 1
}

export interface BusEvents {
  message(message: BusMessage): void
  /** `reconnected`: it was connected before, so messages may have been lost in between. */
  connected(reconnected: boolean): void
  disconnected(): void
}

/**
 * The subscriber side of the bus, on its own connection (a subscribed connection can run
 * no other command). Publishing goes through the L2 tier, under its deadline.
 */
export class Bus {
  connected = false
  private everConnected = false
  private closed = false
  received = 0
  errors = 0

  constructor(
    private readonly subscriber: RedisClientLike,
    readonly channel: string,
    private readonly id: string,
    private readonly events: BusEvents,
    private readonly log: OnceLogger,
  ) {
    subscriber.on('error', () => {
      this.errors++
    })
    subscriber.on('ready', () => this.subscribe())
    subscriber.on('close', () => this.down())
    subscriber.on('end', () => this.down())
    subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
      if (channel.toString() === this.channel) this.handle(payload)
    })
    if (subscriber.status === 'ready') this.subscribe()
  }

  private subscribe(): void {
    if (this.closed) return
    this.subscriber.subscribe(this.channel).then(
      () => {
        if (this.closed || this.connected) return
        this.connected = true
        const reconnected = this.everConnected
        this.everConnected = true
        this.log.rearm('ERR_HOTPATH_CACHE_BUS')
        this.events.connected(reconnected)
      },
      () => {
        this.errors++
      },
    )
  }

  private down(): void {
    if (!this.connected) return
    this.connected = false
    if (!this.closed) {
      this.log.warnOnce(
        'ERR_HOTPATH_CACHE_BUS',
        '@hotpath/cache: the coherence bus lost Redis; L1 entries live at most maxStaleWhenPartitioned until it is back.',
      )
      this.events.disconnected()
    }
  }

  private handle(payload: Buffer): void {
    let message: BusMessage
    try {
      message = JSON.parse(payload.toString('utf8')) as BusMessage
    } catch {
      this.errors++
      return
    }
    if (message === null || typeof message !== 'object' || message.i === this.id) return
    this.received++
    try {
      this.events.message(message)
    } catch {
      this.errors++
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.connected = false
    await this.subscriber.quit().catch(() => undefined)
    this.subscriber.disconnect()
  }
}

/** The subscriber connection: a duplicate of the L2 client that queues while connecting. */
export function subscriberFor(client: RedisClientLike): RedisClientLike {
  const overrides = {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    lazyConnect: false,
    retryStrategy: (times: number) => Math.min(times * 50, 500),
  }
  if (client.isCluster === true) {
    // Cluster.duplicate replaces redisOptions whole: keep the user's (password, TLS, …) under ours.
    const redisOptions = { ...(client.options?.redisOptions ?? {}), ...overrides }
    return client.duplicate(undefined, {
      redisOptions,
      clusterRetryStrategy: overrides.retryStrategy,
    }) as RedisClientLike
  }
  return client.duplicate(overrides) as RedisClientLike
}
