export default {
  title: 'compression: 145-byte JSON below the threshold, gzip client',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    compression: ['compression.mjs', { impl: 'compression' }],
    hotpath: ['compression.mjs', { impl: 'hotpath' }],
  },
  baseline: 'express+noop',
  request: { path: '/small', headers: { 'accept-encoding': 'gzip, deflate, br' } },
  budgets: [
    { server: 'hotpath', vs: 'express+noop', min: 0.95 },
    { server: 'hotpath', vs: 'compression', min: 1.0 },
  ],
}
