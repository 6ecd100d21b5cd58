import { createInvalidations, RECOVERY_MS } from '../src/invalidation'
import type { CacheEntry, CacheStore } from '../src/types'
import { fakeClock, until } from './http'

/** A store whose deleteTag fails while `down` is set, counting what it applied. */
function flakyStore() {
  const state = { down: true, applied: [] as string[] }
  const store = {
    kind: 'test',
    shared: true,
    deleteTag(tag: string) {
      if (state.down) return Promise.reject(new Error('connection is closed'))
      state.applied.push(tag)
      return Promise.resolve(1)
    },
    clear: () => Promise.resolve(),
  } as unknown as CacheStore
  return { state, store }
}

const entry = (storedAt: number, tags: string[]): CacheEntry => ({ storedAt, tags }) as unknown as CacheEntry
const log = { warnOnce: () => undefined } as never

describe('invalidation marks', () => {
  it('refuses an entry stored before an invalidation the store could not apply', async () => {
    const clock = fakeClock(1000)
    const { store } = flakyStore()
    const inv = createInvalidations(store, clock.now, 10_000, log, () => undefined)
    clock.advance(10)
    const result = await inv.invalidate('products')
    expect(result).toEqual({ removed: 0, applied: false, pending: 1 })
    expect(inv.refuses(entry(1005, ['products']))).toBe(true)
    expect(inv.refuses(entry(1005, ['other']))).toBe(false)
    inv.close()
  })

  it('retries until the store applies it, then reports nothing pending', async () => {
    const { state, store } = flakyStore()
    const inv = createInvalidations(store, Date.now, 10_000, log, () => undefined)
    await inv.invalidate('products')
    state.down = false
    await until(() => inv.pending() === 0, 3000)
    expect(state.applied).toEqual(['products'])
    inv.close()
  })

  it('forgets an applied mark once its hold passed', async () => {
    const clock = fakeClock(1000)
    const { state, store } = flakyStore()
    state.down = false
    const inv = createInvalidations(store, clock.now, 5000, log, () => undefined)
    clock.advance(10)
    await inv.invalidate('products')
    expect(inv.invalidatedSince(['products'], 1005)).toBe(true)
    clock.advance(6000)
    inv.refuses(entry(1005, ['products']))
    expect(inv.invalidatedSince(['products'], 1005)).toBe(false)
    inv.close()
  })

  it(`refuses entries from before an outage for ${RECOVERY_MS} ms after it, then serves them again`, () => {
    const clock = fakeClock(1000)
    const { store } = flakyStore()
    const inv = createInvalidations(store, clock.now, 5000, log, () => undefined)
    clock.advance(100)
    inv.outageSeen(clock.now())
    expect(inv.refuses(entry(1050, []))).toBe(true)
    clock.advance(500)
    inv.outageOver(clock.now())
    expect(inv.refuses(entry(1050, []))).toBe(true)
    expect(inv.refuses(entry(1700, []))).toBe(false)
    clock.advance(RECOVERY_MS)
    expect(inv.refuses(entry(1050, []))).toBe(false)
    inv.close()
  })
})
