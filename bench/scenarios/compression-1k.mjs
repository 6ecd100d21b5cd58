export default {
  title: 'compression: 1 KB JSON, gzip client (synchronous fast path vs compression)',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    compression: ['compression.mjs', { impl: 'compression' }],
    hotpath: ['compression.mjs', { impl: 'hotpath' }],
  },
  baseline: 'compression',
  request: { path: '/json', headers: { 'accept-encoding': 'gzip, deflate, br' } },
  budgets: [{ server: 'hotpath', vs: 'compression', min: 2.0 }],
}
