import express from 'express'
import knexModule, { type Knex } from 'knex'
import pg from 'pg'
import supertest from 'supertest'
import { describePostgres } from '../../../test/helpers/sql'
import { profiler } from '../src'
import { until } from './helpers'
import { type SeedDb, seed, seededTests } from './seeded'

const FILE = __filename
const INDEX = {
  create: 'CREATE INDEX orders_email ON orders (customer_email)',
  drop: 'DROP INDEX IF EXISTS orders_email',
}

describePostgres('pg, knex on a real PostgreSQL', (server) => {
  let pool: pg.Pool
  let knex: Knex

  function rawDb(): SeedDb {
    return {
      label: 'pg',
      driver: 'pg',
      dialect: 'postgres',
      file: FILE,
      markers: { items: 'site:pg-items', customer: 'site:pg-customer' },
      exec: (sql) => pool.query(sql),
      itemsOf: (id) => pool.query('SELECT * FROM items WHERE order_id = $1', [id]), // site:pg-items
      customerOf: (id) => pool.query('SELECT * FROM customers WHERE id = $1', [id]), // site:pg-customer
      itemsOfMany: (ids) => pool.query('SELECT * FROM items WHERE order_id = ANY($1)', [ids]),
      customersOfMany: (ids) => pool.query('SELECT * FROM customers WHERE id = ANY($1)', [ids]),
      orderByEmail: (email) => pool.query('SELECT * FROM orders WHERE customer_email = $1', [email]),
      countByNote: (note) => pool.query(`SELECT count(*) AS n FROM orders WHERE note = '${note}'`),
    }
  }

  function knexDb(): SeedDb {
    return {
      label: 'knex (pg)',
      driver: 'knex',
      dialect: 'postgres',
      file: FILE,
      markers: { items: 'site:knex-pg-items', customer: 'site:knex-pg-customer' },
      exec: async (sql) => knex.raw(sql),
      itemsOf: async (id) => await knex('items').where('order_id', id), // site:knex-pg-items
      customerOf: async (id) => await knex('customers').where('id', id).first(), // site:knex-pg-customer
      itemsOfMany: async (ids) => knex('items').whereIn('order_id', ids),
      customersOfMany: async (ids) => knex('customers').whereIn('id', ids),
      orderByEmail: async (email) => knex('orders').where('customer_email', email).first(),
      countByNote: async (note) => knex.raw(`SELECT count(*) AS n FROM orders WHERE note = '${note}'`),
    }
  }

  beforeAll(async () => {
    pool = new pg.Pool({ ...server.current.connection, max: 4 })
    await seed(rawDb())
    knex = knexModule({ client: 'pg', connection: server.current.connection, pool: { min: 0, max: 4 } })
    // knex asks a new pg connection for the server version once: not one of the app's queries.
    await knex.raw('SELECT 1')
  }, 60_000)

  afterAll(async () => {
    await knex?.destroy()
    await pool?.end()
  })

  describe('raw driver (pg Pool)', () => {
    seededTests(() => ({ db: rawDb(), modules: { pg }, pool, index: INDEX }))
  })

  describe('through knex', () => {
    seededTests(() => ({ db: knexDb(), modules: { knex: knexModule, pg }, pool: knex, index: INDEX }))
  })

  describe('query forms and pools', () => {
    it('times callback, promise and submittable queries of a Client, each once', async () => {
      const prof = profiler({ registry: false, eventLoop: false })
      prof.instrument({ pg })
      const client = new pg.Client(server.current.connection)
      await client.connect()
      try {
        await new Promise<void>((resolve, reject) =>
          client.query('SELECT 1 AS cb', (err: Error | null) => (err ? reject(err) : resolve())),
        )
        await client.query('SELECT 2 AS promised')
        const submitted = new pg.Query('SELECT 3 AS submitted')
        await new Promise<void>((resolve, reject) => {
          submitted.on('end', () => resolve())
          submitted.on('error', reject)
          client.query(submitted)
        })
        const shapes = prof.queries().shapes.map((s) => [s.shape, s.count])
        expect(shapes).toEqual(
          expect.arrayContaining([
            ['SELECT ? AS cb', 1],
            ['SELECT ? AS promised', 1],
            ['SELECT ? AS submitted', 1],
          ]),
        )
        expect(prof.queries().background?.queries).toBe(3)
      } finally {
        await client.end()
        prof.close()
      }
    })

    it('keeps a query that waited for a pool connection on its own request', async () => {
      const small = new pg.Pool({ ...server.current.connection, max: 1 })
      const prof = profiler({ registry: false, eventLoop: false })
      prof.instrument({ pg })
      const app = express()
      app.use(prof)
      app.get('/slow', async (_req, res) => {
        await small.query('SELECT pg_sleep(0.2) AS slow')
        res.send('ok')
      })
      app.get('/fast', async (_req, res) => {
        await small.query('SELECT 1 AS fast')
        res.send('ok')
      })
      try {
        await Promise.all([supertest(app).get('/slow').expect(200), supertest(app).get('/fast').expect(200)])
        await until(() => prof.queries().perRoute.length === 2)
        const perRoute = Object.fromEntries(
          prof.queries().perRoute.map((r) => [r.route, r.queriesPerRequest]),
        )
        expect(perRoute).toEqual({ 'GET /slow': 1, 'GET /fast': 1 })
      } finally {
        prof.close()
        await small.end()
      }
    })

    it('reports a watched pool with every connection in use and a request waiting for one', async () => {
      const small = new pg.Pool({ ...server.current.connection, max: 1 })
      const prof = profiler({ registry: false, eventLoop: false })
      prof.watchPool(small, { name: 'orders-db' })
      try {
        const held = await small.connect()
        const waiting = small.query('SELECT 1')
        await until(() => small.waitingCount === 1)
        const during = prof.queries().pools?.[0]
        expect(during).toMatchObject({
          name: 'orders-db',
          kind: 'pg',
          max: 1,
          size: 1,
          inUse: 1,
          idle: 0,
          waiting: 1,
        })
        await new Promise((r) => setTimeout(r, 60))
        held.release()
        await waiting
        const after = prof.queries().pools?.[0]
        expect(after?.queued).toBe(1)
        expect(after?.acquireWaitP95Ms).toBeGreaterThanOrEqual(50)
        expect(after?.saturatedMs).toBeGreaterThanOrEqual(50)
        expect(prof.insights().map((i) => i.id)).toEqual(
          expect.arrayContaining(['pool-saturated', 'pool-waiting']),
        )
      } finally {
        prof.close()
        await small.end()
      }
    })

    it('puts Client.prototype.query back on uninstrument', () => {
      const before = pg.Client.prototype.query
      const prof = profiler({ registry: false, eventLoop: false })
      prof.instrument({ pg })
      expect(pg.Client.prototype.query).not.toBe(before)
      prof.uninstrument()
      expect(pg.Client.prototype.query).toBe(before)
      prof.close()
    })
  })
})
