export default {
  title: 'rate-limit, memory store, on the 1 KB res.json route vs the no-op floor and its peers',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    hotpath: ['rate-limit.mjs', { peer: 'hotpath' }],
    'hotpath gcra': ['rate-limit.mjs', { peer: 'hotpath', algorithm: 'gcra' }],
    'express-rate-limit': ['rate-limit.mjs', { peer: 'express-rate-limit' }],
    'rate-limiter-flexible': ['rate-limit.mjs', { peer: 'rate-limiter-flexible' }],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
  budgets: [
    { server: 'hotpath', vs: 'express+noop', min: 0.95 },
    { server: 'hotpath', vs: 'express-rate-limit', min: 1.0 },
    { server: 'hotpath', vs: 'rate-limiter-flexible', min: 1.0 },
  ],
}
