export default {
  title:
    'profiler on the 1 KB res.json route vs the no-op floor, express-prom-bundle, swagger-stats, response-time',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    profiler: ['profiler.mjs', {}],
    'express-prom-bundle': ['profiler-peers.mjs', { peer: 'prom-bundle' }],
    'swagger-stats': ['profiler-peers.mjs', { peer: 'swagger-stats' }],
    'response-time': ['profiler-peers.mjs', { peer: 'response-time' }],
    // Reference: the no-op layer doing only what timing a request takes (clock at entry, the
    // start kept by request, clock at the response's end), recording nothing.
    'noop + timing': ['express-basic.mjs', { noop: 1, timing: true }],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
  budgets: [
    { server: 'profiler', vs: 'express+noop', min: 0.95 },
    { server: 'profiler', vs: 'express-prom-bundle', min: 1.0 },
    { server: 'profiler', vs: 'swagger-stats', min: 1.0 },
  ],
}
