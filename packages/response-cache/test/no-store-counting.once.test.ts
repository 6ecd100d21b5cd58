/**
 * A response that says `no-store` (the dashboard's own JSON) is a bypass, not a miss of the app.
 * The flow counts a miss together with the reason its response was not stored.
 */
import { createCounters } from '../src/stats'

const memory = { kind: 'memory', size: () => ({ entries: 0, bytes: 0, evictions: 0 }) } as never

describe('counting a no-store response', () => {
  it('counts a miss whose response says no-store as a noStore bypass', () => {
    const counters = createCounters()
    counters.miss('GET /performance/json', 'no-store')
    const stats = counters.snapshot(memory)
    expect(stats.misses).toBe(0)
    expect(stats.bypasses).toEqual({ noStore: 1 })
    expect(stats.notStored).toEqual({ noStore: 1 })
    expect(stats.routes['GET /performance/json']).toMatchObject({ hits: 0, misses: 0, stale: 0, bypasses: 1 })
  })

  it('keeps a miss whose response was not stored for another reason', () => {
    const counters = createCounters()
    counters.miss('GET /page', 'set-cookie')
    const stats = counters.snapshot(memory)
    expect(stats.misses).toBe(1)
    expect(stats.bypasses).toEqual({})
    expect(stats.notStored).toEqual({ setCookie: 1 })
    expect(stats.routes['GET /page']).toMatchObject({ misses: 1, bypasses: 0 })
  })

  it('keeps the miss when a no-store reason is reported on its own later', () => {
    const counters = createCounters()
    counters.miss('GET /page')
    counters.notStored('no-store')
    const stats = counters.snapshot(memory)
    expect(stats.misses).toBe(1)
    expect(stats.bypasses).toEqual({})
    expect(stats.notStored).toEqual({ noStore: 1 })
  })
})
