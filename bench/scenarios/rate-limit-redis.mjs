export default {
  title: 'rate-limit, Redis store (one shared redis-server), on the 1 KB res.json route vs its peers',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    hotpath: ['rate-limit.mjs', { peer: 'hotpath', store: 'redis' }],
    'express-rate-limit+rate-limit-redis': ['rate-limit.mjs', { peer: 'express-rate-limit', store: 'redis' }],
    'rate-limiter-flexible': ['rate-limit.mjs', { peer: 'rate-limiter-flexible', store: 'redis' }],
  },
  baseline: 'rate-limiter-flexible',
  needs: ['redis'],
  request: { path: '/json' },
  budgets: [
    { server: 'hotpath', vs: 'express-rate-limit+rate-limit-redis', min: 1.0 },
    { server: 'hotpath', vs: 'rate-limiter-flexible', min: 0.97 },
  ],
}
