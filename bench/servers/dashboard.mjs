// The 1 KB JSON route of an app that mounts @hotpath/dashboard at /performance (the dashboard
// must cost the app's own routes nothing beyond one path check), and the dashboard's own
// /performance/dashboard document with a real profiler, cache, compression and limiter as sources.
import { compression } from '@hotpath/compression'
import { dashboard } from '@hotpath/dashboard'
import { profiler } from '@hotpath/profiler'
import { rateLimit } from '@hotpath/rate-limit'
import { responseCache } from '@hotpath/response-cache'
import express from 'express'
import { json1k } from '../payload.mjs'

export const TOKEN = 'bench-token-0123456789abcdef'

export default function server(options = {}) {
  if (options.plain) {
    // Baseline for the dashboard-json scenario: the same path answered by a plain 1 KB res.json.
    const app = express()
    app.get('/performance/dashboard', (_req, res) => {
      res.json(json1k)
    })
    return app
  }
  const prof = profiler({ registry: false, eventLoop: false })
  const sources = {
    profiler: prof,
    cache: responseCache({ ttl: '1m' }),
    compression: compression(),
    rateLimit: rateLimit({ limit: 1_000_000, window: '1m' }),
  }
  const app = express()
  app.use(
    '/performance',
    dashboard({
      auth: { token: TOKEN },
      sources,
      // The bench client is one address; the dashboard's own per-client limits would stop it.
      rateLimit: false,
    }),
  )
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  return {
    listener: app,
    close: async () => {
      prof.close()
      await sources.rateLimit.close()
    },
  }
}
