import {
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks'

export interface EventLoopConfig {
  readonly maxUtilization: number
  readonly maxDelayMs: number
  readonly smoothing: number
}

/** Below this utilisation, the guard never refuses more than half of the requests. */
const HALF_CAP_BELOW = 0.9
/** Even a saturated loop lets this share through, so the guard keeps seeing what it does. */
const MAX_REFUSAL = 0.95
const RESOLUTION_MS = 10

/**
 * Smoothed event-loop utilisation (`performance.eventLoopUtilization`) and delay
 * (`monitorEventLoopDelay`), and a refusal probability that rises with the excess over either
 * threshold. Unlike a fixed threshold (all or nothing, as in under-pressure), the share refused
 * is proportional, so a loop just past its threshold refuses a few requests, not every one.
 */
export class EventLoopGuard {
  utilization = 0
  delayMs = 0
  /** For `normal` requests; `sheddable` ones are refused at twice this rate. */
  probability = 0
  sheddableProbability = 0
  private last: EventLoopUtilization
  private readonly histogram: IntervalHistogram

  constructor(private readonly config: EventLoopConfig) {
    this.last = performance.eventLoopUtilization()
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    this.histogram.enable()
  }

  tick(): void {
    const now = performance.eventLoopUtilization()
    const delta = performance.eventLoopUtilization(now, this.last)
    this.last = now
    // The histogram's samples include its own timer resolution; only the excess is delay.
    const mean = this.histogram.count > 0 ? this.histogram.mean / 1e6 : 0
    const delay = Math.max(0, mean - RESOLUTION_MS)
    this.histogram.reset()
    const a = this.config.smoothing
    this.utilization = a * delta.utilization + (1 - a) * this.utilization
    this.delayMs = a * delay + (1 - a) * this.delayMs
    const p = refusalProbability(this.utilization, this.delayMs, this.config)
    this.probability = p.normal
    this.sheddableProbability = p.sheddable
  }

  close(): void {
    this.histogram.disable()
  }
}

/**
 * The share of requests to refuse for a smoothed utilisation and delay: the excess over the
 * threshold as a fraction of the room above it (utilisation) or of the threshold (delay), the
 * larger of the two; sheddable requests at twice that. Never more than half while utilisation is
 * below 0.9, never more than 95% at all.
 */
export function refusalProbability(
  utilization: number,
  delayMs: number,
  config: Pick<EventLoopConfig, 'maxUtilization' | 'maxDelayMs'>,
): { normal: number; sheddable: number } {
  const { maxUtilization, maxDelayMs } = config
  const byUtilization = maxUtilization >= 1 ? 0 : (utilization - maxUtilization) / (1 - maxUtilization)
  const byDelay = maxDelayMs > 0 ? (delayMs - maxDelayMs) / maxDelayMs : 0
  const excess = Math.min(1, Math.max(0, byUtilization, byDelay))
  const cap = utilization < HALF_CAP_BELOW ? 0.5 : MAX_REFUSAL
  return { normal: Math.min(cap, excess), sheddable: Math.min(cap, excess * 2) }
}
