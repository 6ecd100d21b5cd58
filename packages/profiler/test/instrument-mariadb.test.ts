import express from 'express'
import knexModule, { type Knex } from 'knex'
import mysql2 from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import supertest from 'supertest'
import { describeMariadb } from '../../../test/helpers/sql'
import { profiler } from '../src'
import { until } from './helpers'
import { type SeedDb, seed, seededTests } from './seeded'

const FILE = __filename
const INDEX = {
  create: 'CREATE INDEX orders_email ON orders (customer_email)',
  drop: 'DROP INDEX orders_email ON orders',
}

describeMariadb('mysql2, knex on a real MariaDB', (server) => {
  let pool: mysqlPromise.Pool
  let knex: Knex

  function rawDb(): SeedDb {
    return {
      label: 'mysql2',
      driver: 'mysql2',
      dialect: 'mysql',
      file: FILE,
      markers: { items: 'site:mysql-items', customer: 'site:mysql-customer' },
      exec: (sql) => pool.query(sql),
      itemsOf: (id) => pool.execute('SELECT * FROM items WHERE order_id = ?', [id]), // site:mysql-items
      customerOf: (id) => pool.query('SELECT * FROM customers WHERE id = ?', [id]), // site:mysql-customer
      itemsOfMany: (ids) => pool.query('SELECT * FROM items WHERE order_id IN (?)', [ids]),
      customersOfMany: (ids) => pool.query('SELECT * FROM customers WHERE id IN (?)', [ids]),
      orderByEmail: (email) => pool.query('SELECT * FROM orders WHERE customer_email = ?', [email]),
      countByNote: (note) => pool.query(`SELECT count(*) AS n FROM orders WHERE note = '${note}'`),
    }
  }

  function knexDb(): SeedDb {
    return {
      label: 'knex (mysql2)',
      driver: 'knex',
      dialect: 'mysql',
      file: FILE,
      markers: { items: 'site:knex-mysql-items', customer: 'site:knex-mysql-customer' },
      exec: async (sql) => knex.raw(sql),
      itemsOf: async (id) => await knex('items').where('order_id', id), // site:knex-mysql-items
      customerOf: async (id) => await knex('customers').where('id', id).first(), // site:knex-mysql-customer
      itemsOfMany: async (ids) => knex('items').whereIn('order_id', ids),
      customersOfMany: async (ids) => knex('customers').whereIn('id', ids),
      orderByEmail: async (email) => knex('orders').where('customer_email', email).first(),
      countByNote: async (note) => knex.raw(`SELECT count(*) AS n FROM orders WHERE note = '${note}'`),
    }
  }

  beforeAll(async () => {
    pool = mysqlPromise.createPool({ ...server.current.connection, connectionLimit: 4 })
    await seed(rawDb())
    await pool.query('ANALYZE TABLE orders')
    knex = knexModule({ client: 'mysql2', connection: server.current.connection, pool: { min: 0, max: 4 } })
    await knex.raw('SELECT 1')
  }, 90_000)

  afterAll(async () => {
    await knex?.destroy()
    await pool?.end()
  })

  describe('raw driver (mysql2 pool)', () => {
    seededTests(() => ({ db: rawDb(), modules: { mysql2 }, pool, index: INDEX }))
  })

  describe('through knex', () => {
    seededTests(() => ({ db: knexDb(), modules: { knex: knexModule, mysql2 }, pool: knex, index: INDEX }))
  })

  describe('connections and pools', () => {
    it('records queries of a single connection through the mysql2:query and mysql2:execute channels', async () => {
      const prof = profiler({ registry: false, eventLoop: false })
      prof.instrument({ mysql2 })
      const conn = await mysqlPromise.createConnection(server.current.connection)
      try {
        await conn.query('SELECT 1 AS queried')
        await conn.execute('SELECT ? AS executed', [2])
        const shapes = prof.queries().shapes.map((s) => [s.shape, s.count])
        expect(shapes).toEqual(
          expect.arrayContaining([
            ['SELECT ? AS queried', 1],
            ['SELECT ? AS executed', 1],
          ]),
        )
      } finally {
        await conn.end()
        prof.close()
      }
    })

    it('keeps a query that waited for a pool connection on its own request', async () => {
      const small = mysqlPromise.createPool({ ...server.current.connection, connectionLimit: 1 })
      const prof = profiler({ registry: false, eventLoop: false })
      prof.instrument({ mysql2 })
      const app = express()
      app.use(prof)
      app.get('/slow', async (_req, res) => {
        await small.query('SELECT SLEEP(0.2) AS slow')
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

    it('stops recording and puts Pool#query back on uninstrument, while a second profiler keeps recording', async () => {
      const PoolClass = (mysql2 as unknown as { Pool: { prototype: { query: unknown } } }).Pool
      const before = PoolClass.prototype.query
      const a = profiler({ registry: false, eventLoop: false })
      const b = profiler({ registry: false, eventLoop: false })
      a.instrument({ mysql2 })
      b.instrument({ mysql2 })
      try {
        await pool.query('SELECT 1 AS both_on')
        a.uninstrument()
        await pool.query('SELECT 1 AS one_on')
        const count = (p: typeof a, shape: string) => p.queries().shapes.find((s) => s.shape === shape)?.count
        expect([count(a, 'SELECT ? AS both_on'), count(a, 'SELECT ? AS one_on')]).toEqual([1, undefined])
        expect([count(b, 'SELECT ? AS both_on'), count(b, 'SELECT ? AS one_on')]).toEqual([1, 1])
        b.uninstrument()
        expect(PoolClass.prototype.query).toBe(before)
      } finally {
        a.close()
        b.close()
      }
    })

    it('reports a watched mysql2 pool and a knex pool with their sizes', async () => {
      const prof = profiler({ registry: false, eventLoop: false })
      prof.watchPool(pool, { name: 'mysql' })
      prof.watchPool(knex)
      try {
        await pool.query('SELECT 1')
        await knex.raw('SELECT 1')
        const pools = prof.queries().pools ?? []
        expect(pools.map((p) => [p.name, p.kind, p.max])).toEqual([
          ['mysql', 'mysql2', 4],
          ['knex-1', 'knex', 4],
        ])
        expect(pools.every((p) => p.acquires >= 1 && p.size >= 1 && p.inUse === 0)).toBe(true)
      } finally {
        prof.close()
      }
    })
  })
})
