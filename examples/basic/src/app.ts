/**
 * A small product API with every hotpath middleware mounted, in-memory stores only:
 *
 *   /performance      the dashboard (token printed at start)
 *   profiler → rate limit → compression → cache-control   (one Express layer, via compose)
 *   /api/products     cached 5 minutes under the tag `products`, invalidated on update
 *   /api/products/:id cached per product, queries timed by the profiler
 *   data under both   read through the data cache (getOrSet); one deleteByTag('products')
 *                     on update drops the data entries and the response entries
 *   /api/reviews      SQLite (better-sqlite3, optional) with a deliberate N+1 the queries panel shows
 *   /static/*         fingerprinted files, one year immutable; others revalidate
 *   /health           never cached
 *   POST /login       5 attempts per 15 minutes per client (GCRA)
 *   POST /api/reports a report built in the background (memory task engine); /reports/:id shows its progress
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createCache, MemoryTier } from '@hotpath/cache'
import { cacheControl } from '@hotpath/cache-control'
import { compression } from '@hotpath/compression'
import { compose } from '@hotpath/core'
import { dashboard } from '@hotpath/dashboard'
import { profiler } from '@hotpath/profiler'
import { rateLimit } from '@hotpath/rate-limit'
import { MemoryStore, responseCache } from '@hotpath/response-cache'
import express, { type NextFunction, type Request, type Response } from 'express'
import { Registry } from 'prom-client'
import { type Catalog, createCatalog } from './catalog'
import { createReports } from './reports'
import { openReviews } from './reviews'

export interface ExampleOptions {
  /** Dashboard token. Default: random, printed at start. */
  token?: string
  catalog?: Catalog
  /** Where static files come from. Default: the example's `public/` folder. */
  publicDir?: string
}

export function createApp(options: ExampleOptions = {}) {
  const token = options.token ?? randomBytes(18).toString('base64url')
  const catalog = options.catalog ?? createCatalog()
  const registry = new Registry()

  const prof = profiler({ registry, slowThreshold: '250ms', serverTiming: true })
  // Every better-sqlite3 statement is timed and tied to its request, with no code change.
  const reviews = openReviews()
  if (reviews.ok) prof.instrument({ betterSqlite3: reviews.module })
  const limiter = rateLimit({
    algorithm: 'sliding-window',
    limit: 600,
    window: '1m',
    // Load-balancer health checks should not use up a client's budget.
    skip: (req) => req.path === '/health',
  })
  const compress = compression({
    threshold: 500,
    // BREACH: never compress an answer that could reflect a secret next to user input.
    filter: (req, res) => req.path !== '/login' && compression.filter(req, res),
  })
  const headers = cacheControl({
    rules: [
      { match: '/static/**', preset: 'static' },
      { match: '/health', preset: 'no-store' },
      { match: '/api/status', preset: 'monitoring' },
      { match: '/api/**', preset: 'api', maxAge: '5m' },
    ],
  })
  const cache = responseCache({ ttl: '5m', store: new MemoryStore({ maxBytes: '32mb' }) })
  // The data under the responses. Its tags are the response cache's too: one deleteByTag drops both.
  const data = createCache({
    l1: new MemoryTier({ maxBytes: '16mb' }),
    ttl: '5m',
    grace: '1h',
    responseCaches: [cache],
    registry,
  })

  const publicDir = options.publicDir ?? join(__dirname, '..', 'public')
  const reports = createReports({ publicDir })

  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: '16kb' }))
  // Mounted first, so the page's own polling is not counted as shop traffic.
  app.use(
    '/performance',
    dashboard({
      sources: {
        cache,
        dataCache: data,
        compression: compress,
        profiler: prof,
        rateLimit: limiter,
        tasks: reports.tasks,
      },
      auth: { token },
      registry,
    }),
  )
  app.use(compose(prof, limiter, compress, headers))

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptime: Math.round(process.uptime()) })
  })

  app.get('/api/status', (_req, res) => {
    const { overview } = prof.stats()
    res.json({ requests: overview.windows.all.count, p99Ms: overview.windows['5m'].p99 })
  })

  app.get('/api/products', cache.route({ ttl: '5m', tags: ['products'] }), async (req, res) => {
    const limit = Math.min(50, Math.max(1, Number(req.query.limit) || 20))
    const page = Math.max(1, Number(req.query.page) || 1)
    const items = await data.getOrSet(
      ['products', limit, page],
      () =>
        prof.query(req, 'SELECT * FROM products ORDER BY id LIMIT $1 OFFSET $2', () =>
          catalog.list(limit, (page - 1) * limit),
        ),
      { tags: ['products'] },
    )
    res.json({ page, limit, total: catalog.size, items })
  })

  app.get(
    '/api/products/:id',
    cache.route({ ttl: '5m', tags: (req) => ['products', `product:${req.params.id}`] }),
    async (req, res) => {
      const id = Number(req.params.id)
      // An unknown id is cached too (negativeTtl), so probing ids does not reach the database.
      const product = Number.isInteger(id)
        ? await data.getOrSet(
            ['product', id],
            () => prof.query(req, 'SELECT * FROM products WHERE id = $1', () => catalog.byId(id)),
            { tags: ['products', `product:${id}`], negativeTtl: '30s' },
          )
        : undefined
      if (!product) {
        res.status(404).json({ error: 'no such product' })
        return
      }
      res.json(product)
    },
  )

  app.get('/api/reviews', (req, res) => {
    if (!reviews.ok) {
      res.status(503).json({ error: reviews.reason })
      return
    }
    const limit = Math.min(20, Math.max(1, Number(req.query.limit) || 10))
    res.json({ items: reviews.latest(limit) })
  })

  app.put('/api/products/:id', async (req, res) => {
    const price = Number(req.body?.price)
    if (!Number.isFinite(price) || price <= 0) {
      res.status(400).json({ error: 'body must be {"price": <positive number>}' })
      return
    }
    const updated = await prof.query(req, 'UPDATE products SET price = $1 WHERE id = $2', () =>
      catalog.setPrice(Number(req.params.id), price),
    )
    if (!updated) {
      res.status(404).json({ error: 'no such product' })
      return
    }
    // One tag, every tier: the data entries (here and, with Redis, on every instance) and the responses.
    const removed = await data.deleteByTag('products')
    res.json({ product: updated, invalidated: removed })
  })

  app.post(
    '/login',
    limiter.route({ name: 'login', algorithm: 'gcra', limit: 5, window: '15m' }),
    (req, res) => {
      const { username, password } = (req.body ?? {}) as { username?: string; password?: string }
      if (username !== 'demo' || password !== 'hotpath') {
        res.status(401).json({ error: 'wrong username or password' })
        return
      }
      res.cookie('session', randomBytes(16).toString('hex'), { httpOnly: true, sameSite: 'strict' })
      res.json({ user: 'demo' })
    },
  )

  app.use(reports.router)

  // The cache-control rule decides the static policy; serve-static's own header is off.
  app.use('/static', express.static(publicDir, { cacheControl: false, index: false }))
  app.get('/', (_req, res) => {
    res.sendFile(join(publicDir, 'index.html'))
  })

  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500
    res.status(status).json({ error: status === 500 ? 'internal error' : err.message })
  })

  const close = async () => {
    prof.close()
    reviews.close()
    await limiter.close()
    await cache.close()
    await data.close()
    await reports.tasks.close({ drain: false, timeout: '1s' })
  }
  return { app, token, close, cache, data, prof, limiter, compress, headers, tasks: reports.tasks }
}
