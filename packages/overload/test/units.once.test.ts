import { EventLoopGuard, histogramWanted, nextRefusal } from '../src/event-loop'
import { GradientLimit, type LimitConfig } from '../src/limit'
import { type Waiter, WaitQueue } from '../src/queue'
import { RollingWindow } from '../src/window'

const CONFIG: LimitConfig = {
  minLimit: 3,
  maxLimit: 1000,
  initialLimit: 20,
  percentile: 0.5,
  rttBuffer: 0.25,
  minRttIntervalMs: 60_000,
  minRttJitter: 0.15,
  minRttSamples: 10,
}

/** A limiter that has measured minRTT = 10 ms at t = 0. */
function measured(random = () => 0.5): GradientLimit {
  const limit = new GradientLimit(CONFIG, random)
  for (let i = 0; i < 10; i++) limit.record(10, limit.epoch, 0)
  return limit
}

/** Runs a re-measurement at `at` (past the interval plus its jitter) whose requests all take `rttMs`. */
function remeasure(limit: GradientLimit, rttMs: number, at: number): void {
  limit.tick(at)
  expect(limit.measuring).toBe(true)
  for (let i = 0; i < 10; i++) limit.record(rttMs, limit.epoch, at)
}

describe('the gradient limit', () => {
  it('pins the limit at minLimit until minRttSamples requests are measured', () => {
    const limit = new GradientLimit(CONFIG)
    expect(limit.limit).toBe(3)
    for (let i = 0; i < 9; i++) limit.record(10, limit.epoch, 0)
    expect(limit.measuring).toBe(true)
    expect(limit.limit).toBe(3)
  })

  it('takes minRTT as the percentile of the measured samples and restores the limit', () => {
    const limit = new GradientLimit(CONFIG)
    for (const rtt of [8, 9, 10, 11, 12, 13, 14, 15, 16, 17]) limit.record(rtt, limit.epoch, 0)
    expect(limit.measuring).toBe(false)
    expect(limit.minRtt).toBe(13)
    expect(limit.limit).toBe(20)
  })

  it('ignores samples of requests admitted before the measurement began', () => {
    const limit = new GradientLimit(CONFIG)
    const stale = limit.epoch - 1
    for (let i = 0; i < 20; i++) limit.record(500, stale, 0)
    expect(limit.measuring).toBe(true)
  })

  it('halves the limit (plus √ headroom) when the sampled latency is far above minRTT', () => {
    const limit = measured()
    limit.inFlight(20)
    for (let i = 0; i < 50; i++) limit.record(100, limit.epoch, 0)
    limit.tick(100)
    // gradient clamps at 0.5: 20 × 0.5 = 10, + √10 → 13
    expect(limit.limit).toBe(13)
    expect(limit.sampleRtt).toBe(100)
  })

  it('raises the limit when latency stays within minRTT plus the buffer and slots are in use', () => {
    const limit = measured()
    limit.inFlight(20)
    for (let i = 0; i < 50; i++) limit.record(10, limit.epoch, 0)
    limit.tick(100)
    // gradient = 12.5 / 10 = 1.25: 25 + 5 → 30
    expect(limit.limit).toBe(30)
  })

  it('does not raise the limit while fewer than half of the slots are in use', () => {
    const limit = measured()
    limit.inFlight(5)
    for (let i = 0; i < 50; i++) limit.record(10, limit.epoch, 0)
    limit.tick(100)
    expect(limit.limit).toBe(20)
  })

  it("does not count the event loop's own delay as latency the limit causes", () => {
    const limit = measured()
    limit.inFlight(20)
    for (let i = 0; i < 50; i++) limit.record(25, limit.epoch, 0)
    limit.tick(100, 10)
    // 25 ms sampled, 10 of them waiting for the loop: gradient 12.5 / 15, 20 → 16.7 + √16.7 → 21
    // (counted whole, 25 ms would halve it to 13)
    expect(limit.limit).toBe(21)
  })

  it("holds the limit when the event loop's delay is most of the sampled latency", () => {
    const limit = measured()
    limit.inFlight(20)
    for (let i = 0; i < 50; i++) limit.record(60, limit.epoch, 0)
    limit.tick(100, 50)
    // 10 ms of the downstream's own would raise it to 30; 50 ms of loop delay says nothing of room
    expect(limit.limit).toBe(20)
  })

  it('keeps minRTT when one re-measurement comes out above it plus the buffer', () => {
    const limit = measured()
    remeasure(limit, 128, 70_000)
    expect(limit.minRtt).toBe(10)
    expect(limit.measuring).toBe(false)
    expect(limit.limit).toBe(20)
  })

  it('adopts a higher minRTT when the next re-measurement agrees, the lower of the two', () => {
    const limit = measured()
    remeasure(limit, 40, 70_000)
    remeasure(limit, 30, 140_000)
    expect(limit.minRtt).toBe(30)
  })

  it('adopts a lower re-measured minRTT at once', () => {
    const limit = measured()
    remeasure(limit, 6, 70_000)
    expect(limit.minRtt).toBe(6)
  })

  it('drops a pending rise when a re-measurement in between agrees with minRTT', () => {
    const limit = measured()
    remeasure(limit, 40, 70_000)
    remeasure(limit, 11, 140_000)
    remeasure(limit, 40, 210_000)
    expect(limit.minRtt).toBe(11)
  })

  it('never goes below minLimit', () => {
    const limit = measured()
    for (let round = 0; round < 20; round++) {
      limit.inFlight(limit.limit)
      limit.record(10_000, limit.epoch, 0)
      limit.tick(100 + round)
    }
    expect(limit.limit).toBe(3)
  })

  it('measures minRTT again after minRttInterval less the jitter at the earliest', () => {
    const limit = measured(() => 0)
    limit.tick(60_000 * 0.85 - 1)
    expect(limit.measuring).toBe(false)
    limit.tick(60_000 * 0.85 + 1)
    expect(limit.measuring).toBe(true)
    expect(limit.limit).toBe(3)
  })

  it('waits minRttInterval plus the jitter at the latest', () => {
    const limit = measured(() => 0.999999)
    limit.tick(60_000 * 1.15 - 10)
    expect(limit.measuring).toBe(false)
  })
})

