import { nextRefusal } from '../src/event-loop'
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
    for (let i = 0; i < 50; i++) limit.record(60, limit.epoch, 0)
    limit.tick(100, 50)
    // 60 ms sampled, 50 ms of it waiting for the loop: 10 ms is within minRTT + buffer, 20 → 30
    expect(limit.limit).toBe(30)
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
