import * as dc from 'node:diagnostics_channel'
import type { QueryRun, Recorder } from '../recorder'

interface CommandContext {
  command?: unknown
  [key: symbol]: unknown
}

/**
 * ioredis publishes the `ioredis:command` TracingChannel (5.x with diagnostics_channel):
 * subscribed, no wrap. A command's shape is its name (`GET`, `HGETALL`): arguments are keys and
 * values, and none is kept; a loop of GETs is an N+1 like a loop of SELECTs.
 */
export function instrumentIoredis(ioredis: unknown, recorder: Recorder): (() => void) | undefined {
  if (typeof dc.tracingChannel !== 'function' || ioredis === null || ioredis === undefined) return undefined
  const key = Symbol('hotpath.profiler.ioredis')
  const channel = dc.tracingChannel('ioredis:command')
  const handlers = {
    start(message: unknown) {
      const ctx = message as CommandContext
      const name = typeof ctx.command === 'string' ? ctx.command.toUpperCase() : 'COMMAND'
      // The parameters are unknown to us on purpose (null): no duplicate detection on values.
      const run = recorder.begin('ioredis', `${name} ?`, null)
      if (run !== undefined) ctx[key] = run
    },
    end() {},
    asyncStart(message: unknown) {
      ;((message as CommandContext)[key] as QueryRun | undefined)?.end()
    },
    asyncEnd() {},
    error(message: unknown) {
      ;((message as CommandContext)[key] as QueryRun | undefined)?.end()
    },
  }
  channel.subscribe(handlers)
  return () => channel.unsubscribe(handlers)
}
