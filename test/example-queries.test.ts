/**
 * The example shop's SQLite reviews route: its deliberate N+1 is found with no code change
 * (better-sqlite3 instrumented at start) and shows on the dashboard's query endpoint.
 */
import request from 'supertest'
import { createApp } from '../examples/basic/src/app'
import { createCatalog } from '../examples/basic/src/catalog'

const TOKEN = 'example-queries-token-0123456789'

describe('the example shop reviews (SQLite)', () => {
  let shop: ReturnType<typeof createApp>
  beforeEach(() => {
    shop = createApp({ token: TOKEN, catalog: createCatalog(20, 0) })
  })
  afterEach(async () => {
    await shop.close()
  })

  it('serves the latest reviews with their authors', async () => {
    const res = await request(shop.app).get('/api/reviews?limit=5').expect(200)
    expect(res.body.items).toHaveLength(5)
    expect(res.body.items[0]).toMatchObject({ id: 60, author: { id: 1, name: 'reviewer 1' } })
  })

  it('reports the per-review author lookup as an N+1 on the dashboard, with its call site and fix', async () => {
    await request(shop.app).get('/api/reviews').expect(200)
    const deadline = Date.now() + 2000
    let body: { queries: { nPlusOne: Array<Record<string, unknown>> } } | undefined
    while (Date.now() < deadline) {
      const res = await request(shop.app)
        .get('/performance/query/optimization')
        .set('Authorization', `Bearer ${TOKEN}`)
        .expect(200)
      body = res.body
      if ((body?.queries.nPlusOne.length ?? 0) > 0) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(body?.queries.nPlusOne).toEqual([
      expect.objectContaining({
        route: 'GET /api/reviews',
        shape: 'SELECT id, name FROM authors WHERE id = ?',
        count: 10,
        driver: 'better-sqlite3',
        callSites: [expect.stringMatching(/examples\/basic\/src\/reviews\.ts:\d+:\d+/)],
        hint: expect.stringContaining('json_each'),
      }),
    ])
  })
})
