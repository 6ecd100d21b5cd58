import { HotpathError, type RateLimitRouteStats, type StoreMode } from '@hotpath/core'
import type { MetricsRegistry } from './types'

/** Counters of one limiter layer for one route label. */
export interface RouteCounter {
  allowed: number
  limited: number
}

const TOP_KEYS = 50
const LATENCY_SAMPLES = 512

/**
 * The numbers one limiter (and its `route()` layers) keep. Everything is bounded: the
 * top-limited table uses the Space-Saving sketch (Metwally et al., 2005) over `TOP_KEYS`
 * slots, and store latency is a ring of the last `LATENCY_SAMPLES` asynchronous answers.
 */
export class Recorder {
  allowed = 0
  limited = 0
  failOpen = 0
  storeErrors = 0
  mode: StoreMode = 'store'
  private readonly top = new Map<string, number>()
  private readonly latency = new Float64Array(LATENCY_SAMPLES)
  private latencyCount = 0

  /** Zeroes the counters; the store's health (`mode`) is state, not a statistic, and stays. */
  reset(): void {
    this.allowed = 0
    this.limited = 0
    this.failOpen = 0
    this.storeErrors = 0
    this.top.clear()
    this.latencyCount = 0
  }

  limitedKey(key: string): void {
    const count = this.top.get(key)
    if (count !== undefined) {
      this.top.set(key, count + 1)
      return
    }
    if (this.top.size < TOP_KEYS) {
      this.top.set(key, 1)
      return
    }
    let minKey = ''
    let min = Number.POSITIVE_INFINITY
    for (const [k, c] of this.top) {
      if (c < min) {
        min = c
        minKey = k
      }
    }
    this.top.delete(minKey)
    this.top.set(key, min + 1)
  }

  storeLatency(ms: number): void {
    this.latency[this.latencyCount % LATENCY_SAMPLES] = ms
    this.latencyCount++
  }

  topLimited(): Array<{ key: string; count: number }> {
    return [...this.top].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count)
  }

  latencyMs(): { p50: number; p99: number } {
    const n = Math.min(this.latencyCount, LATENCY_SAMPLES)
    if (n === 0) return { p50: 0, p99: 0 }
    const sorted = Array.from(this.latency.subarray(0, n)).sort((a, b) => a - b)
    const at = (q: number) => round(sorted[Math.min(n - 1, Math.floor(q * n))] as number)
    return { p50: at(0.5), p99: at(0.99) }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** Per-layer counters keyed by route label (`'*'` for a limiter mounted with `use`). */
export class LayerCounters {
  readonly all: RouteCounter = { allowed: 0, limited: 0 }
  readonly byRoute = new Map<string, RouteCounter>()

  reset(): void {
    this.all.allowed = 0
    this.all.limited = 0
    this.byRoute.clear()
  }

  counter(label: string | undefined): RouteCounter {
    if (label === undefined) return this.all
    let counter = this.byRoute.get(label)
    if (counter === undefined) {
      counter = { allowed: 0, limited: 0 }
      this.byRoute.set(label, counter)
    }
    return counter
  }

  report(into: Record<string, RateLimitRouteStats>, name: string, policy: string): void {
    const add = (label: string, counter: RouteCounter) => {
      const key = into[label] === undefined ? label : `${label} (${name})`
      into[key] = { allowed: counter.allowed, limited: counter.limited, policy }
    }
    if (this.all.allowed + this.all.limited > 0) add('*', this.all)
    for (const [label, counter] of this.byRoute) add(label, counter)
  }
}

/** A bound prom-client counter child (`inc()` only). */
export interface CounterChild {
  inc(value?: number): void
}

export interface LayerMetrics {
  allowed: CounterChild
  limited: CounterChild
  storeErrors: CounterChild
}

interface CounterLike {
  labels(...values: string[]): CounterChild
}

/**
 * Counters on the caller's registry: `<prefix>requests_total{policy,outcome}` and
 * `<prefix>store_errors_total{policy,mode}`. A metric already registered under the name
 * (another limiter on the same registry) is reused, so two limiters add up.
 */
export function createMetrics(
  registry: MetricsRegistry,
  prefix: string,
  policy: string,
  failureMode: string,
): LayerMetrics {
  let prom: { Counter: new (config: object) => CounterLike }
  try {
    prom = require('prom-client') as typeof prom
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_OPTION',
      '@hotpath/rate-limit: the registry option needs the prom-client package: npm install prom-client',
    )
  }
  const counter = (name: string, help: string, labelNames: string[]): CounterLike => {
    const existing = registry.getSingleMetric(name) as CounterLike | undefined
    if (existing !== undefined) return existing
    return new prom.Counter({ name, help, labelNames, registers: [registry] })
  }
  const requests = counter(`${prefix}requests_total`, 'Requests seen by the rate limiter, by outcome.', [
    'policy',
    'outcome',
  ])
  const errors = counter(`${prefix}store_errors_total`, 'Rate-limit store failures, by failure mode.', [
    'policy',
    'mode',
  ])
  return {
    allowed: requests.labels(policy, 'allowed'),
    limited: requests.labels(policy, 'limited'),
    storeErrors: errors.labels(policy, failureMode),
  }
}
