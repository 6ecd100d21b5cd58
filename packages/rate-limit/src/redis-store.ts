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
import { REFUND_NAMES, SCRIPT_NAMES, SCRIPTS } from './lua'
import type { Decision, Policy, Store } from './types'

/** The part of an ioredis client (standalone `Redis` or `Cluster`) the store uses. */
export interface RedisClientLike {
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void
  del(...keys: string[]): Promise<number>
  quit(): Promise<unknown>
  disconnect(): void
}

export interface RedisStoreOptions {
  /** An ioredis `Redis` or `Cluster` client. Two stores may share one client. */
  client?: RedisClientLike
  /** Or a URL; the store then owns the client (no offline queue) and quits it on `close()`. */
  url?: string
  /** Prefix of every key. Default `'hotpath:rl:'`. */
  prefix?: string
  /** Deadline of every command, ms or `'200ms'`. Default 200 ms. */
  commandTimeout?: number | string
  /** Consecutive failures that open the circuit. Default 3. */
  failureThreshold?: number
  /** How long the open circuit fails fast before one trial command, ms or `'1s'`. Default 1 s. */
  cooldown?: number | string
  /**
   * Clock in ms. Default: none, the Redis server clock (`TIME` inside the script) decides
   * window edges, so app hosts with skewed clocks still agree. Pass one only for tests.
   */
  now?: () => number
}

const KNOWN = ['client', 'url', 'prefix', 'commandTimeout', 'failureThreshold', 'cooldown', 'now'] as const
const PKG = '@hotpath/rate-limit RedisStore'

type ScriptFn = (key: string, ...args: Array<string | number>) => Promise<unknown>

/**
 * Rate-limit records in Redis: one script call (one round trip) per request, under a
 * deadline and a circuit breaker, so a slow or dead Redis costs a request at most
 * `commandTimeout` once and nothing while the circuit is open.
 */
export class RedisStore implements Store {
  readonly kind = 'redis'
  readonly commandTimeout: number
  readonly cooldown: number
  private readonly client: RedisClientLike
  private readonly owned: boolean
  private readonly prefix: string
  private readonly breaker: CircuitBreaker
  private readonly now: (() => number) | undefined
  private readonly scripts: Record<Policy['algorithm'], ScriptFn>
  private readonly refunds: Record<Policy['algorithm'], ScriptFn>
  /** Set once the client was ready: from then on a lost connection fails fast (circuit, policy). */
  private everReady = false
  private firstConnect: Promise<void> | undefined

  constructor(options: Readonly<RedisStoreOptions>) {
    rejectUnknownOptions(PKG, options, KNOWN)
    if (!options || (options.client === undefined) === (options.url === undefined)) {
      optionError(PKG, 'pass exactly one of { client } (an ioredis Redis or Cluster) or { url }.')
    }
    this.prefix = options.prefix ?? 'hotpath:rl:'
    if (typeof this.prefix !== 'string') optionError(PKG, 'prefix must be a string.')
    this.commandTimeout = parseDuration(options.commandTimeout ?? 200, 'commandTimeout')
    this.cooldown = parseDuration(options.cooldown ?? 1000, 'cooldown')
    if (!(this.commandTimeout > 0)) optionError(PKG, 'commandTimeout must be greater than 0.')
    this.now = options.now
    this.breaker = createCircuitBreaker({
      failureThreshold: options.failureThreshold ?? 3,
      cooldown: this.cooldown,
    })
    this.owned = options.client === undefined
    this.client = options.client ?? connect(options.url as string, this.commandTimeout)
    defineScripts(this.client, SCRIPTS)
    const host = this.client as unknown as Record<string, ScriptFn>
    const bind = (name: string): ScriptFn => {
      const fn = host[name]
      if (typeof fn !== 'function')
        optionError(PKG, 'the client does not support defineCommand (use ioredis 5).')
      return fn.bind(this.client)
    }
    this.scripts = {
      'fixed-window': bind(SCRIPT_NAMES['fixed-window']),
      'sliding-window': bind(SCRIPT_NAMES['sliding-window']),
      'token-bucket': bind(SCRIPT_NAMES['token-bucket']),
      gcra: bind(SCRIPT_NAMES.gcra),
    }
    this.refunds = {
      'fixed-window': bind(REFUND_NAMES.window),
      'sliding-window': bind(REFUND_NAMES.window),
      'token-bucket': bind(REFUND_NAMES.token),
      gcra: bind(REFUND_NAMES.gcra),
    }
  }

