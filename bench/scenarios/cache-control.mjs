export default {
  title: 'cache-control + ETag on the 1 KB res.json route (Express computes its weak ETag by default)',
  servers: {
    express: ['express-basic.mjs', {}],
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    'cache-control': ['cache-control.mjs', {}],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
  budgets: [{ server: 'cache-control', vs: 'express+noop', min: 0.95 }],
}
