// Every request has a unique query string, so every request is a real miss: the lookup,
// the handler, the copy of the body, the store and (once the 64 MB store is full) the
// LRU eviction — nothing is ever served from the cache.
export default {
  title: 'response-cache: a miss (unique URL per request) vs the same route uncached',
  servers: {
    uncached: ['response-cache.mjs', { cache: 'none' }],
    'hotpath miss': ['response-cache.mjs', { cache: 'hotpath' }],
  },
  baseline: 'uncached',
  request: { path: '/burn?u=[<id>]', idReplacement: true },
  budgets: [{ server: 'hotpath miss', vs: 'uncached', min: 0.95 }],
}