  /**
   * While the client makes its first connection, a command would fail at once (no offline
   * queue): a fresh instance under traffic would apply `onStoreError` to its first requests,
   * and two instances booted together would not share their first counts. So until the client
   * has been ready once, a command waits for it, inside the same `commandTimeout` deadline.
   */
  private connected(): Promise<void> | undefined {
    if (this.everReady) return undefined
    const client = this.client as unknown as ClientEvents
    const status = client.status
    if (status === undefined || status === 'ready') {
      this.everReady = true
      return undefined
    }
    if (status === 'end' || status === 'close') return undefined
    if (this.firstConnect === undefined) {
      this.firstConnect = new Promise<void>((resolve) => {
        client.once?.('ready', () => {
          this.everReady = true
          resolve()
        })
      })
      // A client made with lazyConnect waits for a first command that, without a queue, fails.
      if (status === 'wait') client.connect?.().catch(() => undefined)
    }
    return this.firstConnect
  }

  /** Runs `send` once the first connection is up, all within `commandTimeout`. */
  private command<T>(send: () => Promise<T>): Promise<T> {
    const ready = this.connected()
    if (ready === undefined) return withDeadline(send(), this.commandTimeout, 'rate-limit Redis store')
    // A command whose deadline passed during the wait is not sent late: the failure policy
    // already answered its request, and a late count would be a second one.
    let late = false
    const call = ready.then(() => {
      if (late)
        throw new HotpathError('ERR_HOTPATH_DEADLINE', 'rate-limit Redis store: not sent after its deadline')
      return send()
    })
    return withDeadline(call, this.commandTimeout, 'rate-limit Redis store').catch((error: unknown) => {
      late = true
      throw error
    })
  }

  /** `'closed'` (healthy), `'open'` (failing fast) or `'half-open'` (probing). */
  get circuit(): string {
    return this.breaker.state
  }

  /** The Redis key of a store key: prefix + hash tag, so a record lives in one Cluster slot. */
  keyOf(key: string): string {
    return `${this.prefix}${hashTag(key)}`
  }

  /** Rejects on a failed or late command; throws at once while the circuit is open. */
  consume(key: string, policy: Policy, cost: number): Promise<Decision> {
    if (!this.breaker.allow()) {
      // Thrown, not rejected: while Redis is down the failure policy runs synchronously.
      throw new HotpathError(
        'ERR_HOTPATH_CIRCUIT_OPEN',
        'rate-limit Redis store: circuit open after repeated failures',
      )
    }
    const send = () =>
      this.scripts[policy.algorithm](
        this.keyOf(key),
        policy.limit,
        policy.windowMs,
        policy.burst,
        cost,
        this.now === undefined ? 0 : Math.floor(this.now()),
      )
    return this.command(send).then(
      (reply) => {
        this.breaker.success()
        return toDecision(reply)
      },
      (error: unknown) => {
        this.breaker.failure()
        throw error
      },
    )
  }

  async resetKey(key: string): Promise<void> {
    await this.command(() => this.client.del(this.keyOf(key)))
  }

  async refund(key: string, policy: Policy, cost: number): Promise<void> {
    await this.command(() =>
      this.refunds[policy.algorithm](
        this.keyOf(key),
        policy.limit,
        policy.windowMs,
        policy.burst,
        cost,
        this.now === undefined ? 0 : Math.floor(this.now()),
        policy.algorithm === 'sliding-window' ? 1 : 0,
      ),
    )
  }

  async close(): Promise<void> {
    if (!this.owned) return
    await this.client.quit().catch(() => undefined)
    // quit() cannot reach a server that is down; disconnect() also stops the reconnect loop.
    this.client.disconnect()
  }
}

/** What the first-connect wait reads of an ioredis client. */
interface ClientEvents {
  status?: string
  once?(event: string, fn: () => void): void
  connect?(): Promise<void>
}

function toDecision(reply: unknown): Decision {
  if (!Array.isArray(reply) || reply.length !== 4) {
    throw new HotpathError('ERR_HOTPATH_RATE_LIMIT_REPLY', 'rate-limit Redis store: unexpected script reply')
  }
  const [allowed, remaining, resetMs, retryAfterMs] = reply as number[]
  return {
    allowed: allowed === 1,
    remaining: Math.max(0, Number(remaining)),
    resetMs: Math.max(0, Number(resetMs)),
    retryAfterMs: Number(retryAfterMs),
  }
}

/** A client the store owns: no offline queue (a command while disconnected fails at once). */
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
    // Reconnect promptly after an outage (ioredis' default backs off to 2 s).
    retryStrategy: (times: number) => Math.min(times * 50, 500),
  }) as RedisClientLike & { on(event: string, fn: (error: unknown) => void): void }
  // Connection errors surface through the commands (and the failure policy); without a
  // listener ioredis would print every reconnect attempt.
  client.on('error', () => undefined)
  return client
}
