import { express } from '../../../test/helpers/express'
import { type CacheEntry, MemoryStore, responseCache, type StoredValue } from '../src'
import { serve } from './http'

const KB = Buffer.alloc(1024, 'x')
const SIZES = [0, 1, 17, 300, 1000, 2100, 5000, 20_000]

/** A body only `seed` produces: a size from SIZES and bytes that differ from every other seed. */
function bodyOf(seed: number): Buffer {
  const body = Buffer.allocUnsafe((SIZES[seed % SIZES.length] as number) + (seed % 13))
  for (let j = 0; j < body.length; j++) body[j] = (seed * 31 + j * 7 + (j >> 8)) & 255
  if (body.length >= 4) body.writeUInt32BE(seed)
  return body
}

/** Entries of every third seed carry a gzip variant, of every fifth a br one. */
function variantsOf(seed: number): Record<string, Buffer> {
  const variants: Record<string, Buffer> = {}
  if (seed % 3 === 0) variants.gzip = Buffer.from(`gzip-${seed}-${'g'.repeat(seed % 97)}`)
  if (seed % 5 === 0) variants.br = Buffer.from(`br-${seed}-${'b'.repeat(seed % 89)}`)
  return variants
}

function seeded(seed: number, tags: readonly string[] = []): CacheEntry {
  return { ...entryFor(0), body: bodyOf(seed), variants: variantsOf(seed), tags }
}