describe('the event-loop refusal probability', () => {
  const config = { maxUtilization: 0.85, maxDelayMs: 20 }
  /** Runs `samples` controller steps from 0 at a fixed utilisation and delay. */
  const after = (samples: number, utilization: number, delayMs: number) => {
    let p = { normal: 0, sheddable: 0 }
    for (let i = 0; i < samples; i++) p = nextRefusal(p.normal, utilization, delayMs, config)
    return p
  }

  it('refuses nothing from a busy loop that keeps up (utilisation 1, no delay)', () => {
    expect(after(50, 1, 0)).toEqual({ normal: 0, sheddable: 0 })
  })

  it('refuses nothing from a loop with idle time, whatever its delay', () => {
    expect(after(50, 0.5, 500)).toEqual({ normal: 0, sheddable: 0 })
  })

  it('rises each sample in proportion to the excess delay of a busy loop', () => {
    expect(after(1, 0.95, 30).normal).toBeCloseTo(0.05)
    expect(after(1, 0.95, 40).normal).toBeCloseTo(0.1)
    expect(after(1, 0.95, 400).normal).toBeCloseTo(0.1)
  })

  it('refuses sheddable requests at twice the normal rate', () => {
    const p = after(2, 0.95, 40)
    expect(p.normal).toBeCloseTo(0.2)
    expect(p.sheddable).toBeCloseTo(0.4)
  })

  it('never refuses more than half while utilisation is below 0.9', () => {
    expect(after(100, 0.89, 500)).toEqual({ normal: 0.5, sheddable: 0.5 })
  })

  it('lets at least 5% through even from a saturated loop', () => {
    expect(after(100, 1, 500).normal).toBe(0.95)
  })

  it('holds while the delay sits between half its threshold and the threshold', () => {
    expect(nextRefusal(0.3, 0.95, 15, config).normal).toBeCloseTo(0.3)
  })

  it('falls back once the loop keeps up again', () => {
    expect(nextRefusal(0.3, 0.95, 5, config).normal).toBeCloseTo(0.25)
    expect(nextRefusal(0.3, 0.5, 50, config).normal).toBeCloseTo(0.25)
  })
})

