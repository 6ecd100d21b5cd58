export default {
  title: 'baselines: node:http, Express res.json / res.end of 1 KB, Express + one no-op middleware',
  servers: {
    'node:http': ['node-http.mjs', {}],
    'express res.json': ['express-basic.mjs', {}],
    'express res.end': ['express-basic.mjs', {}],
    'express+noop': ['express-basic.mjs', { noop: 1 }],
  },
  baseline: 'express res.json',
  request: { path: '/json' },
  budgets: [],
}
