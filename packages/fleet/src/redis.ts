import { createCircuitBreaker, withDeadline } from '@hotpath/core'
import type { Cluster } from 'ioredis'
import { Redis } from 'ioredis'

export type Client = Redis | Cluster

/**
 * The fleet's connections: commands (the caller's client, or one opened from the URL) and a
 * subscriber duplicated from it. Every command has a deadline and goes through a circuit breaker,
 * so a dead Redis costs a view one deadline, then nothing until the breaker's probe.
 */
export function connect(redis: string | Client, commandTimeoutMs: number) {
  const owned = typeof redis === 'string'
  const client: Client = owned
    ? new Redis(redis, { maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: false })
    : redis
  const subscriber = client.duplicate() as Client
  client.on?.('error', () => {})
  subscriber.on('error', () => {})
  const breaker = createCircuitBreaker({ failureThreshold: 3, cooldown: 1000 })

  async function call<T>(what: string, fn: (c: Client) => Promise<T>): Promise<T> {
    if (!breaker.allow()) throw new Error(`fleet: Redis circuit open (${what})`)
    try {
      const value = await withDeadline(fn(client), commandTimeoutMs, `fleet ${what}`)
      breaker.success()
      return value
    } catch (err) {
      breaker.failure()
      throw err
    }
  }

  async function close(): Promise<void> {
    const quit = async (c: Client) => {
      try {
        await withDeadline(c.quit(), 1000, 'fleet quit')
      } catch {
        c.disconnect()
      }
    }
    await quit(subscriber)
    if (owned) await quit(client)
  }

  return { client, subscriber, call, close, breaker }
}
