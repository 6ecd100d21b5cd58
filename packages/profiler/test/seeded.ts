/**
 * The seeded suites every driver runs (raw driver and knex): an N+1 app whose per-row loops
 * must all be found with their call site, an eager-loading app with nothing flagged, a
 * 10^5-row table filtered on an unindexed column (one index advice, gone once the index exists),
 * and a secret value that no report and no dashboard response may contain.
 */
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { dashboard } from '@hotpath/dashboard'
import express from 'express'
import supertest from 'supertest'
import { type InstrumentModules, type Profiler, profiler } from '../src'
import { until } from './helpers'

export type Dialect = 'postgres' | 'mysql' | 'sqlite'

/** One way to reach the seeded database: each function is the application's own call. */
export interface SeedDb {
  readonly label: string
  /** The `driver` findings must name. */
  readonly driver: string
  readonly dialect: Dialect
  /** The test file, and the markers (comments) on the lines of the two per-row queries. */
  readonly file: string
  readonly markers: { items: string; customer: string }
  exec(sql: string): Promise<unknown>
  itemsOf(orderId: number): Promise<unknown>
  customerOf(customerId: number): Promise<unknown>
  itemsOfMany(orderIds: number[]): Promise<unknown>
  customersOfMany(customerIds: number[]): Promise<unknown>
  orderByEmail(email: string): Promise<unknown>
  countByNote(note: string): Promise<unknown>
}

const quiet = { warn() {}, error() {} }

export const SECRET_EMAIL = 'zq-secret-4f9c1e@example.test'
export const SECRET_NOTE = 'SECRET-LITERAL-7d2a9b'
const ORDERS = 100_000
const ORDER_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

/** Creates and fills the tables once per database (the first adapter of a server does it). */
export async function seed(db: SeedDb): Promise<void> {
  const text = db.dialect === 'mysql' ? 'VARCHAR(200)' : 'TEXT'
  await db.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name ${text})`)
  await db.exec(
    `CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, customer_email ${text}, note ${text})`,
  )
  await db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER, sku ${text})`)
  await db.exec('CREATE INDEX items_order ON items (order_id)')
  const concat = (...parts: string[]) =>
    db.dialect === 'mysql' ? `CONCAT(${parts.join(', ')})` : parts.join(' || ')
  const rows = (n: number, select: string) => {
    if (db.dialect === 'postgres') return `${select} FROM generate_series(1, ${n}) AS s(g)`
    if (db.dialect === 'mysql') return `${select.replace(/\bg\b/g, 'seq')} FROM seq_1_to_${n}`
    return `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ${n}) ${select} FROM s`
  }
  const insert = (table: string, n: number, select: string) => `INSERT INTO ${table} ${rows(n, select)}`
  await db.exec(insert('customers', 50, `SELECT g, ${concat("'customer '", 'g')}`))
  await db.exec(
    insert(
      'orders',
      ORDERS,
      `SELECT g, g % 50 + 1, ${concat("'user'", 'g', "'@example.test'")}, ${concat("'note '", 'g')}`,
    ),
  )
  await db.exec(insert('items', 100, `SELECT g, g % 10 + 1, ${concat("'sku-'", 'g')}`))
  await db.exec(`INSERT INTO orders VALUES (${ORDERS + 1}, 1, '${SECRET_EMAIL}', '${SECRET_NOTE}')`)
}

/** `file:line` of the line carrying `marker` (a comment beside the per-row query). */
export function siteOf(file: string, marker: string): string {
  const lines = readFileSync(file, 'utf8').split('\n')
  const index = lines.findIndex((l) => l.includes(marker) && !l.includes('markers:'))
  if (index === -1) throw new Error(`marker ${marker} not found in ${file}`)
  return `${path.relative(process.cwd(), file)}:${index + 1}:`
}

function appFor(prof: Profiler, db: SeedDb) {
  const app = express()
  app.use(prof)
  const wrap =
    (fn: (req: express.Request) => Promise<unknown>) =>
    (req: express.Request, res: express.Response, next: express.NextFunction) => {
      fn(req).then((body) => res.json(body ?? null), next)
    }
  app.get(
    '/lazy',
    wrap(async () => {
      const out = []
      for (const id of ORDER_IDS) out.push(await db.itemsOf(id))
      for (const id of ORDER_IDS) out.push(await db.customerOf(id))
      return out.length
    }),
  )
  app.get(
    '/eager',
    wrap(async () => {
      await db.itemsOfMany(ORDER_IDS)
      await db.customersOfMany(ORDER_IDS)
      return 2
    }),
  )
  app.get(
    '/by-email',
    wrap(async (req) => {
      await db.orderByEmail(String(req.query.email))
      return 'ok'
    }),
  )
  app.get(
    '/by-note',
    wrap(async () => {
      await db.countByNote(SECRET_NOTE)
      return 'ok'
    }),
  )
  app.use('/dash', dashboard({ sources: { profiler: prof }, auth: 'none', rateLimit: false, logger: quiet }))
  return app
}

function make(modules: InstrumentModules, pool: unknown, explain = false): Profiler {
  const prof = profiler({
    registry: false,
    eventLoop: false,
    explain: explain ? { minDurationMs: 0, sampleEvery: 1, minRows: 50_000 } : false,
  })
  prof.instrument(modules)
  if (pool !== undefined) prof.watchPool(pool, { name: 'main' })
  return prof
}

