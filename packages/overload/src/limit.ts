import { Ring } from './ring'

export interface LimitConfig {
  readonly minLimit: number
  readonly maxLimit: number
  readonly initialLimit: number
  readonly percentile: number
  readonly rttBuffer: number
  readonly minRttIntervalMs: number
  readonly minRttJitter: number
  readonly minRttSamples: number
}

/**
 * Envoy's adaptive concurrency gradient controller
 * (envoyproxy.io › http_filters › adaptive_concurrency_filter):
 *
 *   gradient = clamp((minRTT + buffer) / sampleRTT, 0.5, 2)
 *   limit'   = gradient · limit + √(gradient · limit)      (headroom for bursts)
 *
 * sampleRTT is a percentile of the latencies of one sample window (every `sampleInterval`).
 * minRTT is measured with the limit pinned at `minLimit` over `minRttSamples` requests admitted
 * after the pin, then again every `minRttInterval` ± jitter, so that the fleet's instances do not
 * all pin at once. The limit before a measurement is restored after it.
 * A re-measurement that comes out above the current minRTT plus the buffer is not adopted alone:
 * one taken during overload can hold delay that is not the downstream's (a CPU-saturated host
 * gave 128 ms against 6 ms unloaded, and the limit grew twentyfold with it). The next measurement
 * must agree — then the lower of the two is adopted, so a baseline that really rose is followed
 * one interval later. A lower or equal one is adopted at once (BBR's min-RTT filter keeps the
 * lowest for the same reason). The loop's smoothed delay is not taken off a measurement: right
 * after start it still holds the boot's stall and would take a 10 ms minRTT to nothing.
 * One departure from Envoy, after Netflix's Gradient2: while fewer than half of the slots are in
 * use, the limit does not grow, so an idle app's limit does not drift to `maxLimit` and the first
 * burst after a quiet spell finds a limit that still means something.
 */
export class GradientLimit {
  limit: number
  minRtt = 0
  sampleRtt = 0
  /** Requests admitted in the current epoch; a measurement only counts its own epoch. */
  epoch = 0
  measuring = true
  private savedLimit: number
  private nextMeasureAt = 0
  /** A re-measured minRTT above the current one plus the buffer, waiting for the next to agree. */
  private risen = 0
  private maxInFlight = 0
  private readonly window = new Ring(1024)
  private readonly probe: Ring

  constructor(
    private readonly config: LimitConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.savedLimit = config.initialLimit
    this.limit = config.minLimit
    this.probe = new Ring(config.minRttSamples)
  }

  /** One completed request: `rttMs` from admission to the response's close. */
  record(rttMs: number, epoch: number, now: number): void {
    if (this.measuring) {
      if (epoch !== this.epoch) return
      this.probe.push(rttMs)
      if (this.probe.length >= this.config.minRttSamples) {
        this.adopt(Math.max(this.probe.quantile(this.config.percentile), 0.001))
        this.probe.clear()
        this.measuring = false
        this.limit = this.savedLimit
        this.epoch++
        this.schedule(now)
      }
      return
    }
    this.window.push(rttMs)
  }

  private adopt(measured: number): void {
    if (this.minRtt === 0 || measured <= this.minRtt * (1 + this.config.rttBuffer)) {
      this.minRtt = measured
      this.risen = 0
    } else if (this.risen > 0) {
      this.minRtt = Math.min(this.risen, measured)
      this.risen = 0
    } else {
      this.risen = measured
    }
  }

  /** Seen on each admission, for the app-limited rule. */
  inFlight(count: number): void {
    if (count > this.maxInFlight) this.maxInFlight = count
  }

  /**
   * Runs once per sample interval. `loopDelayMs` is the event loop's own current delay: time a
   * request spends waiting for a busy loop is the event-loop guard's to act on, and more slots
   * would not add to it, so it is taken off the sampled latency before the comparison. Without
   * this, a loop saturated by the load itself (refusals cost CPU too) would read as a queue the
   * limit causes, and the limit would collapse to `minLimit` while more concurrency cost nothing.
   * But a sample that is mostly the loop's delay is no evidence that the downstream has room
   * either: the limit then does not grow (it may shrink), or a saturated loop would double it up
   * to `maxLimit` every sample, for the next calm moment to admit all at once.
   */
  tick(now: number, loopDelayMs = 0): void {
    if (this.measuring) return
    if (now >= this.nextMeasureAt) {
      this.savedLimit = this.limit
      this.limit = this.config.minLimit
      this.measuring = true
      this.epoch++
      this.window.clear()
      return
    }
    if (this.window.length === 0) return
    this.sampleRtt = this.window.quantile(this.config.percentile)
    this.window.clear()
    const ownRtt = Math.max(this.sampleRtt - loopDelayMs, 0.001)
    const appLimited = this.maxInFlight * 2 < this.limit
    this.maxInFlight = 0
    const target = this.minRtt * (1 + this.config.rttBuffer)
    const gradient = Math.min(2, Math.max(0.5, target / ownRtt))
    if (gradient >= 1 && (appLimited || loopDelayMs > ownRtt)) return
    const scaled = gradient * this.limit
    const next = Math.round(scaled + Math.sqrt(scaled))
    this.limit = Math.min(this.config.maxLimit, Math.max(this.config.minLimit, next))
  }

  private schedule(now: number): void {
    const spread = (this.random() * 2 - 1) * this.config.minRttJitter
    this.nextMeasureAt = now + this.config.minRttIntervalMs * (1 + spread)
  }
}
