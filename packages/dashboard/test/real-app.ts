/**
 * The product API of the integration and browser suites, built from the real hotpath
 * packages: dashboard (under `base`, or on its own admin app for the root mount), then
 * profiler → rate-limit → compression → response-cache → handlers.
 */
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { compression } from '@hotpath/compression'
import { profiler } from '@hotpath/profiler'
import { rateLimit } from '@hotpath/rate-limit'
import { responseCache } from '@hotpath/response-cache'
import type { Express, Router } from 'express'
import { Registry } from 'prom-client'
import { express } from '../../../test/helpers/express'
import { type DashboardOptions, dashboard } from '../src'
import { memoryLogger, ROOMY_LIMITS, TOKEN } from './fixtures'

/** A route whose label holds markup: the page must show it as text. */
export const EVIL_PATH = '/evil/<script>window.pwned=1</script>'

export function realApp(base: string, extra: Partial<DashboardOptions> = {}) {
  const { logger } = memoryLogger()
  const registry = new Registry()
  const prof = profiler({ registry, logger, sampleInterval: '100ms' })
  const limiter = rateLimit({ limit: 1000, window: '1m', logger })
  const compress = compression({ logger })
  const cache = responseCache({ ttl: '1m', logger })
  const router: Router = dashboard({
    auth: { token: TOKEN },
    sources: { cache, compression: compress, profiler: prof, rateLimit: limiter },
    registry,
    rateLimit: ROOMY_LIMITS,
    logger,
    ...extra,
  })
  const app: Express = express()
  const admin: Express = express()
  // Mounted before the profiler, as the README advises: the page's polling is not app traffic.
  if (base) app.use(base, router)
  else admin.use(router)
  app.use(prof)
  app.use(limiter)
  app.use(compress)
  const products = Array.from({ length: 200 }, (_, id) => ({ id, name: `product ${id}`, price: id * 3 }))
  app.get('/api/products', cache.route({ tags: ['products'] }), (_req, res) => {
    res.json(products)
  })
  // Uncached and above the compression threshold: the compression numbers come from here.
  app.get('/api/catalog', (_req, res) => {
    res.json(products)
  })
  app.get('/api/products/:id', (req, res) => {
    const product = products[Number(req.params.id)]
    if (!product) return res.status(404).json({ error: 'not found' })
    res.json(product)
  })
  app.get('/api/limited', limiter.route({ limit: 2, window: '1m', name: 'tight' }), (_req, res) => {
    res.json({ ok: true })
  })
  app.get(EVIL_PATH, (_req, res) => {
    res.json({ ok: true })
  })
  const close = async () => {
    prof.close()
    await limiter.close()
  }
  return { app, admin: base ? app : admin, cache, prof, limiter, compress, registry, close }
}

/** Sends `path` unencoded (Node allows `<` and `>` in a request target), as a crafted client would. */
export async function rawGet(app: Express, path: string): Promise<number> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const { port } = server.address() as AddressInfo
    return await new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end()
    })
  } finally {
    server.close()
  }
}
