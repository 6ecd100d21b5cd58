import { profiler } from '@hotpath/profiler'
import { expectQueries } from '@hotpath/profiler/testing'
import Database from 'better-sqlite3'
import express from 'express'

const db = new Database(':memory:')
db.exec(
  'CREATE TABLE orders (id INTEGER PRIMARY KEY); CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER)',
)
for (let i = 1; i <= 6; i++) db.prepare('INSERT INTO orders VALUES (?)').run(i)

afterAll(() => db.close())

function makeApp() {
  const prof = profiler({ registry: false, eventLoop: false })
  prof.instrument({ betterSqlite3: Database })
  const app = express()
  app.use(prof)
  app.get('/api/orders', (_req, res) => {
    const orders = db.prepare('SELECT * FROM orders').all() as Array<{ id: number }>
    for (const o of orders) db.prepare('SELECT * FROM items WHERE order_id = ?').all(o.id) // site:testing-loop
    res.json(orders.length)
  })
  app.get('/api/orders/eager', (_req, res) => {
    db.prepare('SELECT * FROM orders').all()
    db.prepare('SELECT * FROM items WHERE order_id IN (SELECT id FROM orders)').all()
    res.json(2)
  })
  app.get('/api/orders/twice', (_req, res) => {
    db.prepare('SELECT * FROM orders WHERE id = ?').get(1)
    db.prepare('SELECT * FROM orders WHERE id = ?').get(1)
    res.json(1)
  })
  return { app, prof }
}

describe('expectQueries', () => {
  it('resolves with the request summary when the request stays within its limits', async () => {
    const { app, prof } = makeApp()
    const observed = await expectQueries(
      app,
      { path: '/api/orders/eager' },
      { max: 2, nPlusOne: 0, duplicates: 0 },
    )
    expect(observed).toMatchObject({
      method: 'GET',
      url: '/api/orders/eager',
      route: 'GET /api/orders/eager',
      queries: 2,
    })
    prof.close()
  })

  it('fails on an N+1 with the shape, the count, the call site and the fix', async () => {
    const { app, prof } = makeApp()
    const failure = expectQueries(app, { method: 'GET', path: '/api/orders' }, { max: 10, nPlusOne: 0 })
    await expect(failure).rejects.toMatchObject({ code: 'ERR_HOTPATH_QUERIES' })
    await expect(expectQueries(app, { path: '/api/orders' }, { nPlusOne: 0 })).rejects.toThrow(
      /N\+1: "SELECT \* FROM items WHERE order_id = \?" ran 6 times \(better-sqlite3\) at .*testing\.test\.ts:\d+:\d+\n\s+fix: .*json_each/,
    )
    prof.close()
  })

  it('fails when the request runs more queries than max', async () => {
    const { app, prof } = makeApp()
    await expect(expectQueries(app, { path: '/api/orders' }, { max: 5, nPlusOne: 1 })).rejects.toThrow(
      '7 queries, over the limit of 5',
    )
    prof.close()
  })

  it('fails on a query repeated with the same parameters unless duplicates are allowed', async () => {
    const { app, prof } = makeApp()
    await expect(expectQueries(app, { path: '/api/orders/twice' })).rejects.toThrow(
      'duplicate: "SELECT * FROM orders WHERE id = ?" ran 2 times with the same parameters',
    )
    await expect(expectQueries(app, { path: '/api/orders/twice' }, { duplicates: 1 })).resolves.toMatchObject(
      {
        queries: 2,
      },
    )
    prof.close()
  })

  it('says how to fix an app without a profiler', async () => {
    const app = express()
    app.get('/', (_req, res) => res.send('ok'))
    await expect(expectQueries(app, { path: '/' })).rejects.toMatchObject({
      code: 'ERR_HOTPATH_QUERIES_NO_PROFILER',
    })
  })
})
