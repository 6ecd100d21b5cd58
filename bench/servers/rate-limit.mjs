// The 1 KB res.json route behind a rate limiter whose limit is never reached (so every
// request does the full counting work and none is a cheap 429):
// `peer: 'hotpath'` (@hotpath/rate-limit), `'express-rate-limit'` or `'rate-limiter-flexible'`,
// each with its memory store, or with `store: 'redis'` on the scenario's Redis
// (express-rate-limit through rate-limit-redis; rate-limiter-flexible's RateLimiterRedis).
// hotpath's Redis deadline is raised to 1 s so that a loaded machine never turns a Redis
// request into a (cheaper) memory-fallback one during the measurement.
import express from 'express'
import Redis from 'ioredis'
import { json1k } from '../payload.mjs'

const LIMIT = 1_000_000_000
const WINDOW_MS = 60_000

export default async function server(options = {}) {
  const redis = options.store === 'redis' ? new Redis(options.redisUrl) : null
  const app = express()
  app.use(await limiter(options.peer ?? 'hotpath', redis, options))
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  return { listener: app, close: async () => redis?.quit() }
}

async function limiter(peer, redis, options) {
  const prefix = `bench:${peer}:${process.pid}:`
  if (peer === 'hotpath') {
    const { rateLimit, RedisStore } = await import('@hotpath/rate-limit')
    const store = redis ? new RedisStore({ client: redis, prefix, commandTimeout: 1000 }) : undefined
    return rateLimit({
      algorithm: options.algorithm ?? 'sliding-window',
      limit: LIMIT,
      window: WINDOW_MS,
      store,
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
    })
  }
  if (peer === 'express-rate-limit') {
    const { rateLimit } = await import('express-rate-limit')
    let store
    if (redis) {
      const { RedisStore } = await import('rate-limit-redis')
      store = new RedisStore({ sendCommand: (...args) => redis.call(...args), prefix })
    }
    return rateLimit({ windowMs: WINDOW_MS, limit: LIMIT, store })
  }
  if (peer === 'rate-limiter-flexible') {
    const { RateLimiterMemory, RateLimiterRedis } = await import('rate-limiter-flexible')
    const flexible = redis
      ? new RateLimiterRedis({
          storeClient: redis,
          points: LIMIT,
          duration: WINDOW_MS / 1000,
          keyPrefix: prefix,
        })
      : new RateLimiterMemory({ points: LIMIT, duration: WINDOW_MS / 1000 })
    // The middleware rate-limiter-flexible's README shows.
    return (req, res, next) => {
      flexible
        .consume(req.ip)
        .then(() => next())
        .catch(() => res.status(429).send('Too Many Requests'))
    }
  }
  throw new Error(`unknown peer ${peer}`)
}
