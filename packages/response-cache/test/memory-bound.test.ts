import { express } from '../../../test/helpers/express'
import { type CacheEntry, MemoryStore, responseCache } from '../src'
import { serve } from './http'

const KB = Buffer.alloc(1024, 'x')

function entryFor(i: number): CacheEntry {
  return {
    kind: 'entry',
    status: 200,
    headers: [
      ['content-type', 'application/json; charset=utf-8'],
      ['etag', `W/"400-${i}"`],
    ],
    body: KB,
    variants: {},
    storedAt: 0,
    expiresAt: 1,
    staleUntil: 1,
    errorUntil: 1,
    tags: [`u:/item/${i}`, `p:/item`],
    route: 'GET /item/:id',
    front: true,
    compress: false,
  }
}

describe('MemoryStore bound', () => {
  it('stays within maxBytes under 100,000 distinct 1 KB entries', () => {
    const store = new MemoryStore({ maxBytes: '4mb' })
    let peak = 0
    for (let i = 0; i < 100_000; i++) {
      store.set(`key-${i}`, entryFor(i), 60_000, entryFor(i).tags)
      const { bytes } = store.size()
      if (bytes > peak) peak = bytes
    }
    const { entries, bytes, evictions } = store.size()
    expect(peak).toBeLessThanOrEqual(4 * 1024 * 1024)
    expect(bytes).toBeLessThanOrEqual(4 * 1024 * 1024)
    // Each entry is accounted at more than its body, so fewer than 4096 fit.
    expect(entries).toBeLessThan(4096)
    expect(entries).toBeGreaterThan(1200)
    expect(entries + evictions).toBe(100_000)
    // The oldest went first: the newest key is there, the first one is not.
    expect(store.get('key-99999')).toBeDefined()
    expect(store.get('key-0')).toBeUndefined()
  })

  it('drops the tag index of evicted entries', () => {
    const store = new MemoryStore({ maxBytes: '64kb' })
    for (let i = 0; i < 1000; i++) store.set(`key-${i}`, entryFor(i), 60_000, [`u:/item/${i}`, 'p:/item'])
    const { entries } = store.size()
    expect(store.deleteTag('p:/item')).toBe(entries)
    expect(store.deleteTag('u:/item/0')).toBe(0)
    expect(store.size()).toMatchObject({ entries: 0, bytes: 0 })
  })

  it('keeps a cache behind HTTP within maxBytes over 1,000 distinct URLs', async () => {
    const store = new MemoryStore({ maxBytes: '64kb' })
    const cache = responseCache({ store })
    const app = express()
    app.get('/item/:id', cache, (req, res) => res.json({ id: req.params.id, pad: 'x'.repeat(1000) }))
    const s = await serve(app)
    try {
      for (let i = 0; i < 1000; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => s.get(`/item/${i + j}`)))
      }
    } finally {
      await s.close()
    }
    const stats = cache.stats()
    expect(stats.stores).toBe(1000)
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024)
    expect(stats.entries + stats.evictions).toBe(1000)
  }, 20_000)
})