/**
 * The seeded `it`s for one adapter. `get()` returns the adapter and the modules to instrument,
 * made in the suite's `beforeAll` (after its server started).
 */
export function seededTests(
  get: () => {
    db: SeedDb
    modules: InstrumentModules
    pool?: unknown
    index: { create: string; drop: string }
  },
): void {
  const profs: Profiler[] = []
  const track = (p: Profiler) => {
    profs.push(p)
    return p
  }
  afterEach(() => {
    for (const p of profs.splice(0)) p.close()
  })

  it('finds every per-row loop as an N+1 with its call site and a fix hint', async () => {
    const { db, modules, pool } = get()
    const prof = track(make(modules, pool))
    const app = appFor(prof, db)
    await supertest(app).get('/lazy').expect(200)
    await supertest(app).get('/lazy').expect(200)
    await until(() => prof.queries().nPlusOne.length >= 2, 5000)
    const found = prof.queries().nPlusOne.filter((f) => f.route === 'GET /lazy')
    const items = found.find((f) => /\bitems\b/.test(f.shape))
    const customers = found.find((f) => /\bcustomers\b/.test(f.shape))
    expect(found).toHaveLength(2)
    expect(items).toMatchObject({ count: 10, requests: 2, driver: db.driver, consecutive: 10 })
    expect(customers).toMatchObject({ count: 10, requests: 2, driver: db.driver, consecutive: 10 })
    expect(items?.callSites?.[0]).toContain(siteOf(db.file, db.markers.items))
    expect(customers?.callSites?.[0]).toContain(siteOf(db.file, db.markers.customer))
    expect(items?.hint).toMatch(
      db.driver === 'knex' ? /whereIn/ : db.driver === 'pg' ? /ANY\(\$1\)/ : /IN \(/,
    )
    expect(prof.queries().perRoute.find((r) => r.route === 'GET /lazy')).toMatchObject({
      queriesPerRequest: 20,
      p50: 20,
      p95: 20,
    })
  })

  it('flags nothing on the same data loaded eagerly', async () => {
    const { db, modules, pool } = get()
    const prof = track(make(modules, pool))
    const app = appFor(prof, db)
    await supertest(app).get('/eager').expect(200)
    await supertest(app).get('/eager').expect(200)
    await until(
      () => (prof.queries().perRoute.find((r) => r.route === 'GET /eager')?.requests ?? 0) === 2,
      5000,
    )
    const report = prof.queries()
    expect(report.nPlusOne).toEqual([])
    expect(report.duplicates).toEqual([])
    expect(report.perRoute.find((r) => r.route === 'GET /eager')?.queriesPerRequest).toBe(2)
  })

  it('advises one index for a filter on an unindexed column of a 10^5-row table, and drops it once the index exists', async () => {
    const { db, modules, pool, index } = get()
    const prof = track(make(modules, pool, true))
    const app = appFor(prof, db)
    try {
      await supertest(app).get('/by-email').query({ email: SECRET_EMAIL }).expect(200)
      await until(() => (prof.queries().advice ?? []).length > 0, 10_000)
      const advice = prof.queries().advice ?? []
      expect(advice).toHaveLength(1)
      expect(advice[0]).toMatchObject({ table: 'orders', columns: ['customer_email'], dialect: db.dialect })
      expect(advice[0]?.rows).toBeGreaterThanOrEqual(50_000)
      await db.exec(index.create)
      await supertest(app).get('/by-email').query({ email: SECRET_EMAIL }).expect(200)
      await until(() => (prof.queries().advice ?? []).length === 0, 10_000)
      expect(prof.queries().advice).toEqual([])
    } finally {
      await db.exec(index.drop).catch(() => {})
    }
  })

  it('keeps the seeded secret value and literal out of every report and dashboard response', async () => {
    const { db, modules, pool } = get()
    const prof = track(make(modules, pool, true))
    const app = appFor(prof, db)
    await supertest(app).get('/by-email').query({ email: SECRET_EMAIL }).expect(200)
    await until(() => (prof.queries().advice ?? []).length === 1, 10_000)
    // Both filters scan the table: the advice names the two columns, and no value.
    // One EXPLAIN runs at a time: a sample taken while another runs is skipped, so ask again.
    await until(
      () => (prof.queries().advice ?? []).length === 2,
      10_000,
      () => supertest(app).get('/by-note'),
    )
    await supertest(app).get('/lazy').expect(200)
    const texts = [
      JSON.stringify(prof.stats()),
      JSON.stringify(prof.queries()),
      JSON.stringify(prof.insights()),
    ]
    for (const endpoint of [
      '/dash/',
      '/dash/dashboard',
      '/dash/query/optimization',
      '/dash/profile/insights',
      '/dash/metrics',
    ]) {
      const res = await supertest(app).get(endpoint)
      texts.push(res.text)
    }
    for (const text of texts) {
      expect(text).not.toContain(SECRET_EMAIL)
      expect(text).not.toContain(SECRET_NOTE)
      expect(text).not.toContain('zq-secret')
    }
    expect(texts[1]).toContain('customer_email')
    expect(texts[1]).toContain('"note"')
  })
}
