import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import Database from 'better-sqlite3'
import express from 'express'
import knexModule, { type Knex } from 'knex'
import supertest from 'supertest'
import { profiler } from '../src'
import { until } from './helpers'
import { type SeedDb, seed, seededTests } from './seeded'

const FILE = __filename
const INDEX = {
  create: 'CREATE INDEX orders_email ON orders (customer_email)',
  drop: 'DROP INDEX orders_email',
}

let dir: string
let db: Database.Database
let knex: Knex

function rawDb(): SeedDb {
  return {
    label: 'better-sqlite3',
    driver: 'better-sqlite3',
    dialect: 'sqlite',
    file: FILE,
    markers: { items: 'site:sqlite-items', customer: 'site:sqlite-customer' },
    exec: async (sql) => db.prepare(sql).run(),
    itemsOf: async (id) => db.prepare('SELECT * FROM items WHERE order_id = ?').all(id), // site:sqlite-items
    customerOf: async (id) => db.prepare('SELECT * FROM customers WHERE id = ?').get(id), // site:sqlite-customer
    itemsOfMany: async (ids) =>
      db
        .prepare('SELECT * FROM items WHERE order_id IN (SELECT value FROM json_each(?))')
        .all(JSON.stringify(ids)),
    customersOfMany: async (ids) =>
      db
        .prepare('SELECT * FROM customers WHERE id IN (SELECT value FROM json_each(?))')
        .all(JSON.stringify(ids)),
    orderByEmail: async (email) => db.prepare('SELECT * FROM orders WHERE customer_email = ?').get(email),
    countByNote: async (note) => db.prepare(`SELECT count(*) AS n FROM orders WHERE note = '${note}'`).get(),
  }
}

function knexDb(): SeedDb {
  return {
    label: 'knex (better-sqlite3)',
    driver: 'knex',
    dialect: 'sqlite',
    file: FILE,
    markers: { items: 'site:knex-sqlite-items', customer: 'site:knex-sqlite-customer' },
    exec: async (sql) => knex.raw(sql),
    itemsOf: async (id) => await knex('items').where('order_id', id), // site:knex-sqlite-items
    customerOf: async (id) => await knex('customers').where('id', id).first(), // site:knex-sqlite-customer
    itemsOfMany: async (ids) => knex('items').whereIn('order_id', ids),
    customersOfMany: async (ids) => knex('customers').whereIn('id', ids),
    orderByEmail: async (email) => knex('orders').where('customer_email', email).first(),
    countByNote: async (note) => knex.raw(`SELECT count(*) AS n FROM orders WHERE note = '${note}'`),
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-sqlite-'))
  const file = path.join(dir, 'seed.db')
  db = new Database(file)
  await seed(rawDb())
  knex = knexModule({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true })
}, 60_000)

afterAll(async () => {
  await knex?.destroy()
  db?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('better-sqlite3, raw driver', () => {
  seededTests(() => ({ db: rawDb(), modules: { betterSqlite3: Database }, index: INDEX }))
})

describe('better-sqlite3 through knex', () => {
  seededTests(() => ({
    db: knexDb(),
    modules: { knex: knexModule, betterSqlite3: Database },
    pool: knex,
    index: INDEX,
  }))
})

describe('instrumenting better-sqlite3', () => {
  const statementProto = () => Object.getPrototypeOf(db.prepare('SELECT 1'))

  it('puts the original Statement methods back on uninstrument', () => {
    const before = statementProto().all
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ betterSqlite3: Database })
    expect(statementProto().all).not.toBe(before)
    prof.uninstrument()
    expect(statementProto().all).toBe(before)
    prof.close()
  })

  it('records each query once when instrument is called twice', async () => {
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ betterSqlite3: Database })
    prof.instrument({ betterSqlite3: Database })
    db.prepare('SELECT count(*) FROM customers').get()
    expect(prof.queries().background).toEqual({ queries: 1, totalMs: expect.any(Number) })
    prof.close()
  })

  it('lets two profilers record the same queries independently and leaves one working when the other stops', async () => {
    const a = profiler({ registry: false, eventLoop: false })
    const b = profiler({ registry: false, eventLoop: false })
    a.instrument({ betterSqlite3: Database })
    b.instrument({ betterSqlite3: Database })
    const app = express()
    app.use(a, b)
    app.get('/one', (_req, res) => {
      db.prepare('SELECT * FROM customers WHERE id = ?').get(1)
      res.send('ok')
    })
    await supertest(app).get('/one').expect(200)
    await until(() => a.queries().perRoute.length === 1 && b.queries().perRoute.length === 1)
    a.close()
    await supertest(app).get('/one').expect(200)
    await until(() => b.queries().perRoute[0]?.requests === 2)
    const countOf = (p: typeof a) =>
      p.queries().shapes.find((s) => s.shape.startsWith('SELECT * FROM customers'))?.count
    expect(countOf(a)).toBe(1)
    expect(countOf(b)).toBe(2)
    expect(b.queries().perRoute[0]).toMatchObject({ requests: 2, queriesPerRequest: 1 })
    b.close()
  })

  it('counts a query run outside any request in the background bucket, not on a route', () => {
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ betterSqlite3: Database })
    db.prepare('SELECT * FROM customers WHERE id = ?').get(2)
    const report = prof.queries()
    expect(report.background?.queries).toBe(1)
    expect(report.perRoute).toEqual([])
    prof.close()
  })

  it('reports the same statement with the same parameters twice in one request as a duplicate', async () => {
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ betterSqlite3: Database })
    const app = express()
    app.use(prof)
    app.get('/twice', (_req, res) => {
      db.prepare('SELECT * FROM customers WHERE id = ?').get(3)
      db.prepare('SELECT * FROM customers WHERE id = ?').get(3) // site:duplicate
      db.prepare('SELECT * FROM customers WHERE id = ?').get(4)
      res.send('ok')
    })
    await supertest(app).get('/twice').expect(200)
    await until(() => (prof.queries().duplicates ?? []).length === 1)
    expect(prof.queries().duplicates).toEqual([
      {
        route: 'GET /twice',
        shape: 'SELECT * FROM customers WHERE id = ?',
        count: 1,
        requests: 1,
        lastSeen: expect.any(String),
        callSites: [expect.stringMatching(/instrument-sqlite\.test\.ts:\d+:\d+/), expect.any(String)],
        driver: 'better-sqlite3',
        hint: expect.stringContaining('memoize per request'),
      },
    ])
    expect(prof.queries().nPlusOne).toEqual([])
    prof.close()
  })

  it('times a statement read through iterate until its iterator is done', async () => {
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ betterSqlite3: Database })
    let rows = 0
    for (const _ of db.prepare('SELECT * FROM items').iterate()) rows++
    expect(rows).toBe(100)
    expect(prof.queries().shapes.find((s) => s.shape === 'SELECT * FROM items')?.count).toBe(1)
    prof.close()
  })

  it('refuses an unknown driver name with the names it takes', () => {
    const prof = profiler({ registry: false, eventLoop: false })
    expect(() => prof.instrument({ sqlite: Database } as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_HOTPATH_PROFILER_INSTRUMENT',
        message: expect.stringContaining('betterSqlite3'),
      }),
    )
    prof.close()
  })
})
