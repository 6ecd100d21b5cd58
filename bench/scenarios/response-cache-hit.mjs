export default {
  title: 'response-cache: a hit on a route whose handler burns 2 ms of CPU (1 KB JSON)',
  servers: {
    uncached: ['response-cache.mjs', { cache: 'none' }],
    apicache: ['response-cache.mjs', { cache: 'apicache', warm: ['/burn'] }],
    hotpath: ['response-cache.mjs', { cache: 'hotpath', warm: ['/burn'] }],
  },
  baseline: 'uncached',
  request: { path: '/burn' },
  budgets: [
    { server: 'hotpath', vs: 'uncached', min: 10 },
    { server: 'hotpath', vs: 'apicache', min: 1.0 },
  ],
}
