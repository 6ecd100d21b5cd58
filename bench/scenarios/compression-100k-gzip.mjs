export default {
  title: 'compression: 100 KB JSON, gzip client (streamed by compression in both)',
  servers: {
    compression: ['compression.mjs', { impl: 'compression' }],
    hotpath: ['compression.mjs', { impl: 'hotpath' }],
  },
  baseline: 'compression',
  request: { path: '/json100k', headers: { 'accept-encoding': 'gzip' } },
  budgets: [{ server: 'hotpath', vs: 'compression', min: 1.0 }],
}