/** Whether a stored value carries exactly the bytes `seed` produced. */
function holds(value: StoredValue | undefined, seed: number): boolean {
  if (value?.kind !== 'entry') return false
  const variants = variantsOf(seed)
  const names = Object.keys(value.variants).sort()
  return (
    value.body.equals(bodyOf(seed)) &&
    names.join() === Object.keys(variants).sort().join() &&
    names.every((name) => value.variants[name]?.equals(variants[name] as Buffer))
  )
}

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
    // Each entry is accounted at its slab bytes twice plus its objects: 1,248 fit, not 4,096.
    expect([entries, evictions]).toEqual([1248, 98_752])
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

  it('returns the exact bytes set for each key through 50,000 writes, overwrites, deletes and hits', () => {
    const maxBytes = 512 * 1024
    const store = new MemoryStore({ maxBytes })
    const seedOf = new Map<string, number>()
    let peak = 0
    let checked = 0
    let wrong = 0
    const check = (key: string) => {
      const value = store.get(key)
      if (value === undefined) return
      checked++
      if (!holds(value, seedOf.get(key) as number)) wrong++
    }
    for (let i = 0; i < 50_000; i++) {
      // Every seventh write overwrites one of the last 100 keys with new bytes.
      const key = i % 7 === 0 && i > 0 ? `k${i - 1 - (i % 100)}` : `k${i}`
      store.set(key, seeded(i), 60_000, [])
      seedOf.set(key, i)
      if (i % 11 === 0) {
        store.delete(`k${i - 50}`)
        seedOf.delete(`k${i - 50}`)
      }
      if (i % 5 === 0) check(`k${i - (i % 400)}`)
      peak = Math.max(peak, store.size().bytes)
    }
    let present = 0
    for (const [key, seed] of seedOf) {
      const value = store.get(key)
      if (value === undefined) continue
      present++
      if (!holds(value, seed)) wrong++
    }
    const deleted = Array.from({ length: 4545 }, (_, n) => `k${(n + 1) * 11 - 50}`).filter(
      (k) => !seedOf.has(k),
    )
    expect(deleted.filter((k) => store.get(k) !== undefined)).toEqual([])
    expect(wrong).toBe(0)
    expect(checked).toBeGreaterThan(1000)
    expect(present).toBe(store.size().entries)
    expect(peak).toBeLessThanOrEqual(maxBytes)
  })

  it('never changes bytes it handed out, whatever is written after', () => {
    const store = new MemoryStore({ maxBytes: '256kb' })
    // The only entry of a slab goes, and the next write is the same size.
    store.set('alone', seeded(4), 60_000, [])
    const alone = store.get('alone')
    store.delete('alone')
    store.set('next', seeded(28), 60_000, [])
    expect(holds(alone, 4)).toBe(true)
    const held: Array<[number, StoredValue | undefined]> = []
    for (let i = 0; i < 20_000; i++) {
      store.set(`k${i}`, seeded(i), 60_000, [])
      if (i % 1000 === 0) held.push([i, store.get(`k${i}`)])
      // Overwrites and deletes of held keys must not reach the values already out.
      if (i % 1000 === 10) store.set(`k${i - 10}`, seeded(i + 1_000_000), 60_000, [])
      if (i % 1000 === 20) store.delete(`k${i - 20}`)
    }
    store.clear()
    for (let i = 0; i < 2000; i++) store.set(`again${i}`, seeded(i + 7), 60_000, [])
    expect(held).toHaveLength(20)
    expect(held.filter(([seed, value]) => !holds(value, seed)).map(([seed]) => seed)).toEqual([])
  })

  it('keeps its accounting exact when one key is overwritten again and again', () => {
    const store = new MemoryStore({ maxBytes: '1mb' })
    // Versions of one size class without variants: each is accounted the same.
    const version = (n: number): CacheEntry => ({ ...entryFor(0), body: bodyOf(8 * n + 4), tags: ['t'] })
    const bodyAt = () => (store.get('k') as CacheEntry).body
    store.set('k', version(0), 60_000, ['t'])
    const first = store.size()
    const firstBody = bodyAt()
    for (let n = 1; n <= 1000; n++) store.set('k', version(n), 60_000, ['t'])
    // The accounted bytes are the same for each version (the stored bytes follow the last body).
    expect({ ...store.size(), storedBytes: 0 }).toEqual({ ...first, storedBytes: 0 })
    expect(bodyAt().equals(bodyOf(8004))).toBe(true)
    expect(firstBody.equals(bodyOf(4))).toBe(true)
    expect(store.deleteTag('t')).toBe(1)
    expect(store.size()).toEqual({ entries: 0, bytes: 0, evictions: 0, storedBytes: 0, slabBytes: 0 })
  })

  it('removes entries by tag and gives their memory back', () => {
    const store = new MemoryStore({ maxBytes: '4mb' })
    for (let i = 0; i < 200; i++)
      store.set(`k${i}`, seeded(i), 60_000, [`u:/k${i}`, i % 2 ? 'p:/odd' : 'p:/even'])
    expect(store.size().entries).toBe(200)
    expect(store.deleteTag('p:/odd')).toBe(100)
    expect(store.deleteTag('u:/k4')).toBe(1)
    expect(store.get('k1')).toBeUndefined()
    expect(store.get('k4')).toBeUndefined()
    const kept = Array.from({ length: 100 }, (_, n) => 2 * n).filter((i) => i !== 4)
    expect(kept.filter((i) => !holds(store.get(`k${i}`), i))).toEqual([])
    expect(store.deleteTag('p:/even')).toBe(99)
    expect(store.size()).toEqual({ entries: 0, bytes: 0, evictions: 0, storedBytes: 0, slabBytes: 0 })
  })

  it('does not store an entry bigger than a quarter of maxBytes, and drops the key it would replace', () => {
    const store = new MemoryStore({ maxBytes: '64kb' })
    const big = { ...entryFor(1), body: Buffer.alloc(16 * 1024, 'b') }
    store.set('big', big, 60_000, [])
    expect(store.get('big')).toBeUndefined()
    expect(store.size()).toEqual({ entries: 0, bytes: 0, evictions: 0, storedBytes: 0, slabBytes: 0 })
    store.set('k', { ...entryFor(2), body: Buffer.alloc(4096, 'k') }, 60_000, [])
    expect(store.size().entries).toBe(1)
    store.set('k', big, 60_000, [])
    expect(store.get('k')).toBeUndefined()
    expect(store.size()).toEqual({ entries: 0, bytes: 0, evictions: 0, storedBytes: 0, slabBytes: 0 })
  })

  it('moves the survivors of mostly emptied slabs instead of evicting to make room', () => {
    const maxBytes = 1024 * 1024
    const store = new MemoryStore({ maxBytes })
    const body = (i: number) => Buffer.alloc(1000, i % 251)
    const put = (i: number) => store.set(`k${i}`, { ...entryFor(i), body: body(i) }, 60_000, [])
    for (let i = 0; i < 300; i++) put(i)
    // One key in eight survives: every slab keeps a few entries, and its whole size stays accounted.
    for (let i = 0; i < 300; i++) if (i % 8 !== 0) store.delete(`k${i}`)
    const pinned = store.size().bytes
    for (let i = 300; i < 500; i++) put(i)
    const { entries, bytes, evictions } = store.size()
    expect(evictions).toBe(0)
    expect(entries).toBe(38 + 200)
    expect(bytes).toBeLessThan(pinned + 200 * 2000)
    expect(bytes).toBeLessThanOrEqual(maxBytes)
    const survivors = Array.from({ length: 38 }, (_, n) => 8 * n)
    const value = (i: number) => store.get(`k${i}`) as CacheEntry | undefined
    expect(survivors.filter((i) => !value(i)?.body.equals(body(i)))).toEqual([])
  })

  it('gives every store its own memory', () => {
    const a = new MemoryStore({ maxBytes: '1mb' })
    const b = new MemoryStore({ maxBytes: '1mb' })
    a.set('k', seeded(3), 60_000, ['t'])
    expect(b.size()).toEqual({ entries: 0, bytes: 0, evictions: 0, storedBytes: 0, slabBytes: 0 })
    expect(b.get('k')).toBeUndefined()
    b.set('k', seeded(6), 60_000, ['t'])
    a.clear()
    expect(holds(b.get('k'), 6)).toBe(true)
    expect(a.size()).toEqual({ entries: 0, bytes: 0, evictions: 0, storedBytes: 0, slabBytes: 0 })
  })
})

