// The whole hotpath suite in front of a small uncached route: profiler, rate limit (memory),
// compression and cache-control as one compose() layer (or as four layers), plus the
// response cache on a different route so it is mounted but not hit.
import { cacheControl } from '@hotpath/cache-control'
import { compression } from '@hotpath/compression'
import { compose } from '@hotpath/core'
import { profiler } from '@hotpath/profiler'
import { rateLimit } from '@hotpath/rate-limit'
import { responseCache } from '@hotpath/response-cache'
import express from 'express'
import { jsonSmall } from '../payload.mjs'

export default function server(options = {}) {
  const prof = profiler({ registry: false })
  const limiter = rateLimit({ algorithm: 'sliding-window', limit: 1e9, window: '1m' })
  const compress = compression({ threshold: 500 })
  const headers = cacheControl({ rules: [{ match: '/api/**', preset: 'api' }] })
  const cache = responseCache({ ttl: '1m' })
  const app = express()
  const suite = [prof, limiter, compress, headers]
  if (options.layers) for (const middleware of suite) app.use(middleware)
  else app.use(compose(...suite))
  app.get('/small', (_req, res) => {
    res.json(jsonSmall)
  })
  app.get('/api/cached', cache.route({ ttl: '1m' }), (_req, res) => {
    res.json(jsonSmall)
  })
  return {
    listener: app,
    close: async () => {
      prof.close()
      await limiter.close()
      await cache.close()
    },
  }
}
