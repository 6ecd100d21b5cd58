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
  // `timing: true`: the no-op layer also does the least any request timer must do, and nothing
  // more: it reads the clock at entry, keeps the reading by request in a WeakMap, and at the
  // response's 'close' reads the clock again and forgets the request. The end is seen the way
  // @hotpath/profiler sees it: one wrapper of `emit` on the app's response prototype, no listener
  // per response. It records nothing, so it measures what timing itself costs on this route.
  if (options.timing && noops.length) {
    const starts = new WeakMap()
    let last = 0n
    const hook = (proto) => {
      const emit = proto.emit
      Object.defineProperty(proto, 'emit', {
        value: function timedEmit(event, a, b) {
          if (event === 'close') {
            const req = this.req
            const start = starts.get(req)
            if (start !== undefined) {
              starts.delete(req)
              last = process.hrtime.bigint() - start
            }
          }
          // Response events carry at most two arguments: no array per event.
          // biome-ignore lint/complexity/noArguments: the count decides which call forwards them.
          if (arguments.length <= 3) return emit.call(this, event, a, b)
          // biome-ignore lint/complexity/noArguments: any other count, forwarded untouched.
          return emit.apply(this, arguments)
        },
        writable: true,
        configurable: true,
      })
    }
    let hooked
    noops[0] = (req, res, next) => {
      starts.set(req, process.hrtime.bigint())
      if (last < 0n) res.setHeader('X-Never', '1')
      const proto = Object.getPrototypeOf(res)
      if (proto !== hooked) {
        hooked = proto
        hook(proto)
      }
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
