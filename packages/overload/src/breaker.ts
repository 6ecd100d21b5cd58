import { performance } from 'node:perf_hooks'
import { type BreakerState, type BreakerStats, createLogger, HotpathError } from '@hotpath/core'
import CircuitBreaker from 'opossum'
import { registerBreakerMetrics } from './breaker-metrics'
import { resolveBreakerOptions } from './breaker-options'
import type { Breaker, BreakerOptions } from './breaker-types'
import { Ring, round3 } from './ring'
import { sharedState } from './shared'
import { RollingWindow } from './window'

/** opossum's codes, translated into hotpath's stable ones. */
const CODES: Record<string, [string, string]> = {
  EOPENBREAKER: ['ERR_HOTPATH_BREAKER_OPEN', 'the circuit is open; the call was not made'],
  ETIMEDOUT: ['ERR_HOTPATH_BREAKER_TIMEOUT', 'the call did not settle within the timeout'],
  ESEMLOCKED: ['ERR_HOTPATH_BREAKER_CAPACITY', 'too many calls are running at once (capacity)'],
  ESHUTDOWN: ['ERR_HOTPATH_BREAKER_SHUTDOWN', 'the breaker was shut down'],
}

function translate(name: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code
  const known = typeof code === 'string' ? CODES[code] : undefined
  if (known === undefined || err instanceof HotpathError) return err
  const out = new HotpathError(known[0], `@hotpath/overload breaker "${name}": ${known[1]}.`)
  ;(out as Error & { cause?: unknown }).cause = err
  return out
}

/**
 * `breaker(fn, options)`: `fn` under a circuit breaker. opossum (well kept, used widely) runs
 * the circuit: the timeout, the failure-rate threshold over a bucketed rolling window, the
 * half-open state that lets one probe through after `resetTimeout`, the fallback and capacity.
 * What it lacks is added here: slow successful calls (resilience4j's slow-call rate) counted in
 * a window of the same shape, opening the circuit, and re-opening it when the half-open probe
 * was slow; hotpath's error codes; stats in the dashboard's shape; a shared open state.
 */
export function breaker<A extends unknown[], R>(
  fn: (...args: A) => Promise<R> | R,
  options: Readonly<BreakerOptions<A, R>> = {},
): Breaker<A, R> {
  if (typeof fn !== 'function') {
    throw new HotpathError(
      'ERR_HOTPATH_BREAKER_OPTION',
      `@hotpath/overload breaker: the first argument must be the async function to protect, got ${typeof fn}.`,
    )
  }
  const config = resolveBreakerOptions(options as Readonly<BreakerOptions<never[], unknown>>, fn.name)
  const log = createLogger(options.logger)
  const { name } = config
  const isFailure = config.isFailure
  const circuit = new CircuitBreaker<A, R>(async (...args: A) => fn(...args), {
    name,
    timeout: config.timeoutMs,
    // opossum opens when the rate is above the percentage; the option reads "at or above".
    errorThresholdPercentage: config.failureRate * 100 - 1e-9,
    resetTimeout: config.resetTimeoutMs,
    rollingCountTimeout: config.windowMs,
    rollingCountBuckets: config.buckets,
    volumeThreshold: config.minimumCalls,
    capacity: config.capacity,
    errorFilter: (err: unknown) => {
      if (isFailure === undefined) return false
      try {
        return isFailure(err) !== true
      } catch (e) {
        log.warnOnce(
          'ERR_HOTPATH_BREAKER_IS_FAILURE',
          `@hotpath/overload breaker "${name}": isFailure threw; the error counts as a failure.`,
          e,
        )
        return false
      }
    },
  })
  const userFallback = options.fallback
  if (userFallback) {
    circuit.fallback((...args: unknown[]) => {
      const err = translate(name, args[args.length - 1]) as Error
      return userFallback(...([...args.slice(0, -1), err] as [...A, Error]))
    })
  }

  const window = new RollingWindow(config.windowMs, config.buckets)
  const latency = new Ring(512)
  const totals = { calls: 0, successes: 0, failures: 0, timeouts: 0, rejected: 0, fallbacks: 0, slow: 0 }
  let openedAt: number | null = null
  let probing = false
  let remoteOpen = false

  circuit.on('fire', () => {
    totals.calls++
  })
  circuit.on('success', (_result: unknown, ms: number) => {
    totals.successes++
    latency.push(ms)
    const slow = ms >= config.slowCallMs
    if (slow) totals.slow++
    window.add(performance.now(), slow ? 'slow' : 'ok')
    const wasProbe = probing
    probing = false
    // opossum has just closed the circuit on the probe's success; a slow probe re-opens it.
    if (slow && (wasProbe || slowRateReached())) circuit.open()
  })
  circuit.on('failure', (_err: unknown, ms: number) => {
    totals.failures++
    probing = false
    latency.push(ms)
    window.add(performance.now(), 'failure')
  })
  circuit.on('timeout', () => {
    totals.timeouts++
  })
  circuit.on('reject', () => {
    totals.rejected++
  })
  circuit.on('fallback', () => {
    totals.fallbacks++
  })
  circuit.on('open', () => {
    openedAt = Date.now()
    if (!remoteOpen) shared?.publish()
    remoteOpen = false
  })
  circuit.on('halfOpen', () => {
    probing = true
  })
  circuit.on('close', () => {
    window.reset()
    shared?.clear()
  })

  const slowRateReached = () => {
    const w = window.totals(performance.now())
    return w.calls >= config.minimumCalls && w.slow / w.calls >= config.slowCallRate
  }

  const stateOf = (): BreakerState => (circuit.opened ? 'open' : circuit.halfOpen ? 'half-open' : 'closed')

  const shared =
    config.shared &&
    sharedState(config.shared, name, config.resetTimeoutMs, log, () => {
      // Another instance opened it: open here too, once per published opening.
      if (stateOf() !== 'closed') return
      remoteOpen = true
      circuit.open()
    })

  const call = (...args: A): Promise<R> =>
    circuit.fire(...args).catch((err: unknown) => {
      throw translate(name, err)
    })

  const stats = (): BreakerStats => {
    const w = window.totals(performance.now())
    return {
      name,
      state: stateOf(),
      ...totals,
      failureRate: w.calls > 0 ? round3(w.failures / w.calls) : 0,
      slowRate: w.calls > 0 ? round3(w.slow / w.calls) : 0,
      latencyMs: { p50: round3(latency.quantile(0.5)), p99: round3(latency.quantile(0.99)) },
      openedAt: openedAt === null ? null : new Date(openedAt).toISOString(),
      shared: shared !== undefined,
    }
  }

  Object.defineProperties(call, {
    name: { value: name },
    state: { get: stateOf },
    stats: { value: stats },
    open: { value: () => circuit.open() },
    close: { value: () => circuit.close() },
    shutdown: {
      value: () => {
        shared?.stop()
        circuit.shutdown()
      },
    },
  })
  if (config.registry) registerBreakerMetrics(config.registry, config.metricsPrefix, stats)
  return call as Breaker<A, R>
}
