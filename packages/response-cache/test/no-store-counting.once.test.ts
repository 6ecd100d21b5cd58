/**
 * A response that says `no-store` (the dashboard's own JSON) is a bypass, not a miss of the app.
 * The flow reports "not stored: no-store" in the same synchronous step as the miss it follows.
 */
import { createCounters } from '../src/stats'

describe('counting a no-store response', () => {
  it('turns the miss it follows into a noStore bypass', () => {
    const counters = createCounters()
    counters.miss('GET /performance/json')
    counters.notStored('no-store')
    const route = { hits: 0, misses: 0, stale: 0, bypasses: 1 }
    const stats = counters.snapshot({
      kind: 'memory',
      size: () => ({ entries: 0, bytes: 0, evictions: 0 }),
    } as never)
    expect(stats.misses).toBe(0)
    expect(stats.bypasses).toEqual({ noStore: 1 })
    expect(stats.routes['GET /performance/json']).toMatchObject(route)
  })

  it('keeps a miss whose response was not stored for another reason', () => {
    const counters = createCounters()
    counters.miss('GET /page')
    counters.notStored('set-cookie')
    const stats = counters.snapshot({
      kind: 'memory',
      size: () => ({ entries: 0, bytes: 0, evictions: 0 }),
    } as never)
    expect(stats.misses).toBe(1)
    expect(stats.bypasses).toEqual({})
  })

  it('does not pair a no-store report with a miss of an earlier step', async () => {
    const counters = createCounters()
    counters.miss('GET /page')
    await Promise.resolve()
    counters.notStored('no-store')
    const stats = counters.snapshot({
      kind: 'memory',
      size: () => ({ entries: 0, bytes: 0, evictions: 0 }),
    } as never)
    expect(stats.misses).toBe(1)
  })
})
