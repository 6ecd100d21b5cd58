/**
 * The store contract: every store (memory, Redis standalone, Redis Cluster) must give the
 * same decisions for the same sequence of requests and clock readings. The clock is
 * injected, so boundary and refill timing are exact and nothing sleeps.
 */
import type { Decision, Policy, Store } from '../src'

export interface Clock {
  t: number
  now: () => number
}

/** Aligned to every window used below (1 s, 1 min, 1 h), so window edges are at known offsets. */
export const BASE = 1_800_000_000_000

export function makeClock(): Clock {
  const clock: Clock = { t: BASE, now: () => clock.t }
  return clock
}

export interface ContractHarness {
  store: Store
  clock: Clock
}

const fixed = (limit: number, windowMs = 1000): Policy => ({
  algorithm: 'fixed-window',
  limit,
  windowMs,
  burst: limit,
})
const sliding = (limit: number, windowMs = 1000): Policy => ({
  algorithm: 'sliding-window',
  limit,
  windowMs,
  burst: limit,
})
const bucket = (limit: number, burst = limit, windowMs = 1000): Policy => ({
  algorithm: 'token-bucket',
  limit,
  windowMs,
  burst,
})
const cell = (limit: number, burst = limit, windowMs = 1000): Policy => ({
  algorithm: 'gcra',
  limit,
  windowMs,
  burst,
})

