// Express apps for the response-cache scenarios. `cache` picks the cache in front of the
// routes: 'none' (the uncached route), 'hotpath' (@hotpath/response-cache, memory store),
// 'hotpath-front' (the same, through cache.front(app)), 'apicache' (apicache's memory
// cache), 'noop' (a no-op layer where the cache's route layer would be: the floor). `compress` puts a compression middleware in front: 'compression' (the npm
// package) or 'shrink-ray' (shrink-ray-current, which caches compressed bytes by ETag).
// Routes: /burn (a 1 KB JSON handler that costs 2 ms of CPU), /json (1 KB res.json),
// /json100k (100 KB res.json), /private (1 KB res.json with `Cache-Control: private`: a
// response the cache must not store, so it only passes through).
import { responseCache } from '@hotpath/response-cache'
import apicache from 'apicache'
import compressionPackage from 'compression'
import express from 'express'
import shrinkRay from 'shrink-ray-current'
import { burnCpu, json1k, json100k } from '../payload.mjs'

function cacheLayer(kind) {
  if (kind === 'none') return { use: [], route: [] }
  if (kind === 'noop') return { use: [], route: [(_req, _res, next) => next()] }
  if (kind === 'hotpath' || kind === 'hotpath-front') {
    const cache = responseCache({ ttl: '10m' })
    return { use: [], route: [cache.route()], cache }
  }
  if (kind === 'apicache') {
    const instance = apicache.newInstance({ defaultDuration: '10 minutes' })
    return { use: [], route: [instance.middleware()] }
  }
  throw new Error(`response-cache.mjs: unknown cache ${JSON.stringify(kind)}`)
}

function compressLayer(kind) {
  if (!kind) return []
  if (kind === 'compression') return [compressionPackage()]
  // node-zopfli-es is not usable here; shrink-ray then re-encodes its cache with zlib's best level.
  if (kind === 'shrink-ray') return [shrinkRay({ useZopfliForGzip: false })]
  throw new Error(`response-cache.mjs: unknown compress ${JSON.stringify(kind)}`)
}

export default function server(options = {}) {
  const kind = options.cache ?? 'hotpath'
  const layer = cacheLayer(kind)
  const app = express()
  for (const mw of compressLayer(options.compress)) app.use(mw)
  app.get('/burn', ...layer.route, (_req, res) => {
    burnCpu(2)
    res.json(json1k)
  })
  app.get('/json', ...layer.route, (_req, res) => {
    res.json(json1k)
  })
  app.get('/private', ...layer.route, (_req, res) => {
    res.set('Cache-Control', 'private')
    res.json(json1k)
  })
  app.get('/json100k', ...layer.route, (_req, res) => {
    res.json(json100k)
  })
  const listener = kind === 'hotpath-front' ? layer.cache.front(app) : app
  return { listener, close: () => layer.cache?.close() }
}

/** Fills the caches (and, for a gzip client, lets the stored variants be made) before measuring. */
export async function warmup(url, options = {}) {
  const headers = options.warmHeaders ?? {}
  for (const path of options.warm ?? []) {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}${path}`, { headers })
      await res.arrayBuffer()
      await new Promise((resolve) => setTimeout(resolve, 150))
    }
  }
}
