// A route running 10 queries on a real PostgreSQL (a pg Pool of 4) behind @hotpath/profiler,
// with the pg driver instrumented (`instrument: 1`) or not. `pg` is the connection the scenario
// started. The queries are primary-key reads, so the database answers in tens of µs and the
// profiler's cost per query is as large a share of the request as it will ever be.
// Without `pg`, only the 1 KB `/json` route of the profiler scenario is served: with
// `instrument: 1` it reads what an instrumented profiler (AsyncLocalStorage entered per request)
// costs a route that runs no query.
// `alsOnly: 1`: not instrumented, but every request runs inside an AsyncLocalStorage of the
// server's own (what instrumenting enters per request), so the difference to `instrument: 1`
// is the instrumentation's own work and the rest is what an active AsyncLocalStorage costs
// every promise and async resource of the request on this Node.
import { AsyncLocalStorage } from 'node:async_hooks'
import { profiler } from '@hotpath/profiler'
import express from 'express'
import pg from 'pg'
import { json1k } from '../payload.mjs'

const QUERIES = 10

export default function server(options = {}) {
  // The profiler scenario's defaults (its own prom-client registry, event-loop sampling on).
  const prof = profiler()
  if (options.instrument) prof.instrument({ pg })
  const app = express()
  app.use(prof)
  if (options.alsOnly) {
    const als = new AsyncLocalStorage()
    app.use((req, _res, next) => als.run(req, next))
  }
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  if (!options.pg) return { listener: app, close: () => prof.close() }
  const pool = new pg.Pool({ ...options.pg, max: 4 })
  app.get('/orders', async (_req, res, next) => {
    try {
      let total = 0
      for (let id = 1; id <= QUERIES; id++) {
        const { rows } = await pool.query('SELECT id, customer_id, total FROM bench_orders WHERE id = $1', [
          id,
        ])
        total += rows[0].total
      }
      res.json({ total })
    } catch (err) {
      next(err)
    }
  })
  return {
    listener: app,
    close: async () => {
      prof.close()
      await pool.end()
    },
  }
}