export function storeContract(
  label: string,
  setup: () => Promise<ContractHarness>,
  teardown?: () => Promise<void>,
) {
  describe(`store contract: ${label}`, () => {
    let store: Store
    let clock: Clock
    let n = 0
    let key: string
    beforeAll(async () => {
      ;({ store, clock } = await setup())
    })
    afterAll(async () => {
      await teardown?.()
    })
    beforeEach(() => {
      clock.t = BASE
      key = `k${++n}:${Math.random().toString(36).slice(2)}`
    })
    const take = async (policy: Policy, cost = 1): Promise<Decision> => store.consume(key, policy, cost)
    const takeMany = async (policy: Policy, times: number): Promise<boolean[]> => {
      const out: boolean[] = []
      for (let i = 0; i < times; i++) out.push((await take(policy)).allowed)
      return out
    }
    const at = (offset: number) => {
      clock.t = BASE + offset
    }

    describe('fixed-window', () => {
      it('allows exactly limit requests in a window, with remaining counting down', async () => {
        const remaining: number[] = []
        for (let i = 0; i < 5; i++) remaining.push((await take(fixed(5))).remaining)
        expect(remaining).toEqual([4, 3, 2, 1, 0])
        expect(await take(fixed(5))).toEqual({
          allowed: false,
          remaining: 0,
          resetMs: 1000,
          retryAfterMs: 1000,
        })
      })
      it('reports the time left in the window as reset and retry-after', async () => {
        await takeMany(fixed(1), 1)
        at(250)
        expect(await take(fixed(1))).toEqual({
          allowed: false,
          remaining: 0,
          resetMs: 750,
          retryAfterMs: 750,
        })
      })
      it('opens a fresh window exactly at the edge', async () => {
        await takeMany(fixed(2), 2)
        at(999)
        expect((await take(fixed(2))).allowed).toBe(false)
        at(1000)
        expect(await take(fixed(2))).toEqual({ allowed: true, remaining: 1, resetMs: 1000, retryAfterMs: 0 })
      })
      it('lets up to twice the limit through across a window edge', async () => {
        at(999)
        expect(await takeMany(fixed(3), 4)).toEqual([true, true, true, false])
        at(1000)
        expect(await takeMany(fixed(3), 4)).toEqual([true, true, true, false])
      })
      it('charges the cost and does not charge a denied request', async () => {
        expect((await take(fixed(5), 3)).remaining).toBe(2)
        expect(await take(fixed(5), 3)).toMatchObject({ allowed: false, remaining: 2 })
        expect(await take(fixed(5), 2)).toMatchObject({ allowed: true, remaining: 0 })
      })
      it('reads without counting when the cost is 0', async () => {
        await take(fixed(5), 2)
        expect(await take(fixed(5), 0)).toMatchObject({ allowed: true, remaining: 3 })
        expect(await take(fixed(5), 0)).toMatchObject({ allowed: true, remaining: 3 })
      })
    })

    describe('sliding-window', () => {
      it('allows exactly limit requests in the first window', async () => {
        expect(await takeMany(sliding(10), 11)).toEqual([...Array(10).fill(true), false])
      })
      it('does not let a burst through at the window edge', async () => {
        at(999)
        await takeMany(sliding(10), 10)
        at(1000)
        expect(await take(sliding(10))).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 100 })
      })
      it('weights the previous window by the part of it still inside the sliding window', async () => {
        await takeMany(sliding(10), 10)
        at(1099)
        expect((await take(sliding(10))).allowed).toBe(false)
        at(1100)
        expect(await take(sliding(10))).toMatchObject({ allowed: true, remaining: 0 })
      })
      it('allows the unweighted share half way through the next window', async () => {
        await takeMany(sliding(10), 10)
        at(1500)
        expect(await takeMany(sliding(10), 6)).toEqual([true, true, true, true, true, false])
      })
      it('forgets a window that is two windows old', async () => {
        await takeMany(sliding(10), 10)
        at(2000)
        expect(await takeMany(sliding(10), 11)).toEqual([...Array(10).fill(true), false])
      })
      it('tells a client whose current window is full to wait into the next window', async () => {
        at(500)
        await takeMany(sliding(4), 4)
        // next window: 4 × (1000 − e) / 1000 + 1 ≤ 4 from e = 250, so 500 + 250 ms from now.
        // resetMs: the current window's 4 count until the end of the next one, 1500 ms from now.
        expect(await take(sliding(4))).toMatchObject({ allowed: false, retryAfterMs: 750, resetMs: 1500 })
        at(1249)
        expect((await take(sliding(4))).allowed).toBe(false)
        at(1250)
        expect((await take(sliding(4))).allowed).toBe(true)
      })
    })

    describe('refund (skipFailedRequests / skipSuccessfulRequests)', () => {
      const give = async (policy: Policy, cost = 1) => store.refund?.(key, policy, cost)
      it.each([
        ['fixed-window', fixed(3)],
        ['sliding-window', sliding(3)],
        ['token-bucket', bucket(3)],
        ['gcra', cell(3)],
      ] as const)('gives back units counted in this window (%s)', async (_name, policy) => {
        await takeMany(policy, 3)
        await give(policy)
        expect((await take(policy, 0)).remaining).toBe(1)
      })
      it("gives back a unit of the sliding window's previous window while it still weighs", async () => {
        await takeMany(sliding(3), 3)
        at(1000)
        expect((await take(sliding(3), 0)).remaining).toBe(0)
        await give(sliding(3))
        expect((await take(sliding(3), 0)).remaining).toBe(1)
      })
      it('never counts below zero', async () => {
        await take(fixed(3))
        await give(fixed(3), 5)
        expect((await take(fixed(3), 0)).remaining).toBe(3)
      })
    })

    describe('token-bucket', () => {
      it('starts full at the burst size', async () => {
        expect(await takeMany(bucket(10, 5), 6)).toEqual([true, true, true, true, true, false])
      })
      it('uses the limit as the burst size by default', async () => {
        expect(await takeMany(bucket(10), 11)).toEqual([...Array(10).fill(true), false])
      })
      it('refills one token per window / limit', async () => {
        await takeMany(bucket(10, 5), 5)
        expect(await take(bucket(10, 5))).toEqual({
          allowed: false,
          remaining: 0,
          resetMs: 500,
          retryAfterMs: 100,
        })
        at(99)
        expect((await take(bucket(10, 5))).allowed).toBe(false)
        at(100)
        expect(await take(bucket(10, 5))).toEqual({
          allowed: true,
          remaining: 0,
          resetMs: 500,
          retryAfterMs: 0,
        })
      })
      it('never refills beyond the burst size', async () => {
        await takeMany(bucket(10, 5), 5)
        at(60_000)
        expect(await takeMany(bucket(10, 5), 6)).toEqual([true, true, true, true, true, false])
      })
      it('charges the cost in tokens', async () => {
        expect(await take(bucket(10, 5), 5)).toMatchObject({ allowed: true, remaining: 0 })
        expect(await take(bucket(10, 5), 1)).toMatchObject({ allowed: false, retryAfterMs: 100 })
        at(300)
        expect(await take(bucket(10, 5), 4)).toMatchObject({
          allowed: false,
          remaining: 3,
          retryAfterMs: 100,
        })
        expect(await take(bucket(10, 5), 3)).toMatchObject({ allowed: true, remaining: 0 })
      })
    })

    describe('gcra', () => {
      it('allows the burst at once and then one request per emission interval', async () => {
        expect(await takeMany(cell(10, 5), 6)).toEqual([true, true, true, true, true, false])
        at(100)
        expect(await takeMany(cell(10, 5), 2)).toEqual([true, false])
      })
      it('reports remaining, reset and retry-after in emission intervals', async () => {
        expect(await take(cell(10, 5))).toEqual({
          allowed: true,
          remaining: 4,
          resetMs: 100,
          retryAfterMs: 0,
        })
        await takeMany(cell(10, 5), 4)
        expect(await take(cell(10, 5))).toEqual({
          allowed: false,
          remaining: 0,
          resetMs: 500,
          retryAfterMs: 100,
        })
      })
      it('admits the next request exactly one interval after the bucket filled', async () => {
        await takeMany(cell(10, 5), 5)
        at(99)
        expect((await take(cell(10, 5))).allowed).toBe(false)
        at(100)
        expect((await take(cell(10, 5))).allowed).toBe(true)
      })
      it('recovers the whole burst after burst × interval', async () => {
        await takeMany(cell(10, 5), 5)
        at(500)
        expect(await takeMany(cell(10, 5), 6)).toEqual([true, true, true, true, true, false])
      })
      it('charges the cost in intervals', async () => {
        expect(await take(cell(10, 5), 4)).toMatchObject({ allowed: true, remaining: 1 })
        expect(await take(cell(10, 5), 2)).toMatchObject({ allowed: false, retryAfterMs: 100 })
      })
    })

    describe('exact counts', () => {
      it.each(['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const)(
        'allows exactly 100 of 1000 concurrent requests (%s)',
        async (algorithm) => {
          const policy: Policy = { algorithm, limit: 100, windowMs: 60_000, burst: 100 }
          const answers = await Promise.all(Array.from({ length: 1000 }, () => store.consume(key, policy, 1)))
          expect(answers.filter((a) => a.allowed)).toHaveLength(100)
        },
      )
      it('keeps keys apart', async () => {
        await store.consume(`${key}:a`, fixed(1), 1)
        expect((await store.consume(`${key}:b`, fixed(1), 1)).allowed).toBe(true)
      })
      it('forgets a key on reset', async () => {
        await takeMany(fixed(1), 1)
        await store.resetKey(key)
        expect((await take(fixed(1))).allowed).toBe(true)
      })
    })
  })
}
