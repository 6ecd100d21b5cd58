// The profiler's floor budget with a driver instrumented: on the 1 KB JSON route (no query),
// the middleware then enters an AsyncLocalStorage per request, and on Node 20 an active
// AsyncLocalStorage costs every promise a hook. Read against the same profiler not
// instrumented and the no-op floor of the profiler scenario.
export default {
  title:
    'profiler with pg instrumented, on a route that runs no query, vs not instrumented and the no-op floor',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    profiler: ['profiler.mjs', {}],
    'profiler, pg instrumented': ['queries.mjs', { instrument: 1 }],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
  budgets: [
    { server: 'profiler', vs: 'express+noop', min: 0.95 },
    { server: 'profiler, pg instrumented', vs: 'express+noop', min: 0.95 },
  ],
}
