// An app route beside the mounted dashboard vs the no-op floor: the router is skipped by path.
export default {
  title: 'the 1 KB res.json route of an app with @hotpath/dashboard mounted at /performance',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    'express+dashboard': ['dashboard.mjs', {}],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
  budgets: [{ server: 'express+dashboard', vs: 'express+noop', min: 0.95 }],
}
