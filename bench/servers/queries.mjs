// A route running 10 queries on a real PostgreSQL (a pg Pool of 4) behind @hotpath/profiler,
// with the pg driver instrumented (`instrument: 1`) or not. `pg` is the connection the scenario
// started. The queries are primary-key reads, so the database answers in tens of µs and the
// profiler's cost per query is as large a share of the request as it will ever be.
import { profiler } from '@hotpath/profiler'
import express from 'express'
import pg from 'pg'

const QUERIES = 10

export default function server(options = {}) {
  const prof = profiler({ registry: false })
  if (options.instrument) prof.instrument({ pg })
  const pool = new pg.Pool({ ...options.pg, max: 4 })
  const app = express()
  app.use(prof)
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
