/**
 * The example shop's data cache: product data read through getOrSet over a "database" with a
 * delay, and one tag on update that drops the data entries and the response entries together.
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import request from 'supertest'
import { createApp } from '../examples/basic/src/app'
import { type Catalog, createCatalog } from '../examples/basic/src/catalog'

function countingCatalog(): { catalog: Catalog; calls: { byId: number; list: number } } {
  const inner = createCatalog(120, 5)
  const calls = { byId: 0, list: 0 }
  const catalog: Catalog = {
    size: inner.size,
    list: (limit, offset) => {
      calls.list++
      return inner.list(limit, offset)
    },
    byId: (id) => {
      calls.byId++
      return inner.byId(id)
    },
    setPrice: (id, price) => inner.setPrice(id, price),
  }
  return { catalog, calls }
}

describe('the example shop with its data cache', () => {
  let shop: ReturnType<typeof createApp>
  let server: Server
  let calls: { byId: number; list: number }
  beforeEach(async () => {
    const counted = countingCatalog()
    calls = counted.calls
    shop = createApp({ token: 'example-test-token-0123456789', catalog: counted.catalog })
    server = shop.app.listen(0, '127.0.0.1')
    await once(server, 'listening')
  })
  afterEach(async () => {
    server.close()
    await shop.close()
  })

  it('answers a product from the data cache once its response entry is gone', async () => {
    await request(server).get('/api/products/3').expect(200)
    await shop.cache.invalidate({ key: '/api/products/3' })
    const again = await request(server).get('/api/products/3').expect(200)
    expect(again.body.id).toBe(3)
    expect(calls.byId).toBe(1)
    expect(shop.data.stats().hits.l1).toBe(1)
  })

  it('caches an unknown product id, so probing ids does not reach the database twice', async () => {
    await request(server).get('/api/products/999').expect(404)
    await shop.cache.invalidate({ key: '/api/products/999' })
    await request(server).get('/api/products/999').expect(404)
    expect(calls.byId).toBe(1)
  })

  it('drops the data and the response entries with one tag on a price change', async () => {
    await request(server).get('/api/products/1').expect(200)
    await request(server).put('/api/products/1').send({ price: 2.5 }).expect(200)
    const after = await request(server).get('/api/products/1').expect(200)
    expect(after.headers['cache-status']).toMatch(/fwd=miss/)
    expect(after.body.price).toBe(2.5)
    expect(calls.byId).toBe(2)
    expect(shop.data.stats().misses.tag).toBe(1)
  })

  it('shows the data cache on the dashboard', async () => {
    await request(server).get('/api/products').expect(200)
    const res = await request(server)
      .get('/performance/cache/data')
      .set('Authorization', 'Bearer example-test-token-0123456789')
      .expect(200)
    expect(res.body.dataCache.factory.runs).toBe(1)
  })
})
