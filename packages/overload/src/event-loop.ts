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
/** One late tick counts for at most this many samples (a stall of a second moves p by ≤ 1). */
const MAX_STEPS = 10
/**
 * The delay histogram runs only while the smoothed utilisation is at least this share of
 * `maxUtilization` (off again below 80% of that). Its 10 ms timer wakes an idle process 100 times
 * a second, which measured 4.6 ms of CPU per second here (0.4 ms without it): at 120 requests/s,
 * ~40 µs per request, 7% of a small route. Below the gate the guard refuses nothing whatever the
 * delay, so the histogram is only needed on the way up to it, which a smoothed utilisation takes
 * several samples to climb; meanwhile (and for a stall no sample saw coming) the sampling timer's
 * own lateness is the delay.
 */
const ARM_AT = 0.5

/**
 * Smoothed event-loop utilisation (`performance.eventLoopUtilization`) and delay
 * (`monitorEventLoopDelay`), and a refusal probability driven by them. Utilisation alone cannot
 * tell a loop that is fully busy and keeping up (the best state there is) from one that falls
 * behind, so it is only the gate; the delay past its threshold is the signal. The probability is
 * integrated: it rises each sample by a step proportional to the excess and falls back while the
 * loop keeps up, so it settles on the share that holds the delay at its threshold instead of
 * jumping between "refuse nothing" and "refuse everything" as a fixed threshold does.
 */
export class EventLoopGuard {
  utilization = 0
  delayMs = 0
  /** For `normal` requests; `sheddable` ones are refused at twice this rate. */
  probability = 0
  sheddableProbability = 0
  private last: EventLoopUtilization
  private lastTickAt = performance.now()
  /** Whether the delay histogram is running (see ARM_AT). */
  armed = false
  private started = false
  private readonly histogram: IntervalHistogram

  constructor(
    private readonly config: EventLoopConfig,
    private readonly sampleIntervalMs: number,
  ) {
    this.last = performance.eventLoopUtilization()
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  }

  tick(): void {
    // The first sample only sets the baselines: the time since construction is the app's boot
    // (its synchronous start-up after creating the guard), not load.
    if (!this.started) {
      this.started = true
      this.lastTickAt = performance.now()
      this.last = performance.eventLoopUtilization()
      return
    }
    // A blocked loop runs no timer: one late tick stands for every sample it missed, so the
    // smoothing and the controller advance by the wall time that passed, not by one step.
    const at = performance.now()
    const elapsed = at - this.lastTickAt
    this.lastTickAt = at
    const steps = Math.min(MAX_STEPS, Math.max(1, elapsed / this.sampleIntervalMs))
    const now = performance.eventLoopUtilization()
    const delta = performance.eventLoopUtilization(now, this.last)
    this.last = now
    // The delay a request arriving at a random moment runs into: the size-biased mean
    // E[d²]/E[d] = (σ² + μ²)/μ of the timer's lateness samples. The plain mean under-weights
    // long stalls (a one-second stall is one sample, the quick turns around it are many), so a
    // loop that has fallen behind can still show a small mean. The samples include the timer's
    // own period, which is no delay.
    // The histogram's mean and stddev reads each walk all its buckets and reset() clears
    // them (together ~0.4 M instructions, valgrind): done only while it runs and holds samples.
    let biased = 0
    const count = this.armed ? this.histogram.count : 0
    if (count > 0) {
      const mean = this.histogram.mean / 1e6
      const sd = count > 1 ? this.histogram.stddev / 1e6 : 0
      biased = mean > 0 ? (sd * sd + mean * mean) / mean - RESOLUTION_MS : 0
      this.histogram.reset()
    }
    const delay = Math.max(0, biased, elapsed - this.sampleIntervalMs)
    const a = 1 - (1 - this.config.smoothing) ** steps
    this.utilization = a * delta.utilization + (1 - a) * this.utilization
    this.delayMs = a * delay + (1 - a) * this.delayMs
    const p = nextRefusal(this.probability, this.utilization, this.delayMs, this.config, steps)
    this.probability = p.normal
    this.sheddableProbability = p.sheddable
    const arm = histogramWanted(this.armed, this.utilization, this.config.maxUtilization)
    if (arm !== this.armed) {
      this.armed = arm
      if (arm) this.histogram.enable()
      else this.histogram.disable()
    }
  }

  close(): void {
    this.armed = false
    this.histogram.disable()
  }
}

/** Whether the delay histogram should run, with hysteresis so that it does not flap at the edge. */
export function histogramWanted(armed: boolean, utilization: number, maxUtilization: number): boolean {
  const on = maxUtilization * ARM_AT
  return armed ? utilization >= on * 0.8 : utilization >= on
}

/** Largest rise of the probability per sample (at twice the delay threshold or more). */
const STEP_UP = 0.1
/** Fall per sample while the loop keeps up. */
const STEP_DOWN = 0.05

/**
 * One sample (or `steps` samples' worth of wall time) of the controller: with the loop busier than `maxUtilization` and the delay above
 * `maxDelayMs`, the probability rises by up to STEP_UP (in proportion to the excess, relative to
 * the threshold); with the loop below its utilisation gate or the delay under half its threshold,
 * it falls by STEP_DOWN; in between it holds. Sheddable requests are refused at twice the rate.
 * Never more than half while utilisation is below 0.9, never more than 95% at all.
 */
export function nextRefusal(
  current: number,
  utilization: number,
  delayMs: number,
  config: Pick<EventLoopConfig, 'maxUtilization' | 'maxDelayMs'>,
  steps = 1,
): { normal: number; sheddable: number } {
  const { maxUtilization, maxDelayMs } = config
  let p = current
  if (utilization >= maxUtilization && delayMs > maxDelayMs) {
    p += steps * STEP_UP * Math.min(1, (delayMs - maxDelayMs) / Math.max(maxDelayMs, 1))
  } else if (utilization < maxUtilization || delayMs < maxDelayMs / 2) {
    p -= steps * STEP_DOWN
  }
  const cap = utilization < HALF_CAP_BELOW ? 0.5 : MAX_REFUSAL
  const normal = Math.min(cap, Math.max(0, p))
  return { normal, sheddable: Math.min(cap, normal * 2) }
}
