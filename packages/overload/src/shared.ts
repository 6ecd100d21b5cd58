import { type OnceLogger, withDeadline } from '@hotpath/core'
import type { BreakerConfig } from './breaker-options'

export interface SharedState {
  /** This instance opened the circuit: tell the others (for one `resetTimeout`). */
  publish(): void
  /** The circuit closed here after a successful probe: the fleet may close too. */
  clear(): void
  stop(): void
}

/**
 * The open state shared through one Redis key per breaker, `SET key token PX resetTimeout`.
 * Other instances poll it out of band and open once per token they have not seen. The effect is
 * bounded both ways: the key expires after one `resetTimeout`, so a stale opening cannot keep the
 * fleet open, and every command has a deadline and only ever runs on a timer or after an opening,
 * never on the call path: with Redis down each breaker simply works alone (logged once).
 */
export function sharedState(
  config: NonNullable<BreakerConfig['shared']>,
  name: string,
  resetTimeoutMs: number,
  log: OnceLogger,
  onRemoteOpen: () => void,
): SharedState {
  const key = `${config.prefix}${name}`
  const self = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`
  let seen: string | null = null
  let polling = false
  const failed = (err: unknown) => {
    log.warnOnce(
      'ERR_HOTPATH_BREAKER_SHARED',
      `@hotpath/overload breaker "${name}": Redis is unreachable; the breaker works on this instance alone until it answers.`,
      err,
    )
  }
  const ok = () => log.rearm('ERR_HOTPATH_BREAKER_SHARED')
  const run = <T>(work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return withDeadline(work(), config.commandTimeoutMs, `breaker "${name}" Redis command`).then(
        (value) => {
          ok()
          return value
        },
        (err: unknown) => {
          failed(err)
          return undefined
        },
      )
    } catch (err) {
      failed(err)
      return Promise.resolve(undefined)
    }
  }
  const timer = setInterval(() => {
    if (polling) return
    polling = true
    void run(() => config.client.get(key)).then((token) => {
      polling = false
      if (typeof token !== 'string' || token === seen) return
      seen = token
      if (!token.startsWith(`${self}:`)) onRemoteOpen()
    })
  }, config.pollMs)
  timer.unref()
  return {
    publish() {
      const token = `${self}:${Date.now()}`
      seen = token
      void run(() => config.client.set(key, token, 'PX', resetTimeoutMs))
    },
    clear() {
      void run(() => config.client.del(key))
    },
    stop() {
      clearInterval(timer)
    },
  }
}
