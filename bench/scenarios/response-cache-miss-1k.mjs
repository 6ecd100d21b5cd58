// The miss on a cheap route (1 KB res.json, no CPU burn), where the cache's own work shows.
export default {
  title: 'response-cache: a miss on the 1 KB res.json route (unique URL per request)',
  servers: {
    uncached: ['response-cache.mjs', { cache: 'none' }],
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    'hotpath miss': ['response-cache.mjs', { cache: 'hotpath' }],
  },
  baseline: 'uncached',
  request: { path: '/json?u=[<id>]', idReplacement: true },
  budgets: [{ server: 'hotpath miss', vs: 'express+noop', min: 0.9 }],
}
