export default {
  title: 'response-cache: front-mode hit vs bare node:http serving the same 1 KB JSON',
  servers: {
    'node:http': ['node-http.mjs', {}],
    'hotpath hit (in Express)': ['response-cache.mjs', { cache: 'hotpath', warm: ['/json'] }],
    'hotpath front': ['response-cache.mjs', { cache: 'hotpath-front', warm: ['/json'] }],
  },
  baseline: 'node:http',
  request: { path: '/json' },
  budgets: [{ server: 'hotpath front', vs: 'node:http', min: 0.5 }],
}
