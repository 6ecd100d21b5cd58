// A product route reading its data through a data cache, each library on its L1 hit and on its
// L2 hit (every request one read of the scenario's Redis), against the uncached route (2 ms
// "database"). Over HTTP the Express route costs most of each request, so these ratios are
// far below the op-level ones of `node bench/data-cache.mjs` (L1/L2 hit ops/s, stampede over
// 4 processes, coherence, Bloom false positives, L1 memory, serializers), which is the
// measurement of record for the budgets.
export default {
  title: 'data cache: a product route whose data comes through getOrSet (L1 hit, L2 hit on Redis)',
  servers: {
    uncached: ['data-cache.mjs', { peer: 'none' }],
    'hotpath l1': ['data-cache.mjs', { peer: 'hotpath', tier: 'l1' }],
    'bentocache l1': ['data-cache.mjs', { peer: 'bentocache', tier: 'l1' }],
    'cache-manager l1': ['data-cache.mjs', { peer: 'cache-manager', tier: 'l1' }],
    'hotpath l2': ['data-cache.mjs', { peer: 'hotpath', tier: 'l2' }],
    'bentocache l2': ['data-cache.mjs', { peer: 'bentocache', tier: 'l2' }],
    'cache-manager l2': ['data-cache.mjs', { peer: 'cache-manager', tier: 'l2' }],
  },
  baseline: 'bentocache l1',
  needs: ['redis'],
  request: { path: '/product/7' },
  budgets: [
    { server: 'hotpath l1', vs: 'bentocache l1', min: 1.0 },
    { server: 'hotpath l1', vs: 'cache-manager l1', min: 1.0 },
    { server: 'hotpath l2', vs: 'bentocache l2', min: 1.0 },
  ],
}
