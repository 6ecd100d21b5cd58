export default {
  title: 'the whole suite (profiler, rate limit, compression, cache-control) on a small uncached route',
  servers: {
    express: ['express-basic.mjs', {}],
    'suite via compose()': ['suite.mjs', {}],
    'suite as four layers': ['suite.mjs', { layers: true }],
  },
  baseline: 'express',
  request: { path: '/small' },
  budgets: [{ server: 'suite via compose()', vs: 'express', min: 0.8 }],
}