const waiter = (at: number): Waiter => ({
  enqueuedAt: at,
  gone: false,
  admit: () => undefined,
  refuse: () => undefined,
})

describe('the event-loop guard', () => {
  it('does not read the time before its first sample as a stall', () => {
    const guard = new EventLoopGuard({ maxUtilization: 0.85, maxDelayMs: 20, smoothing: 0.3 }, 100)
    const end = performance.now() + 300
    while (performance.now() < end) {}
    guard.tick()
    guard.tick()
    expect(guard.delayMs).toBeLessThan(20)
    expect(guard.probability).toBe(0)
    guard.close()
  })
})

describe('the event-loop delay histogram', () => {
  it('is off while the loop is idle', () => {
    const guard = new EventLoopGuard({ maxUtilization: 0.85, maxDelayMs: 20, smoothing: 0.3 }, 100)
    guard.tick()
    expect(guard.armed).toBe(false)
    guard.close()
  })

  it('runs once the smoothed utilisation reaches half of maxUtilization', () => {
    expect(histogramWanted(false, 0.42, 0.85)).toBe(false)
    expect(histogramWanted(false, 0.43, 0.85)).toBe(true)
  })

  it('stays on until the utilisation falls below 80% of where it turned on', () => {
    expect(histogramWanted(true, 0.35, 0.85)).toBe(true)
    expect(histogramWanted(true, 0.33, 0.85)).toBe(false)
  })

  it('is turned on by a loop kept busy', () => {
    const guard = new EventLoopGuard({ maxUtilization: 0.85, maxDelayMs: 20, smoothing: 0.3 }, 100)
    guard.tick()
    for (let i = 0; i < 5 && !guard.armed; i++) {
      const end = performance.now() + 100
      while (performance.now() < end) {}
      guard.tick()
    }
    expect(guard.armed).toBe(true)
    guard.close()
  })
})

describe('the wait queue', () => {
  it('serves the oldest first with shift and the newest first with pop', () => {
    const q = new WaitQueue()
    const [a, b, c] = [waiter(1), waiter(2), waiter(3)]
    q.push(a)
    q.push(b)
    q.push(c)
    expect(q.pop()).toBe(c)
    expect(q.shift()).toBe(a)
    expect(q.length).toBe(1)
  })

  it('skips an entry whose client left', () => {
    const q = new WaitQueue()
    const [a, b] = [waiter(1), waiter(2)]
    q.push(a)
    q.push(b)
    q.remove(a)
    expect(q.length).toBe(1)
    expect(q.peekOldest()).toBe(b)
    expect(q.shift()).toBe(b)
    expect(q.shift()).toBeUndefined()
  })
})

describe('the rolling window', () => {
  it('counts calls, failures and slow calls within the window only', () => {
    const w = new RollingWindow(1000, 10)
    w.add(0, 'ok')
    w.add(50, 'failure')
    w.add(950, 'slow')
    expect(w.totals(990)).toEqual({ calls: 3, failures: 1, slow: 1 })
    expect(w.totals(1050)).toEqual({ calls: 1, failures: 0, slow: 1 })
    expect(w.totals(5000)).toEqual({ calls: 0, failures: 0, slow: 0 })
  })
})
