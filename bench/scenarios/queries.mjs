// 10 queries per request on a real PostgreSQL, the profiler with the pg driver instrumented
// vs the same profiler without it, paired in one run. CPU per query = the difference of the
// two servers' CPU per request / 10 (the table's CPU column). The PostgreSQL server is this
// scenario's own (a throw-away data directory on a free loopback port), started when the
// scenario loads and killed when the run exits.
import { createRequire } from 'node:module'
import { startOrdersDatabase } from '../queries-setup.mjs'

const require = createRequire(import.meta.url)
const { hasPostgres } = require('../../test/helpers/postgres-server.js')

let connection = null
if (hasPostgres()) {
  connection = await startOrdersDatabase()
} else {
  console.log('queries: SKIPPED — PostgreSQL is not installed (apt-get install postgresql).')
}

export default connection === null
  ? { title: 'queries (skipped: no PostgreSQL)', run: async () => 0 }
  : {
      title: '10 PostgreSQL queries per request: profiler with pg instrumented vs not instrumented',
      servers: {
        'profiler, pg not instrumented': ['queries.mjs', { pg: connection, instrument: 0 }],
        'profiler, pg instrumented': ['queries.mjs', { pg: connection, instrument: 1 }],
        // A reference, no budget: the AsyncLocalStorage alone, without the instrumentation.
        'profiler + AsyncLocalStorage only': ['queries.mjs', { pg: connection, alsOnly: 1 }],
      },
      baseline: 'profiler, pg not instrumented',
      request: { path: '/orders' },
      connections: 16,
      budgets: [{ server: 'profiler, pg instrumented', vs: 'profiler, pg not instrumented', min: 0.95 }],
    }