describe('bodies handed to a store', () => {
  /**
   * Serves `{"ok":true}` through a cache whose store keeps every body Buffer it is given (as a
   * naive Map-based store would), with `copiesBodies` as given; runs `check` with the one body
   * kept after a first request, and the server.
   */
  async function firstStoredBody(
    copiesBodies: boolean | undefined,
    check: (body: Buffer, s: Awaited<ReturnType<typeof serve>>) => Promise<void>,
  ): Promise<void> {
    const kept: Buffer[] = []
    const inner = new MemoryStore()
    const store = Object.assign(Object.create(inner) as MemoryStore, {
      copiesBodies,
      set(key: string, value: StoredValue, ttlMs: number, tags: readonly string[]) {
        if (value.kind === 'entry') kept.push(value.body)
        return inner.set(key, value, ttlMs, tags)
      },
    })
    const app = express()
    app.use(responseCache({ store, ttl: '1m' }))
    app.get('/small', (_req, res) => {
      res.json({ ok: true })
    })
    const s = await serve(app)
    try {
      expect((await s.get('/small')).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(kept).toHaveLength(1)
      const body = kept[0] as Buffer
      expect(body.toString()).toBe('{"ok":true}')
      await check(body, s)
    } finally {
      await s.close()
    }
  }

  it('copies a small body out of the shared buffer pool for a store that may keep it', async () => {
    await firstStoredBody(undefined, async (body) => {
      // Memory of its own: not a 11-byte window on an 8 KB pool slab.
      expect(body.buffer.byteLength).toBe(body.byteLength)
    })
  })

  it('hands the captured bytes over without a copy to a store that copies them (copiesBodies)', async () => {
    await firstStoredBody(true, async (body, s) => {
      expect(body.buffer.byteLength).toBeGreaterThan(body.byteLength)
      // The MemoryStore itself copies into its slabs, so the entry is served intact afterwards.
      const hit = await s.get('/small')
      expect([hit.status, hit.text]).toEqual([200, '{"ok":true}'])
    })
  })
})
