// An uncacheable response (`Cache-Control: private`) through the cache, against the same app
// with a no-op layer in the cache's place: what a response the cache may not store pays for
// passing through it (the lookup, the capture that stops at the head, the Cache-Status).
export default {
  title: 'response-cache: an uncacheable 1 KB res.json response (Cache-Control: private) passing through',
  servers: {
    'express+noop': ['response-cache.mjs', { cache: 'noop' }],
    'hotpath bypass': ['response-cache.mjs', { cache: 'hotpath' }],
  },
  baseline: 'express+noop',
  request: { path: '/private' },
  budgets: [{ server: 'hotpath bypass', vs: 'express+noop', min: 0.95 }],
}
