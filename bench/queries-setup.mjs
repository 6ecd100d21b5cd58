// What the pg benchmarks share: the `queries` scenario's PostgreSQL with its orders table, and
// one profiled request on real node:http objects without a socket (the in-process tools).
import http from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { startPostgres } = require('../test/helpers/postgres-server.js')

/**
 * Starts a PostgreSQL of its own (a throw-away data directory on a free loopback port, killed
 * when the process exits) holding `bench_orders`, 1,000 rows keyed by `id`; resolves with the
 * connection settings for `pg`.
 */
export async function startOrdersDatabase() {
  const server = await startPostgres()
  process.once('exit', () => server.kill())
  const pg = require('pg')
  const client = new pg.Client(server.connection)
  await client.connect()
  await client.query('CREATE TABLE bench_orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total INTEGER)')
  await client.query('INSERT INTO bench_orders SELECT g, g % 50, g FROM generate_series(1, 1000) AS s(g)')
  await client.end()
  return server.connection
}

/** A GET /orders through the profiler middleware `prof`, then `work(req)`, then the response's close. */
export async function profiledRequest(prof, socket, work) {
  const req = new http.IncomingMessage(socket)
  req.method = 'GET'
  req.url = '/orders'
  const res = new http.ServerResponse(req)
  await new Promise((resolve) => prof(req, res, resolve))
  await work(req)
  res.emit('close')
}
