export default {
  title: 'rate-limit, memory store, on the 1 KB res.json route vs the no-op floor and its peers',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    hotpath: ['rate-limit.mjs', { peer: 'hotpath' }],
    'hotpath gcra': ['rate-limit.mjs', { peer: 'hotpath', algorithm: 'gcra' }],
    'express-rate-limit': ['rate-limit.mjs', { peer: 'express-rate-limit' }],
    'rate-limiter-flexible': ['rate-limit.mjs', { peer: 'rate-limiter-flexible' }],
    // References: the limiter's counting alone (rate-limiter-flexible's middleware sends no
    // headers either), and the no-op layer setting the two draft headers hotpath sends.
    'hotpath, headers: false': ['rate-limit.mjs', { peer: 'hotpath', headers: false }],
    'noop + 2 headers': [
      'express-basic.mjs',
      {
        noop: 1,
        headers: {
          'RateLimit-Policy': '"default";q=1000000000;w=60',
          RateLimit: '"default";r=999999999;t=52',
        },
      },
    ],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
  budgets: [
    { server: 'hotpath', vs: 'express+noop', min: 0.95 },
    { server: 'hotpath', vs: 'express-rate-limit', min: 1.0 },
    { server: 'hotpath', vs: 'rate-limiter-flexible', min: 1.0 },
    { server: 'hotpath, headers: false', vs: 'rate-limiter-flexible', min: 1.0 },
  ],
}
