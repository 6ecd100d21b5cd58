export default {
  title: 'five no-op middlewares: five Express layers vs one compose() layer',
  servers: {
    express: ['express-basic.mjs', {}],
    'five layers': ['express-basic.mjs', { noop: 5 }],
    'compose(five)': ['express-basic.mjs', { noop: 5, composed: true }],
  },
  baseline: 'express',
  request: { path: '/json' },
  budgets: [{ server: 'compose(five)', vs: 'five layers', min: 1.0 }],
}
