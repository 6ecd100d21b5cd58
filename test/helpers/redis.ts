/**
 * Real Redis for tests. The global setup starts one shared `redis-server` on a free
 * loopback port; suites that stop, pause or restart Redis start their own with
 * {@link startRedis} so they never disturb others. Without `redis-server` on PATH the
 * Redis suites are skipped loudly, and under `CI=true` they fail instead.
 */
import * as server from './redis-server'

export interface RedisHandle {
  readonly port: number
  readonly host: string
  readonly url: string
  readonly pid: number | null
  start(): Promise<void>
  stop(): Promise<void>
  restart(): Promise<void>
  /** DEBUG SLEEP: the server accepts connections but answers nothing for `ms`. */
  pause(ms: number): Promise<string>
  /** CLIENT PAUSE ms ALL. */
  clientPause(ms: number): Promise<string>
  cli(...command: string[]): Promise<string>
  destroy(): Promise<void>
}

export interface RedisClusterHandle {
  readonly nodes: Array<{ host: string; port: number }>
  readonly servers: RedisHandle[]
  stop(): Promise<void>
}

export const startRedis = server.startRedis as (options?: {
  port?: number
  args?: string[]
}) => Promise<RedisHandle>
/** A 3-master cluster by default; `args` are added to every master's command line. */
export const startRedisCluster = server.startRedisCluster as (
  masters?: number,
  args?: string[],
) => Promise<RedisClusterHandle>

/** URL of the run's shared redis-server, or `''` when there is none. */
export function redisUrl(): string {
  return process.env.HOTPATH_REDIS_URL ?? ''
}

export function hasRedis(): boolean {
  return redisUrl() !== ''
}

/** `describe` for suites that need a real Redis: skipped loudly without one, failing under CI. */
export function describeRedis(name: string, body: () => void): void {
  if (hasRedis()) {
    describe(name, body)
    return
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs redis-server on PATH', () => {
        throw new Error('redis-server is not on PATH; CI=true requires the Redis suites to run')
      })
    })
    return
  }
  console.warn(`SKIPPED (no redis-server on PATH): ${name}`)
  // Skipped only where redis-server is not installed: these suites test against a real server
  // and there is none (the warning above says so loudly); under CI=true they fail above instead.
  // reason: redis-server is not installed on this machine and this is not a CI run
  describe.skip(name, body) // reason: no redis-server on this machine
}

/** A key prefix unique to one test, so suites sharing the Redis never collide. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`
}
