// How a known, pure-CPU cost shows in the ratios: the no-op layer plus 1,000 or 3,000 rounds of
// integer arithmetic (`bench/instructions.mjs calibration` counts their instructions). A
// method that reads these right reads a middleware's cost right, unless the middleware's work
// costs more time per instruction (memory, hash tables) than arithmetic does.
export default {
  title: 'calibration: the no-op floor plus a known amount of pure CPU work',
  servers: {
    'express+noop': ['express-basic.mjs', { noop: 1 }],
    'noop+spin 1000': ['express-basic.mjs', { noop: 1, spin: 1000 }],
    'noop+spin 3000': ['express-basic.mjs', { noop: 1, spin: 3000 }],
  },
  baseline: 'express+noop',
  request: { path: '/json' },
}
