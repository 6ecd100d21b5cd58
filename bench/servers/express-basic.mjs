// Bare Express baselines: `res.json` of a 1 KB object (/json), `res.end` of the same bytes
// (/end), with `noop` no-op middlewares as separate layers or `composed` into one layer, and
// reference costs on the first no-op layer (`spin`, `headers`).
import { compose } from '@hotpath/core'
import express from 'express'
import { json1k, json1kText, json100k, jsonSmall } from '../payload.mjs'

export default function server(options = {}) {
  const app = express()
  const noops = Array.from({ length: options.noop ?? 0 }, () => (_req, _res, next) => next())
  // `spin: n`: the no-op layer also runs n rounds of integer arithmetic, a known amount of pure
  // CPU work (no allocation, no memory beyond registers) for the calibration scenario.
  if (options.spin && noops.length) {
    let sink = 0
    noops[0] = (_req, res, next) => {
      let x = sink
      for (let i = 0; i < options.spin; i++) x = (x * 31 + i) | 0
      sink = x
      if (sink === 0.5) res.setHeader('X-Never', '1')
      next()
    }
  }
  // `headers: { name: value }`: the no-op layer also sets these response headers, constant
  // values of the size a middleware would send (the cost of the headers themselves).
  if (options.headers && noops.length) {
    const entries = Object.entries(options.headers)
    noops[0] = (_req, res, next) => {
      for (const [name, value] of entries) res.setHeader(name, value)
      next()
    }
  }
  if (noops.length && options.composed) app.use(compose(...noops))
  else for (const noop of noops) app.use(noop)
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  app.get('/end', (_req, res) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.end(json1kText)
  })
  app.get('/json100k', (_req, res) => {
    res.json(json100k)
  })
  app.get('/small', (_req, res) => {
    res.json(jsonSmall)
  })
  return app
}
